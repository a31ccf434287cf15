"""Servers hosted inside the kernel process: the monolithic half of the switch.

A server placed ``"kernel"`` is the same ``Server`` class, instantiated in the
kernel process.  It still has a process-table entry (an endpoint, a name, an
ACL) but no OS process and no ring:

* a message from a process to it is taken off the sender's ring by the router
  and handed over as a Python object (one crossing instead of two);
* its replies and calls to processes go into their rings as kernel-made
  messages;
* a call between two hosted servers never touches a ring: the message goes
  straight into the callee's inbox and is handled by a function call;
* a hosted server blocked in an outgoing call runs a nested pass of the
  kernel loop until its reply arrives — the way a monolithic kernel sleeps
  inside a system call while the rest of the kernel goes on.

A hosted server runs on a plain libipc ``Runtime`` over a ``HostedTransport``
(this file): the same contract as a process's ring ``Port`` — a SEND to a
full receiver waits (nested passes) up to its timeout or is ``WouldBlock``
when non-blocking, a call gives up at its deadline and CANCELs — and every
message it sends passes the same admission rules (kernel/admit.py) as one
taken off a ring.

What it costs is isolation: an unhandled fault in a hosted server is a fault
of the kernel.  The kernel panics (kernel.py ``panic``) and the system halts.
"""

from __future__ import annotations

import contextlib
import importlib
import time
from collections import deque
from collections.abc import Callable
from typing import TYPE_CHECKING

from libipc._nkffi import lib

from kernel.admit import admit, check_size, fitting_reply, record_call, take_reply_right
from kernel.proc import Proc
from libipc.errors import InvalidArgument, Timeout, WouldBlock
from libipc.message import (
    CALL,
    CANCEL,
    ERROR,
    FLAG_NONBLOCK,
    HEADER_SIZE,
    KERNEL,
    NOTIFY,
    REPLY,
    SEND,
    Message,
)
from libipc.runtime import Runtime, running_as
from libipc.server import Server

if TYPE_CHECKING:
    from kernel.kernel import Kernel


class KernelPanic(BaseException):
    """Unwinds the kernel loop after a hosted server's fault."""


def find_server_class(module_name: str, name: str) -> type[Server]:
    """The Server subclass a module (or its ``.server`` submodule) defines."""
    try:
        modules = [importlib.import_module(module_name)]
    except ImportError as exc:
        raise InvalidArgument(f"host: cannot import {module_name}: {exc}") from None
    with contextlib.suppress(ImportError):
        modules.append(importlib.import_module(module_name + ".server"))
    found = [obj for mod in modules for obj in vars(mod).values()
             if isinstance(obj, type) and issubclass(obj, Server) and obj is not Server
             and obj.__module__.startswith(module_name)]
    named = [cls for cls in found if cls.name == name]
    if len(named) == 1:
        return named[0]
    if len(set(found)) == 1:
        return found[0]
    raise InvalidArgument(f"host: {module_name} defines no single Server class for {name!r}")


class HostedServer:
    """One hosted server: its process-table entry, its inbox, its runtime."""

    def __init__(self, host: Host, proc: Proc, server: Server) -> None:
        self.host = host
        self.proc = proc
        self.server = server
        self.transport = HostedTransport(host, self)
        self.runtime = Runtime(self.transport, proc.endpoint, proc.name)
        self.inbox: deque[Message] = deque()     # CALLs, SENDs, NOTIFYs to serve
        self.replies: deque[Message] = deque()   # answers to its own calls
        self.busy = False                         # running server code (maybe nested)
        self.started = False
        self.start_pending = False                # to start at the top of the kernel loop

    def deliver(self, msg: Message) -> None:
        """A message for this server (the router or another hosted server hands it over)."""
        if msg.kind in (REPLY, ERROR):
            self.replies.append(msg)
            return
        self.inbox.append(msg)   # (counted by whoever handed it over: router.py)

    def run(self, fn: Callable[[], None]) -> None:
        """Run server code as this server; a fault escaping it is a kernel panic."""
        self.busy = True
        try:
            with running_as(self.runtime):
                fn()
        except KernelPanic:
            raise
        except BaseException as exc:   # the server's fault is the kernel's fault
            self.host.k.panic(self.proc.name, exc)
        finally:
            self.busy = False

    def run_ready(self) -> None:
        """Its due timers and posted work, then its queued messages — unless it is busy
        (in an outgoing call: a nested pass must not re-enter it)."""
        if self.busy:
            return
        if self.runtime.has_due_work():
            self.run(self.runtime.run_due)
        while self.started and self.inbox and not self.busy:
            msg = self.inbox.popleft()
            self.run(lambda m=msg: self.server.handle(m))

    def has_work(self) -> bool:
        return not self.busy and ((self.started and bool(self.inbox))
                                  or self.runtime.has_due_work())


