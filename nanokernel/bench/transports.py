"""Two-process message transports: the nanokernel ring and the peers it is compared with.

Each transport connects the bench process (the parent) with one forked child,
a real OS process (the relay transport puts a third process between them).
The ring child re-attaches its channel by fd, as a process spawned by the
kernel does.  Every transport offers the same moves, so the benchmarks treat
them alike:

    send(msg)           one message, parent -> child (or child -> parent in the child)
    send_batch(msgs)    several messages in one call (only when `batches` is true)
    recv()              one message, blocking
    recv_some()         child sink side: take what has arrived, return how many messages

Every message of one transport has the same size — MSG_SIZE unless the
transport was made with another ``size`` (`bench call` uses 4 KiB) — so the
byte streams (os.pipe, socketpair) need no framing and the children know from
a count, not from a sentinel, when to stop.  Control messages (READY, ACK)
are sent at that size too: ``t.control(ACK)``.

Nothing may hang.  `start` arms two deadlines: the child sets `alarm()` on
itself (SIGALRM ends it even if the parent is gone), and the parent runs a
watchdog thread that kills the child when the time is up.  When the child
ends, early or killed, a parent blocked in `recv` wakes up: the streams and
mp.Pipe see end-of-file (the parent closes its copies of the child's ends
right after the fork), mp.Queue gets an ABORT put by the watchdog, the ring
waits in short timeouts and checks that the child is alive between them.
`stop` always reaps the child (join, then SIGKILL and join).

PipeRelayTransport is os.pipe through a relay process, the shape of a routed
call without a kernel: parent → relay → child → relay → parent.  The child is
the watched one, as above; the relay ends when either side closes, and `stop`
reaps it too.

Placement: ``t.cpus``, set before ``start``, is the CPU set of each process of the
shape — parent, child, then the relay — or None (the OS places them).  The parent
is pinned by the caller (placement.pinned); each forked process pins itself before
it says READY, and ``t.observed_cpus()`` reads back where each one may run.
"""

from __future__ import annotations

import contextlib
import gc
import math
import multiprocessing
import multiprocessing.connection as mp_connection
import os
import select
import signal
import socket
import threading

from libipc.channel import Channel
from libipc.errors import Timeout
from nanokernel.bench.placement import cpus_allowed, pin

MSG_SIZE = 64
ACK = b"A" * MSG_SIZE
READY = b"R" * MSG_SIZE
ABORT = b"X" * MSG_SIZE
STOP = b"S" * MSG_SIZE

POLL_S = 0.2   # how often a ring waiter checks that its peer is still alive

_fork = multiprocessing.get_context("fork")


class BenchFailed(Exception):
    """A measurement did not finish: the child died, or the deadline passed."""


