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

The outstanding calls themselves live in the C routing table (kernel/table.py,
csrc/nk_route.c), the one copy the forward path in C uses too: a right taken
here is gone there.  The C path admits a message itself only when these rules
are known to pass (an ACL decision made here, remembered per pair); for
anything else it hands the message to the router, which calls these.

Each check raises the IpcError the sender gets back; nothing here moves bytes.
"""

from __future__ import annotations

import time
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
    k.table.remember(src, dst)   # the C path may now admit this pair itself
    if kind == CALL:
        calls = k.table
        if calls.has_call(src, msg_id):   # else the first callee would serve a call nobody tracks
            raise InvalidArgument(f"call id {msg_id} is already outstanding")
        if calls.calls_of(src) >= k.max_calls:
            raise TooManyCalls(f"{src.name} has {calls.calls_of(src)} calls outstanding")
        if calls.closes_cycle(src, dst):
            raise Deadlock(f"{src.name} → {dst.name} would close a cycle of waiting calls")
    return dst


def record_call(k: Kernel, src: Proc, dst: Proc, msg_id: int) -> None:
    """``src`` now waits for ``dst``'s answer to call ``msg_id``: give ``dst`` the right."""
    k.table.record(src, dst, msg_id, time.monotonic_ns())


def take_reply_right(k: Kernel, src: Proc, dst_ep: int, msg_id: int) -> tuple[Proc, float] | None:
    """Use up ``src``'s right to answer call ``msg_id`` of ``dst_ep``: the caller and
    the time of its call (time.monotonic()), or None when there is no such right (the
    reply is dropped)."""
    dst = k.procs.get(dst_ep)
    if dst is None or not dst.alive:
        return None
    t0_ns = k.table.take(dst, msg_id, src.endpoint)
    return None if t0_ns is None else (dst, t0_ns / 1e9)


def withdraw_call(k: Kernel, caller: Proc, msg_id: int) -> Proc | None:
    """CANCEL: forget the call; returns the callee whose right was taken back."""
    callee_ep = k.table.withdraw(caller, msg_id)
    return None if callee_ep is None else k.procs.get(callee_ep)