class HostedTransport:
    """A hosted server's port to the kernel: what a ring ``Port`` is to a process.

    ``send`` admits the message by the router's rules and delivers it; a SEND to
    a receiver with no room waits (nested kernel passes) until there is room,
    up to ``timeout`` (``Timeout``), or is refused at once with ``WouldBlock``
    when non-blocking.  ``recv`` runs nested passes until an answer to one of
    this server's calls arrives or ``timeout`` passes (None)."""

    def __init__(self, host: Host, hosted: HostedServer) -> None:
        self.host, self.hosted, self.k = host, hosted, host.k
        self.max_body = host.k.max_message

    def send(self, dst: int, kind: int, msg_id: int, body: bytes = b"", flags: int = 0,
             timeout: float | None = 30.0) -> None:
        src, k = self.hosted.proc, self.k
        if dst == KERNEL:
            if kind == CALL:
                check_size(k, len(body))
                k.syscall(src, msg_id, body)   # its answer lands in our replies
            return
        if kind in (REPLY, ERROR):
            self._answer(dst, kind, msg_id, body)
        elif kind == CANCEL:
            k.router.cancel(src, msg_id)
        elif kind == NOTIFY:
            target = k.resolve(dst)
            if target is not None:
                k.router.post_notify(target, src.endpoint, msg_id)
        else:
            self._call_or_send(dst, kind, msg_id, body, flags, timeout)

    def _call_or_send(self, dst_ep: int, kind: int, msg_id: int, body: bytes, flags: int,
                      timeout: float | None) -> None:
        src, k = self.hosted.proc, self.k
        dst = admit(k, src, dst_ep, kind, msg_id, len(body))
        if kind == SEND and not k.router.has_room(dst, HEADER_SIZE + len(body)):
            if flags & FLAG_NONBLOCK:
                raise WouldBlock(f"{dst.name}'s ring is full")
            dst = self._wait_for_room(dst_ep, len(body), timeout)
        if kind == CALL:
            record_call(k, src, dst, msg_id)
        k.router.deliver_made(src, dst, kind, msg_id, body, flags)

    def _wait_for_room(self, dst_ep: int, body_len: int, timeout: float | None) -> Proc:
        """SEND back-pressure for a hosted sender: nested passes until the receiver has
        room (it may die meanwhile: then the admission error)."""
        deadline = None if timeout is None else time.monotonic() + timeout
        wanted = self.k.room_wanted   # so the kernel's wait wakes when room appears
        dst = None
        try:
            while True:
                dst = admit(self.k, self.hosted.proc, dst_ep, SEND, 0, body_len)
                if self.k.router.has_room(dst, HEADER_SIZE + body_len):
                    return dst
                if deadline is not None and time.monotonic() >= deadline:
                    raise Timeout(f"send: {dst.name}'s ring stayed full for {timeout} s")
                wanted[dst] = max(wanted.get(dst, 0), HEADER_SIZE + body_len)
                self.k.step(nested=True, timeout=_left(deadline))
        finally:
            if dst is not None:
                wanted.pop(dst, None)

    def _answer(self, dst_ep: int, kind: int, msg_id: int, body: bytes) -> None:
        src, k = self.hosted.proc, self.k
        right = take_reply_right(k, src, dst_ep, msg_id)
        if right is None:
            k.counters.dropped_replies += 1
            src.dropped += 1
            return
        dst, t0 = right
        kind, body = fitting_reply(k, kind, body)   # too big: the caller gets the error
        latency = (time.monotonic() - t0) * 1e6 if k.tracer.enabled else None
        k.router.deliver_made(src, dst, kind, msg_id, body, latency_us=latency)

    def recv(self, timeout: float | None, bell_seen: int | None = None) -> Message | None:
        deadline = None if timeout is None else time.monotonic() + timeout
        replies = self.hosted.replies
        while not replies:
            if deadline is not None and time.monotonic() >= deadline:
                return None
            self.k.step(nested=True, timeout=_left(deadline))
        return replies.popleft()

    def recv_many(self, timeout: float | None, bell_seen: int | None = None,
                  max_n: int = 256) -> list[Message]:
        msg = self.recv(timeout, bell_seen)
        return [] if msg is None else [msg]

    def send_many(self, dst: int, kind: int, bodies: list[bytes], flags: int = 0,
                  timeout: float | None = 30.0) -> None:
        for body in bodies:
            self.send(dst, kind, 0, body, flags, timeout)

    def bell_seen(self) -> int:
        return lib.nk_bell_read(self.k.bell)

    def wake(self) -> None:
        """Another thread posted work for this server: wake the kernel loop."""
        lib.nk_bell_ring(self.k.bell)