class Transport:
    name = "?"
    batches = False

    def __init__(self, size: int = MSG_SIZE) -> None:
        self.size = size   # bytes per message, both ways
        self.in_child = False
        self.limit_s: float | None = None
        self.proc = None
        self.expired = False
        self._stopping = False
        self._watchdog: threading.Thread | None = None
        self.cpus: list[frozenset[int]] | None = None   # parent, child(, relay)

    # -- life cycle (parent) ---------------------------------------------------
    def start(self, child_main, args: tuple, limit_s: float) -> None:
        """Fork a child running ``child_main(self, *args)`` for at most ``limit_s`` seconds."""
        self.limit_s = limit_s
        self.proc = _fork.Process(target=_child_entry, args=(self, child_main, args, limit_s),
                                  daemon=True)
        self.proc.start()
        self.parent_after_fork()
        self._stopping = False
        self._watchdog = threading.Thread(target=self._watch, name="bench-watchdog", daemon=True)
        self._watchdog.start()
        if self.recv() != self.control(READY):   # the child is set up: timing may begin
            raise BenchFailed(f"{self.name}: the child did not say READY")

    def _watch(self) -> None:
        """Kill the child at the deadline; wake the parent if the child ends early."""
        died = mp_connection.wait([self.proc.sentinel], timeout=self.limit_s)
        if self._stopping:
            return
        if not died:
            self.expired = True
            self.proc.kill()
        with contextlib.suppress(Exception):   # the parent may be closing it already
            self.unblock_parent()

    def stop(self, graceful: bool = True) -> None:
        """Reap the child, whatever state it is in, and release every resource.

        ``graceful``: the child has finished its work and is exiting; give it
        a moment.  Otherwise it is killed at once.
        """
        self._stopping = True
        if self.proc is not None:
            self.proc.join(timeout=5 if graceful else 0)
            if self.proc.is_alive():
                self.proc.kill()
                self.proc.join(timeout=5)
        if self._watchdog is not None:
            self._watchdog.join(timeout=5)
        self.close()

    def control(self, msg: bytes) -> bytes:
        """A control message (READY, ACK) as one message of this transport's size."""
        return msg if len(msg) == self.size else msg[:1] * self.size

    def observed_cpus(self) -> dict[str, str | None]:
        """Cpus_allowed_list of each process of the exchange, from /proc."""
        seen = {"parent": cpus_allowed(os.getpid())}
        if self.proc is not None and self.proc.pid:
            seen["child"] = cpus_allowed(self.proc.pid)
        return seen

    def child_alive(self) -> bool:
        return self.proc is not None and self.proc.is_alive()

    def failure(self, exc: BaseException | None = None) -> BenchFailed:
        """The exception that explains why a measurement stopped."""
        if self.expired:
            return BenchFailed(f"{self.name}: no answer within {self.limit_s:g} s (child killed)")
        code = None
        if self.proc is not None:
            self.proc.join(timeout=1)    # a child that just died: collect its status
            code = self.proc.exitcode
        if code:
            return BenchFailed(f"{self.name}: the child exited with status {code}")
        return BenchFailed(f"{self.name}: {type(exc).__name__}: {exc}")

    # -- hooks -------------------------------------------------------------------
    def parent_after_fork(self) -> None:
        """Close the parent's copies of the child's ends."""

    def child_setup(self) -> None:
        """Close the child's copies of the parent's ends; attach what must be attached."""

    def child_finish(self) -> None:
        """Flush whatever the child sent before the process exits."""

    def unblock_parent(self) -> None:
        """Make a parent blocked in ``recv`` return (the child is dead by now)."""

    def close(self) -> None:
        pass


def _child_entry(t: Transport, child_main, args: tuple, limit_s: float) -> None:
    signal.alarm(math.ceil(limit_s) + 1)   # SIGALRM's default action ends the process
    t.in_child = True
    if t.cpus:
        pin(0, t.cpus[1])
    t.child_setup()
    t.send(t.control(READY))
    child_main(t, *args)
    t.child_finish()


# --- byte streams: every message is one frame of `size` bytes ------------------------
class _Stream(Transport):
    batches = True

    def __init__(self, size: int = MSG_SIZE) -> None:
        super().__init__(size)
        self._pending = b""   # sink: the start of a frame not yet complete

    def send(self, msg: bytes) -> None:
        self._write(msg)

    def send_batch(self, msgs: list[bytes]) -> None:
        self._write(b"".join(msgs))

    def recv(self) -> bytes:
        size = self.size
        data = self._read(size)
        if len(data) == size:
            return data
        parts, got = [data], len(data)
        while got < size:
            if not parts[-1]:
                raise EOFError(f"{self.name}: peer closed")
            parts.append(self._read(size - got))
            got += len(parts[-1])
        return b"".join(parts)

    def recv_some(self) -> int:
        data = self._read(1 << 16)
        if not data:
            raise EOFError(f"{self.name}: peer closed")
        if self._pending:
            data = self._pending + data
        size = self.size
        whole = len(data) - len(data) % size
        self._pending = data[whole:]
        # Hand each message over as its own bytes object, as the ring's get_many does.
        return len([data[i:i + size] for i in range(0, whole, size)])


