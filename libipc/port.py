"""A process's port to the kernel: put messages on its "up" ring, take them off "down".

The port is the only transport a user process has.  It knows nothing of
calls or servers; ``runtime.py`` builds those on top.  Sending is guarded by a
lock so that helper threads (a console's stdin reader) may post safely; only
the runtime's own thread receives.
"""

from __future__ import annotations

import os
import threading
import time

from libipc._nkffi import ffi, lib
from libipc.channel import Channel
from libipc.errors import MessageTooLarge, Timeout
from libipc.message import HEADER_SIZE, Message

MANY = 256   # messages per batch call
# How long a receive wait may spin before it sleeps — only while the kernel runs on
# another CPU (csrc/nk_wait_any.c: the running word ends the spin as soon as it
# sleeps).  A routed reply needs the kernel, the server and the kernel again, so it
# takes tens of µs, and a 20 µs budget often gave up just before it came (placement
# free; under one-cpu nothing spins at all).  `nanokernel bench call` shows both.
RECV_SPIN_NS = 60_000

# bound once: the per-message path is a few C calls, and looking these up cost as much
_msg_put = lib.nk_msg_put
_msg_get = lib.nk_msg_get
_msg_get_many = lib.nk_msg_get_many
_bell_read = lib.nk_bell_read
_ERR_FULL = lib.NK_ERR_FULL
_ERR_EMPTY = lib.NK_ERR_EMPTY
_ERR_BADMSG = lib.NK_ERR_BADMSG
_monotonic = time.monotonic


