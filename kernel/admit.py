"""Admission: the rules a message must pass before the kernel moves it — written once.

Every path that moves a message calls these: the router for messages taken
off a ring, the hosted path for messages a server inside the kernel sends.
A rule changed here changes everywhere (MINIX's ``verify_grant`` is the model:
one check, whoever asks).

    admit(k, src, dst_ep, kind, id, size)  CALL/SEND: size, destination, ACL,
                                           and for a CALL: id, limit, deadlock
    take_reply_right(k, src, dst_ep, id)   REPLY/ERROR: seL4's one-shot reply
                                           right — used up by the one answer
    record_call / withdraw_call            the outstanding-call book-keeping

Each check raises the IpcError the sender gets back; nothing here moves bytes.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from libipc.errors import (
    Deadlock,
    InvalidArgument,
    MessageTooLarge,
    NoSuchEndpoint,
    PermissionDenied,
    TooManyCalls,
)
from libipc.message import CALL, ERROR, pack

if TYPE_CHECKING:
    from kernel.kernel import Kernel
    from kernel.proc import Proc


def check_size(k: Kernel, body_len: int) -> None:
    """A body over the boot's message limit is refused, whatever its kind."""
    if body_len > k.max_message:
        raise too_large(k, body_len)


def too_large(k: Kernel, body_len: int) -> MessageTooLarge:
    return MessageTooLarge(f"message of {body_len} bytes > limit {k.max_message}")


def fitting_reply(k: Kernel, kind: int, body: bytes) -> tuple[int, bytes]:
    """A reply over the limit cannot travel, but its caller must not wait for ever:
    it becomes the MessageTooLarge error (any path that delivers replies uses this)."""
    if len(body) <= k.max_message:
        return kind, body
    return ERROR, pack(too_large(k, len(body)).to_body())


def allowed(src: Proc, dst: Proc) -> bool:
    """The ACL rule: "*", the destination's name, or "@public" for public servers."""
    acl = src.acl
    return "*" in acl or dst.name in acl or (dst.public and "@public" in acl)


def admit(k: Kernel, src: Proc, dst_ep: int, kind: int, msg_id: int, body_len: int) -> Proc:
    """The receiver of a CALL or SEND from ``src``, or the error that refuses it."""
    check_size(k, body_len)
    dst = k.resolve(dst_ep)
    if dst is None:
        raise NoSuchEndpoint(f"no process at endpoint {dst_ep}")
    if not allowed(src, dst):
        raise PermissionDenied(f"{src.name} may not call {dst.name}")
    if kind == CALL:
        if msg_id in src.calls_out:   # else the first callee would serve a call nobody tracks
            raise InvalidArgument(f"call id {msg_id} is already outstanding")
        if len(src.calls_out) >= k.max_calls:
            raise TooManyCalls(f"{src.name} has {len(src.calls_out)} calls outstanding")
        # (a callee that waits on nobody closes no cycle, unless it is the caller itself)
        if (dst is src or dst.calls_out) and closes_cycle(k, src, dst):
            raise Deadlock(f"{src.name} → {dst.name} would close a cycle of waiting calls")
    return dst


def closes_cycle(k: Kernel, src: Proc, dst: Proc) -> bool:
    """MINIX's check: does ``dst`` (transitively) wait on ``src``?"""
    seen, stack = set(), [dst]
    while stack:
        p = stack.pop()
        if p is src:
            return True
        if p.endpoint in seen:
            continue
        seen.add(p.endpoint)
        for callee_ep, _ in p.calls_out.values():
            callee = k.procs.get(callee_ep)
            if callee is not None:
                stack.append(callee)
    return False


def record_call(src: Proc, dst: Proc, msg_id: int, now: float) -> None:
    """``src`` now waits for ``dst``'s answer to call ``msg_id``: give ``dst`` the right."""
    src.calls_out[msg_id] = (dst.endpoint, now)
    dst.calls_in[(src.endpoint, msg_id)] = now


def take_reply_right(k: Kernel, src: Proc, dst_ep: int, msg_id: int) -> tuple[Proc, float] | None:
    """Use up ``src``'s right to answer call ``msg_id`` of ``dst_ep``: the caller and
    the time of its call, or None when there is no such right (the reply is dropped)."""
    dst = k.procs.get(dst_ep)
    outstanding = dst.calls_out.get(msg_id) if dst is not None else None
    if dst is None or not dst.alive or outstanding is None or outstanding[0] != src.endpoint:
        return None
    del dst.calls_out[msg_id]
    return dst, src.calls_in.pop((dst.endpoint, msg_id), outstanding[1])


def withdraw_call(k: Kernel, caller: Proc, msg_id: int) -> Proc | None:
    """CANCEL: forget the call; returns the callee whose right was taken back."""
    call = caller.calls_out.pop(msg_id, None)
    if call is None:
        return None
    callee = k.procs.get(call[0])
    if callee is not None:
        callee.calls_in.pop((caller.endpoint, msg_id), None)
    return callee