def _left(deadline: float | None) -> float | None:
    return None if deadline is None else max(0.0, deadline - time.monotonic())


class Host:
    """Every hosted server of this boot, and what the kernel loop does for them."""

    def __init__(self, kernel: Kernel) -> None:
        self.k = kernel
        self.servers: list[HostedServer] = []

    def host(self, module: str, name: str, *, parent: int, acl: list[str], public: bool,
             privileged: bool, args: list[str], slot: int | None = None) -> Proc:
        cls = find_server_class(module, name)
        try:
            server = cls(*args) if args else cls()
        except BaseException as exc:   # a constructor's SystemExit must not end the kernel
            raise InvalidArgument(f"host: {module}.{cls.__name__}(): "
                                  f"{type(exc).__name__}: {exc}") from None
        proc = self.k.add_hosted_proc(name, parent=parent, acl=acl, public=public,
                                      privileged=privileged, argv=["-m", module, *args],
                                      slot=slot)
        hosted = HostedServer(self, proc, server)
        proc.hosted = hosted
        self.servers.append(hosted)
        # Started at the top of the kernel loop — not inside the kernel call that asked,
        # nor inside a nested pass: a server started while another waits in its own
        # start (a call to naming) would sit above it on the one stack, and calling it
        # (fs → block) would wait for a frame that cannot return first.
        hosted.start_pending = True
        return proc

    @staticmethod
    def _start(hosted: HostedServer) -> None:
        hosted.server.attach(hosted.runtime)
        hosted.started = True   # from now on it serves its inbox

    def stop_all(self) -> None:
        """Clean halt: each hosted server's stop hook (fs syncs), youngest first."""
        for hosted in reversed(self.servers):
            if hosted.started:
                hosted.run(hosted.server.stop)

    def run_ready(self, nested: bool = False) -> None:
        """Starts (at the top of the loop only), posted work, due timers, queued
        messages — for every server not busy."""
        for hosted in list(self.servers):
            if hosted.start_pending and not nested and not hosted.busy:
                hosted.start_pending = False
                hosted.run(lambda h=hosted: self._start(h))
            hosted.run_ready()

    def has_work(self, nested: bool = False) -> bool:
        """Work the loop can do without waiting (a busy server's work does not count,
        nor a start in a nested pass: otherwise that nested wait would spin)."""
        return any(h.has_work() or (h.start_pending and not nested and not h.busy)
                   for h in self.servers)

    def next_deadline_ns(self) -> int | None:
        """Nanoseconds until the next timer a server can run now; None when none.
        (A busy server's timers wait for it; its reply wakes the loop anyway.)"""
        due = [d for h in self.servers if not h.busy
               if (d := h.runtime.next_deadline()) is not None]
        if not due:
            return None
        return max(0, int((min(due) - time.monotonic()) * 1e9))
