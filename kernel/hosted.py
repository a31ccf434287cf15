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

What it costs is isolation: an unhandled fault in a hosted server is a fault
of the kernel.  The kernel panics (kernel.py ``panic``) and the system halts.
"""

from __future__ import annotations

import contextlib
import heapq
import importlib
import itertools
import time
from collections import deque
from collections.abc import Callable
from queue import Empty, SimpleQueue
from typing import TYPE_CHECKING, Any

from libipc._nkffi import lib

from kernel.proc import Proc
from libipc.errors import (
    Deadlock,
    InvalidArgument,
    IpcError,
    MessageTooLarge,
    NoSuchEndpoint,
    PermissionDenied,
    Timeout,
    TooManyCalls,
)
from libipc.message import CALL, ERROR, KERNEL, REPLY, SEND, Message, pack
from libipc.runtime import Runtime, Timer, running_as
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
        self.runtime = HostedRuntime(host, self)
        self.inbox: deque[Message] = deque()
        self.replies: dict[int, Message] = {}
        self.waiting: set[int] = set()
        self.busy = False
        self.started = False

    def deliver(self, msg: Message) -> None:
        """A message for this server (the router or another hosted server hands it over)."""
        if msg.kind in (REPLY, ERROR):
            if msg.id in self.waiting:
                self.replies[msg.id] = msg
            return
        self.inbox.append(msg)
        self.proc.msgs_in += 1
        self.proc.bytes_in += len(msg.body)

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

    def run_inbox(self) -> bool:
        if self.busy or not self.started or not self.inbox:
            return False
        while self.inbox and not self.busy:
            msg = self.inbox.popleft()
            self.run(lambda m=msg: self.server.handle(m))
        return True


class HostedRuntime(Runtime):
    """The libipc runtime of a hosted server: calls go through the Host, not a port."""

    def __init__(self, host: Host, hosted: HostedServer) -> None:
        self.host, self.hosted = host, hosted
        self.endpoint, self.name = hosted.proc.endpoint, hosted.proc.name
        self.transport = None
        self._ids = itertools.count(1)

    def call_body(self, dst: int, body: bytes, timeout: float | None = None) -> Any:
        if dst == KERNEL:
            return self.host.kernel_call(self.hosted, body)
        call_id = next(self._ids)
        self.host.call(self.hosted, dst, call_id, body)
        return self._result(self.host.wait_reply(self.hosted, call_id, timeout))

    def send(self, dst: int, op: str, args: dict[str, Any] | None = None, *,
             nonblock: bool = False, timeout: float | None = 30.0) -> None:
        self.host.send(self.hosted, dst, pack([op, args or {}]))

    def notify(self, dst: int, bits: int) -> None:
        self.host.notify(self.hosted, dst, bits)

    def reply(self, dst: int, call_id: int, value: Any) -> None:
        self.host.reply(self.hosted, dst, REPLY, call_id, pack(value))

    def reply_error(self, dst: int, call_id: int, error: IpcError) -> None:
        self.host.reply(self.hosted, dst, ERROR, call_id, pack(error.to_body()))

    def post(self, fn: Callable[[], None]) -> None:
        self.host.post(self.hosted, fn)

    def after(self, seconds: float, fn: Callable[[], None]) -> Timer:
        return self.host.after(self.hosted, seconds, fn)

    def next_event(self, timeout: float | None = None) -> Message | None:
        raise RuntimeError("a hosted server is driven by the kernel loop, not next_event")


class Host:
    """Every hosted server of this boot, and the kernel's side of talking to them."""

    def __init__(self, kernel: Kernel) -> None:
        self.k = kernel
        self.servers: list[HostedServer] = []
        self._timers: list[tuple[float, int, Timer, HostedServer]] = []
        self._seq = itertools.count()
        self._posted: SimpleQueue[tuple[HostedServer, Callable[[], None]]] = SimpleQueue()
        self._held: list[tuple[HostedServer, Callable[[], None]]] = []   # taken, not yet run

    # -- hosting ------------------------------------------------------------------
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
        # Start at the top of the kernel loop, not inside the kernel call that asked.
        self.post(hosted, lambda: self._start(hosted))
        return proc

    def _start(self, hosted: HostedServer) -> None:
        hosted.server.attach(hosted.runtime)
        hosted.started = True

    def stop_all(self) -> None:
        """Clean halt: each hosted server's stop hook (fs syncs), youngest first."""
        for hosted in reversed(self.servers):
            if hosted.started:
                hosted.run(hosted.server.stop)

    # -- messages ------------------------------------------------------------------
    def kernel_call(self, hosted: HostedServer, body: bytes) -> Any:
        from kernel.syscalls import dispatch_syscall
        from libipc.message import unpack
        return unpack(pack(dispatch_syscall(self.k, hosted.proc, body)))

    def _target(self, hosted: HostedServer, dst_ep: int, kind: int, size: int) -> Proc:
        if size > self.k.max_message:   # the limit a process's message meets in the router
            raise MessageTooLarge(f"message of {size} bytes > limit {self.k.max_message}")
        src, dst = hosted.proc, self.k.resolve(dst_ep)
        if dst is None:
            raise NoSuchEndpoint(f"no process at endpoint {dst_ep}")
        if not self.k.allowed(src, dst):
            raise PermissionDenied(f"{src.name} may not call {dst.name}")
        if kind == CALL:
            if len(src.calls_out) >= self.k.max_calls:
                raise TooManyCalls(f"{src.name} has {len(src.calls_out)} calls outstanding")
            if self.k.router.closes_cycle(src, dst):
                raise Deadlock(f"{src.name} → {dst.name} would close a cycle of waiting calls")
        return dst

    def call(self, hosted: HostedServer, dst_ep: int, call_id: int, body: bytes) -> None:
        dst = self._target(hosted, dst_ep, CALL, len(body))
        now = time.monotonic()
        hosted.proc.calls_out[call_id] = (dst.endpoint, now)
        dst.calls_in[(hosted.proc.endpoint, call_id)] = now
        hosted.waiting.add(call_id)
        self._deliver(hosted.proc, dst, CALL, call_id, body)

    def send(self, hosted: HostedServer, dst_ep: int, body: bytes) -> None:
        self._deliver(hosted.proc, self._target(hosted, dst_ep, SEND, len(body)), SEND, 0, body)

    def notify(self, hosted: HostedServer, dst_ep: int, bits: int) -> None:
        dst = self.k.resolve(dst_ep)
        if dst is not None:
            self.k.router.post_notify(dst, hosted.proc.endpoint, bits)

    def reply(self, hosted: HostedServer, dst_ep: int, kind: int, call_id: int,
              body: bytes) -> None:
        dst = self.k.procs.get(dst_ep)
        outstanding = dst.calls_out.get(call_id) if dst is not None else None
        if dst is None or not dst.alive or outstanding is None \
                or outstanding[0] != hosted.proc.endpoint:
            self.k.router.dropped_replies += 1
            hosted.proc.dropped += 1
            return
        del dst.calls_out[call_id]
        t0 = hosted.proc.calls_in.pop((dst.endpoint, call_id), outstanding[1])
        self.k.router.trace_kernel_made(hosted.proc, dst, kind, call_id, len(body),
                                        latency_us=(time.monotonic() - t0) * 1e6)
        self._deliver(hosted.proc, dst, kind, call_id, body)

    def _deliver(self, src: Proc, dst: Proc, kind: int, msg_id: int, body: bytes) -> None:
        src.msgs_out += 1
        src.bytes_out += len(body)
        if kind not in (REPLY, ERROR):   # replies are traced with their latency
            self.k.router.trace_kernel_made(src, dst, kind, msg_id, len(body))
        if dst.hosted is not None:   # in-kernel to in-kernel: a function call, no ring
            dst.hosted.deliver(Message(src.endpoint, dst.endpoint, kind, 0, msg_id, body))
            self.k.direct_calls += kind == CALL
        else:
            self.k.router.post(dst, src.endpoint, kind, msg_id, body)

    def wait_reply(self, hosted: HostedServer, call_id: int, timeout: float | None) -> Message:
        """Run nested passes of the kernel loop until the reply to ``call_id`` is in."""
        deadline = None if timeout is None else time.monotonic() + timeout
        try:
            while call_id not in hosted.replies:
                if deadline is not None and time.monotonic() >= deadline:
                    call = hosted.proc.calls_out.pop(call_id, None)
                    if call is not None and (callee := self.k.procs.get(call[0])):
                        callee.calls_in.pop((hosted.proc.endpoint, call_id), None)
                    raise Timeout(f"no reply from endpoint within {timeout} s")
                self.k.step(nested=True)
            return hosted.replies.pop(call_id)
        finally:
            hosted.waiting.discard(call_id)

    # -- timers and posted work ------------------------------------------------------
    def post(self, hosted: HostedServer, fn: Callable[[], None]) -> None:
        """Thread-safe: run ``fn`` as ``hosted`` at the next pass of the loop."""
        self._posted.put((hosted, fn))
        lib.nk_bell_ring(self.k.bell)

    def after(self, hosted: HostedServer, seconds: float, fn: Callable[[], None]) -> Timer:
        timer = Timer(time.monotonic() + max(0.0, seconds), fn)
        heapq.heappush(self._timers, (timer.deadline, next(self._seq), timer, hosted))
        return timer

    def next_deadline_ns(self) -> int | None:
        """Nanoseconds until the next timer a server can run now; None when none.
        (A busy server's timers wait for it; its reply wakes the loop anyway.)"""
        ready = [deadline for deadline, _, timer, hosted in self._timers
                 if not hosted.busy and not timer.cancelled]
        if not ready:
            return None
        return max(0, int((min(ready) - time.monotonic()) * 1e9))

    def run_ready(self) -> None:
        """Posted work, due timers, queued messages — for every server not busy."""
        self._take_posted()
        for hosted, fn in self._runnable(self._held):
            hosted.run(fn)
        now = time.monotonic()
        due = [item for item in self._timers if item[0] <= now and not item[3].busy]
        for item in due:
            self._timers.remove(item)
            if not item[2].cancelled:
                item[3].run(item[2].fn)
        heapq.heapify(self._timers)
        for hosted in list(self.servers):
            hosted.run_inbox()

    def _take_posted(self) -> None:
        while True:
            try:
                self._held.append(self._posted.get_nowait())
            except Empty:
                return

    def _runnable(self, held: list) -> list:
        """Take the posted jobs whose server is free; the others stay held."""
        free = [item for item in held if not item[0].busy]
        held[:] = [item for item in held if item[0].busy]
        return free

    def has_work(self) -> bool:
        """Work the loop can do without waiting (a busy server's jobs do not count:
        otherwise its own nested wait would spin)."""
        self._take_posted()
        return any(h.inbox and not h.busy and h.started for h in self.servers) \
            or any(not hosted.busy for hosted, _ in self._held)