class PipeTransport(_Stream):
    name = "os.pipe"

    def __init__(self, size: int = MSG_SIZE) -> None:
        super().__init__(size)
        self.p2c_r, self.p2c_w = os.pipe()
        self.c2p_r, self.c2p_w = os.pipe()

    def parent_after_fork(self) -> None:
        self._close_fds("p2c_r", "c2p_w")

    def child_setup(self) -> None:
        self._close_fds("p2c_w", "c2p_r")

    def _close_fds(self, *names: str) -> None:
        for name in names:
            fd = getattr(self, name)
            if fd is not None:
                os.close(fd)
                setattr(self, name, None)

    def _write(self, data: bytes) -> None:
        fd = self.c2p_w if self.in_child else self.p2c_w
        view = memoryview(data)
        while view:
            view = view[os.write(fd, view):]

    def _read(self, n: int) -> bytes:
        return os.read(self.p2c_r if self.in_child else self.c2p_r, n)

    def close(self) -> None:
        self._close_fds("p2c_r", "p2c_w", "c2p_r", "c2p_w")


class PipeRelayTransport(PipeTransport):
    """os.pipe through a third process: parent → relay → child → relay → parent.

    The relay forwards whatever bytes arrive, both ways, as they come (poll,
    read, write) — a router process built on pipes.  It copies bytes, so the
    frames need no parsing, and it ends at the first end-of-file from either
    side: when the child dies the parent sees end-of-file as with a plain pipe.
    """

    name = "os.pipe-relay"

    def __init__(self, size: int = MSG_SIZE) -> None:
        super().__init__(size)
        self.r2c_r, self.r2c_w = os.pipe()   # relay → child
        self.c2r_r, self.c2r_w = os.pipe()   # child → relay
        self.relay = None

    def start(self, child_main, args: tuple, limit_s: float) -> None:
        # The relay first; then the parent drops the pipe ends the relay holds
        # for it, so the child, forked next, cannot inherit them.
        self.relay = _fork.Process(target=_relay_entry, args=(self, limit_s), daemon=True)
        self.relay.start()
        self._close_fds("p2c_r", "c2p_w")
        super().start(child_main, args, limit_s)

    def parent_after_fork(self) -> None:
        self._close_fds("p2c_r", "c2p_w", "r2c_r", "r2c_w", "c2r_r", "c2r_w")

    def child_setup(self) -> None:
        # The child talks to the relay only, through the parent-side names.
        self._close_fds("p2c_w", "c2p_r", "r2c_w", "c2r_r")
        self.p2c_r, self.r2c_r = self.r2c_r, None
        self.c2p_w, self.c2r_w = self.c2r_w, None

    def observed_cpus(self) -> dict[str, str | None]:
        seen = super().observed_cpus()
        if self.relay is not None and self.relay.pid:
            seen["relay"] = cpus_allowed(self.relay.pid)
        return seen

    def stop(self, graceful: bool = True) -> None:
        super().stop(graceful)   # closes the parent's ends: the relay sees end-of-file
        if self.relay is not None:
            self.relay.join(timeout=5)
            if self.relay.is_alive():
                self.relay.kill()
                self.relay.join(timeout=5)

    def close(self) -> None:
        super().close()
        self._close_fds("r2c_r", "r2c_w", "c2r_r", "c2r_w")


def _relay_entry(t: PipeRelayTransport, limit_s: float) -> None:
    signal.alarm(math.ceil(limit_s) + 1)
    if t.cpus:
        pin(0, t.cpus[2])
    t._close_fds("p2c_w", "c2p_r", "r2c_r", "c2r_w")
    route = {t.p2c_r: t.r2c_w, t.c2r_r: t.c2p_w}
    poller = select.poll()
    for fd in route:
        poller.register(fd, select.POLLIN)
    gc.disable()
    read, write, poll = os.read, os.write, poller.poll
    with contextlib.suppress(OSError):   # a side closed while we wrote: the same end
        while True:
            for fd, _events in poll():
                data = read(fd, 1 << 16)
                if not data:
                    return   # one side is gone: so is the exchange
                out, view = route[fd], memoryview(data)
                while view:
                    view = view[write(out, view):]