class Port:
    """Send and receive whole messages over a ``Channel`` (process side)."""

    def __init__(self, channel: Channel) -> None:
        self.channel = channel
        self._up = channel.send
        self._down = channel.recv
        self._down.set_spin(RECV_SPIN_NS)
        # Reentrant: a handler the host SIGURG runs between two bytecodes of a send
        # (the put is done, the lock not yet let go) may send too.
        self._lock = threading.RLock()
        self.max_body = self._up.max_payload - HEADER_SIZE
        self._hdr = ffi.new("nk_msg_header *")
        self._body = ffi.new("uint8_t[]", self._down.max_payload)
        self._body_bytes = ffi.buffer(self._body)   # sliced: one copy into bytes
        # the rings' ``nk_ring *`` (``close`` drops these, as the rings drop theirs)
        self._upc = self._up.cdata
        self._downc = self._down.cdata
        self._down_max = self._down.max_payload
        # The receive wait sleeps on the down ring and on this private doorbell.
        self.bell = ffi.new("uint32_t *")
        self._rd = ffi.new("nk_ring *[1]", [self._down.cdata])
        self._ready = ffi.new("uint32_t[1]")
        self._many = None   # buffers for recv_many, made on first use

    @classmethod
    def from_env(cls) -> Port:
        """Attach to the channel the kernel passed in ``NK_RING_FD``."""
        return cls(Channel.attach(int(os.environ["NK_RING_FD"])))

    def send(self, dst: int, kind: int, msg_id: int, body: bytes = b"", flags: int = 0,
             timeout: float | None = 30.0) -> None:
        """Put one message, waiting for room up to ``timeout`` (back-pressure)."""
        size = len(body)
        if size > self.max_body:
            raise MessageTooLarge(f"body of {size} bytes > ring limit {self.max_body}")
        with self._lock:
            rc = _msg_put(self._upc, dst, kind, flags, msg_id, body, size)
        if rc >= 0:
            return
        # the deadline counts from the first full ring: the put before took no time
        deadline = None if timeout is None else _monotonic() + timeout
        while True:
            if rc != _ERR_FULL:
                self._up.check(rc)
                return
            left = None if deadline is None else deadline - _monotonic()
            if left is not None and left <= 0:
                raise Timeout("send: the kernel did not drain this process's ring in time")
            self._up.wait_writable(HEADER_SIZE + size, left)
            with self._lock:
                rc = _msg_put(self._upc, dst, kind, flags, msg_id, body, size)

    def send_many(self, dst: int, kind: int, bodies: list[bytes], flags: int = 0,
                  timeout: float | None = 30.0) -> None:
        """Put one message per body, as many per C call as fit (the throughput path)."""
        for body in bodies:
            if len(body) > self.max_body:
                raise MessageTooLarge(f"body of {len(body)} bytes > ring limit {self.max_body}")
        deadline = None if timeout is None else time.monotonic() + timeout
        start = 0
        while start < len(bodies):
            chunk = bodies[start:start + MANY]
            lens = ffi.new("uint32_t[]", [len(b) for b in chunk])
            with self._lock:
                n = lib.nk_msg_put_many(self._up.cdata, dst, kind, flags, b"".join(chunk),
                                        lens, len(chunk))
            self._up.check(n)
            start += n
            if n == 0:
                left = None if deadline is None else deadline - time.monotonic()
                if left is not None and left <= 0:
                    raise Timeout("send: the kernel did not drain this process's ring in time")
                self._up.wait_writable(HEADER_SIZE + len(chunk[0]), left)

    def recv_many(self, timeout: float | None, bell_seen: int | None = None,
                  max_n: int = MANY) -> list[Message]:
        """Take every message there is (up to ``max_n``), waiting up to ``timeout`` for
        the first; [] when none came."""
        many = self._many
        if many is None:
            cap = self._down.capacity
            buf = ffi.new("uint8_t[]", cap)
            many = self._many = (ffi.new("nk_msg_header[]", MANY), ffi.new("uint32_t[]", MANY),
                                 buf, cap, ffi.buffer(buf))
        hdrs, lens, buf, cap, data = many
        if max_n > MANY:
            max_n = MANY
        seen = _bell_read(self.bell) if bell_seen is None else bell_seen
        n = _msg_get_many(self._downc, hdrs, buf, cap, lens, max_n)
        if not n and self._wait(timeout, seen):
            n = _msg_get_many(self._downc, hdrs, buf, cap, lens, max_n)
        if n < 0:
            self._down.check(n)
        if n == 1:   # the usual case: no loop
            h = hdrs[0]
            return [Message(h.src, h.dst, h.kind, h.flags, h.id, data[:lens[0]])]
        out, pos = [], 0
        for i in range(n):
            h, size = hdrs[i], lens[i]
            out.append(Message(h.src, h.dst, h.kind, h.flags, h.id, data[pos:pos + size]))
            pos += size
        return out

    def recv(self, timeout: float | None, bell_seen: int | None = None) -> Message | None:
        """Take one message, waiting up to ``timeout`` seconds; None when none came, or
        when the doorbell rang (another thread posted work, a watched signal arrived)
        after the caller read it as ``bell_seen``."""
        msg = self._take()
        if msg is not None:   # there already: no doorbell needed
            return msg
        if bell_seen is None:   # read it, then look again: a ring after this is not missed
            bell_seen = _bell_read(self.bell)
            msg = self._take()
            if msg is not None:
                return msg
        if self._wait(timeout, bell_seen):
            msg = self._take()
        return msg

    def _wait(self, timeout: float | None, bell_seen: int) -> bool:
        """Sleep until a message is there (True), or the timeout or the doorbell (False)."""
        if timeout is not None and timeout <= 0:
            return False
        ns = -1 if timeout is None else int(timeout * 1e9)
        rc = lib.nk_wait_any(self._rd, 1, ffi.NULL, ffi.NULL, 0, self.bell, bell_seen,
                             self._down.cdata.spin_max_ns, ns, self._ready)
        return rc > 0   # 0: timeout or doorbell; NK_ERR_INTR: a signal — callers re-check

    def bell_seen(self) -> int:
        """Read the doorbell before checking for work; pass it to ``recv``."""
        return lib.nk_bell_read(self.bell)

    def ring_on_signal(self, signum: int) -> None:
        """Let ``signum`` ring the doorbell (csrc/nk_signal.c); see Runtime.signals()."""
        if lib.nk_signal_ring(signum, self.bell) != lib.NK_OK:
            raise ValueError(f"cannot watch signal {signum}")

    @property
    def signal_ring(self):
        """The ``nk_ring *`` whose signal word the kernel posts to (the down ring): a
        pipe region's waits watch it (csrc/nk_pipe.h)."""
        return self._downc

    def take_signals(self) -> int:
        """The signals the kernel posted to this process (bit n = signal n), taken."""
        return lib.nk_ring_signals_take(self._downc)

    def post_signals(self, bits: int) -> None:
        """Put ``bits`` back in the signal word (a handler raised before their turn)."""
        if bits:
            lib.nk_ring_signals_post(self._downc, bits)

    def _take(self) -> Message | None:
        h = self._hdr
        n = _msg_get(self._downc, h, self._body, self._down_max)
        if n < 0:
            if n == _ERR_EMPTY:
                return None
            if n == _ERR_BADMSG:  # the kernel never sends these; skip rather than die
                return None
            self._down.check(n)
        return Message(h.src, h.dst, h.kind, h.flags, h.id, self._body_bytes[:n])

    def wake(self) -> None:
        """Wake this process's own receive wait (another thread has work for it)."""
        lib.nk_bell_ring(self.bell)

    def close(self) -> None:
        self._upc = self._downc = None   # later calls fail in cffi, as the rings' do
        self.channel.close()