class SocketpairTransport(_Stream):
    name = "socketpair"

    def __init__(self, size: int = MSG_SIZE) -> None:
        super().__init__(size)
        self.parent, self.child = socket.socketpair()

    def parent_after_fork(self) -> None:
        self.child.close()

    def child_setup(self) -> None:
        self.parent.close()

    def _write(self, data: bytes) -> None:
        (self.child if self.in_child else self.parent).sendall(data)

    def _read(self, n: int) -> bytes:
        return (self.child if self.in_child else self.parent).recv(n)

    def close(self) -> None:
        self.parent.close()
        self.child.close()


# --- multiprocessing: one call per message, no batch API ----------------------------
class MpPipeTransport(Transport):
    name = "mp.Pipe"

    def __init__(self, size: int = MSG_SIZE) -> None:
        super().__init__(size)
        self.parent, self.child = _fork.Pipe()

    def parent_after_fork(self) -> None:
        self.child.close()

    def child_setup(self) -> None:
        self.parent.close()

    def send(self, msg: bytes) -> None:
        (self.child if self.in_child else self.parent).send_bytes(msg)

    def recv(self) -> bytes:
        return (self.child if self.in_child else self.parent).recv_bytes()

    def recv_some(self) -> int:
        self.child.recv_bytes()
        return 1

    def close(self) -> None:
        self.parent.close()
        self.child.close()


class MpQueueTransport(Transport):
    name = "mp.Queue"

    def __init__(self, size: int = MSG_SIZE) -> None:
        super().__init__(size)
        self.p2c = _fork.Queue()
        self.c2p = _fork.Queue()

    def send(self, msg: bytes) -> None:
        (self.c2p if self.in_child else self.p2c).put(msg)

    def recv(self) -> bytes:
        msg = (self.p2c if self.in_child else self.c2p).get()
        if msg == ABORT and not self.in_child:
            raise EOFError(f"{self.name}: aborted by the watchdog")
        return msg

    def recv_some(self) -> int:
        self.p2c.get()
        return 1

    def unblock_parent(self) -> None:
        self.c2p.put(ABORT)

    def child_finish(self) -> None:
        # put() hands the message to a feeder thread: wait until it is written.
        self.c2p.close()
        self.c2p.join_thread()

    def close(self) -> None:
        for q in (self.p2c, self.c2p):
            q.close()
            q.cancel_join_thread()


# --- the nanokernel ring ---------------------------------------------------------------
class RingTransport(Transport):
    """The parent is the kernel side of a channel, the child the process side."""

    name = "nanokernel"
    batches = True

    def __init__(self, size: int = MSG_SIZE) -> None:
        super().__init__(size)
        self.chan = Channel.create()
        self._parent_chan = self.chan

    def child_setup(self) -> None:
        # The child maps the channel afresh from the fd, with its own private
        # indices — exactly what a spawned process does.
        self.chan = Channel.attach(os.dup(self.chan.fd))

    def send(self, msg: bytes) -> None:
        self.chan.send.put(msg, self.limit_s)

    def send_batch(self, msgs: list[bytes]) -> None:
        ring = self.chan.send
        sent = ring.put_many(msgs)
        while sent < len(msgs):
            ring.wait_writable(self.size, self.limit_s, raise_on_timeout=True)
            sent += ring.put_many(msgs[sent:])

    def recv(self) -> bytes:
        # A ring cannot tell that its peer died: check between short timeouts
        # (they cost nothing while messages flow: get() only waits when empty).
        while True:
            try:
                return self.chan.recv.get(POLL_S)
            except Timeout:
                if not self.in_child and not self.child_alive():
                    raise EOFError(f"{self.name}: the child is gone") from None

    def recv_some(self) -> int:
        ring = self.chan.recv
        got = len(ring.get_many(1024))
        if not got:
            ring.wait_readable(POLL_S)
        return got

    def close(self) -> None:
        if self.chan is not self._parent_chan:
            self.chan.close()
        self._parent_chan.close()


ALL: list[type[Transport]] = [
    RingTransport, PipeTransport, SocketpairTransport, MpPipeTransport, MpQueueTransport,
]
