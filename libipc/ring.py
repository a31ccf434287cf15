"""A Python view of one SPSC ring living in shared memory (csrc/nk_ring.c).

One ring has one producer and one consumer, each in its own process; each
side holds a ``Ring`` over the same bytes.  All index arithmetic, validation
and futex waiting happens in C (GIL released); this class turns C return
codes into exceptions and bytes into Python objects.

Naming: ``put``/``get`` block (with a timeout), ``put_nowait``/``get_nowait``
raise ``WouldBlock``; ``put_many``/``get_many`` move as many records as they
can in one call and never block.
"""

from __future__ import annotations

import array
import time
from collections.abc import Iterable
from itertools import accumulate

from libipc._nkffi import ffi, lib
from libipc.errors import MessageTooLarge, RingCorrupted, Timeout, WouldBlock

PRODUCER = lib.NK_PRODUCER
CONSUMER = lib.NK_CONSUMER
HEADER_BYTES = lib.NK_RING_HDR_SIZE

# The hot path, bound once (put/get run millions of times in a benchmark).
_put, _get, _get_wait, _unpack = lib.nk_ring_put, lib.nk_ring_get, lib.nk_ring_get_wait, ffi.unpack
_FULL, _EMPTY, _INTR = lib.NK_ERR_FULL, lib.NK_ERR_EMPTY, lib.NK_ERR_INTR
_now = time.monotonic


def ring_bytes(capacity: int) -> int:
    """Bytes of shared memory one ring of ``capacity`` data bytes needs."""
    return lib.nk_ring_bytes_for(capacity)


def format_ring(cbuf, size: int) -> None:
    """Initialise a ring header in ``size`` bytes at ``cbuf`` (the creator does this once)."""
    if lib.nk_ring_format(cbuf, size) != lib.NK_OK:
        raise ValueError(f"ring: {size} bytes is not a header plus a power-of-two data area")


def _timeout_ns(timeout: float | None) -> int:
    return -1 if timeout is None else min(max(0, int(timeout * 1e9)), 1 << 62)


class Ring:
    """One direction of a shared-memory channel, seen from one side.

    ``owner`` is any object whose lifetime keeps the mapping alive (the cffi
    buffer of the mmap); the ring holds a reference to it.
    """

    def __init__(self, owner, cbuf, size: int, role: int, name: str = "ring") -> None:
        self._owner = owner
        self._r = ffi.new("nk_ring *")
        self.name = name
        rc = lib.nk_ring_attach(self._r, cbuf, size, role)
        if rc == lib.NK_ERR_CORRUPT:
            raise RingCorrupted(f"{name}: bad header (magic, capacity or indices)")
        if rc != lib.NK_OK:
            raise ValueError(f"{name}: cannot attach ({rc})")
        self.role = role
        self.max_payload: int = lib.nk_ring_max_payload(self._r)
        self._buf = ffi.new("char[]", self.max_payload)
        self._many_buf = None
        self._many_lens = None

    # -- plumbing -----------------------------------------------------------
    @property
    def cdata(self):
        """The ``nk_ring *`` for other C calls (message put/get, the router)."""
        return self._r

    @property
    def capacity(self) -> int:
        return self._r.cap

    @property
    def corrupt(self) -> bool:
        return bool(self._r.corrupt)

    def used(self) -> int:
        """Bytes currently in the ring (records, headers and padding); re-reads the peer's index."""
        n = lib.nk_ring_used(self._r)
        if self._r.corrupt:
            raise RingCorrupted(f"{self.name}: shared indices or record lengths are invalid")
        return n

    def stats(self) -> dict[str, int]:
        return {"sleeps": self._r.sleeps, "wakes_sent": self._r.wakes_sent}

    def set_spin(self, spin_ns: int) -> None:
        """Bound the spin before sleeping (0: always sleep at once)."""
        lib.nk_ring_set_spin(self._r, spin_ns)

    def check(self, rc: int) -> int:
        """Raise the exception a negative C return code stands for."""
        if rc >= 0:
            return rc
        if rc == lib.NK_ERR_CORRUPT:
            raise RingCorrupted(f"{self.name}: shared indices or record lengths are invalid")
        if rc == lib.NK_ERR_TOOBIG:
            raise MessageTooLarge(f"{self.name}: record larger than {self.max_payload} bytes")
        if rc in (lib.NK_ERR_FULL, lib.NK_ERR_EMPTY):
            raise WouldBlock(f"{self.name}: {'full' if rc == lib.NK_ERR_FULL else 'empty'}")
        raise RingCorrupted(f"{self.name}: unexpected ring error {rc}")

    # -- producer -------------------------------------------------------------
    def put_nowait(self, data: bytes) -> None:
        """Append one record now, or raise ``WouldBlock`` when there is no room."""
        rc = _put(self._r, data, len(data))
        if rc:
            self.check(rc)

    def put(self, data: bytes, timeout: float | None = None) -> None:
        """Append one record, waiting up to ``timeout`` seconds for room (``Timeout``)."""
        rc = _put(self._r, data, len(data))
        if rc:
            if rc == _FULL:
                self.wait_writable(len(data), timeout, raise_on_timeout=True)
                rc = _put(self._r, data, len(data))
            self.check(rc)

    def put_many(self, records: Iterable[bytes]) -> int:
        """Append as many records as fit, publishing once; returns how many.

        Stops at the first record that does not fit (0 when the ring is full);
        raises only when the very first record can never fit.
        """
        records = records if isinstance(records, list) else list(records)
        if not records:
            return 0
        try:
            lens = array.array("I", map(len, records))
        except OverflowError:
            raise MessageTooLarge(
                f"{self.name}: record larger than {self.max_payload} bytes") from None
        return self.check(lib.nk_ring_put_many(
            self._r, b"".join(records), ffi.from_buffer("uint32_t[]", lens), len(records)))

    def wait_writable(
        self, size: int, timeout: float | None = None, *, raise_on_timeout: bool = False
    ) -> bool:
        """Wait until a record of ``size`` bytes fits; False on timeout."""
        if size > self.max_payload:
            raise MessageTooLarge(f"{self.name}: record larger than {self.max_payload} bytes")
        return self._wait(lambda ns: lib.nk_ring_wait_writable(self._r, size, ns),
                          timeout, raise_on_timeout, "room")

    # -- consumer -------------------------------------------------------------
    def get_nowait(self) -> bytes:
        """Remove one record now, or raise ``WouldBlock`` when the ring is empty."""
        n = _get(self._r, self._buf, self.max_payload)
        return _unpack(self._buf, n if n >= 0 else self.check(n))

    def get(self, timeout: float | None = None) -> bytes:
        """Remove one record, waiting up to ``timeout`` seconds for one (``Timeout``)."""
        start = _now()
        n = _get_wait(self._r, self._buf, self.max_payload, _timeout_ns(timeout))
        if n < 0:   # nothing yet (time up, a kick, a signal): the careful path, for the rest
            if n in (_EMPTY, _INTR):
                left = None if timeout is None else timeout - (_now() - start)
                if left is not None and left <= 0:
                    raise Timeout(f"{self.name}: no data within {timeout} s")
                self.wait_readable(left, raise_on_timeout=True)
                n = _get(self._r, self._buf, self.max_payload)
            self.check(n)
        return _unpack(self._buf, n)

    def get_many(self, max_count: int = 256) -> list[bytes]:
        """Remove up to ``max_count`` records in one call, publishing once; [] when empty."""
        if self._many_buf is None or len(self._many_lens) < max_count:
            self._many_buf = ffi.new("char[]", self.capacity)
            self._many_lens = ffi.new("uint32_t[]", max_count)
        n = self.check(lib.nk_ring_get_many(
            self._r, self._many_buf, self.capacity, self._many_lens, max_count))
        if not n:
            return []
        lens = ffi.unpack(self._many_lens, n)
        ends = list(accumulate(lens))
        data = _unpack(self._many_buf, ends[-1])
        return [data[end - size:end] for end, size in zip(ends, lens, strict=True)]

    def readable(self) -> bool:
        return bool(self.check(lib.nk_ring_readable(self._r)))

    def wait_readable(
        self, timeout: float | None = None, *, raise_on_timeout: bool = False
    ) -> bool:
        """Wait until a record is there; False on timeout.  Spins briefly, then sleeps."""
        return self._wait(lambda ns: lib.nk_ring_wait_readable(self._r, ns),
                          timeout, raise_on_timeout, "data")

    def kick(self) -> None:
        """Wake this ring's consumer without putting anything (a local doorbell)."""
        lib.nk_ring_kick(self._r)

    # -- waiting ----------------------------------------------------------------
    def _wait(self, fn, timeout: float | None, raise_on_timeout: bool, what: str) -> bool:
        deadline = None if timeout is None else time.monotonic() + timeout
        while True:
            left = None if deadline is None else max(0.0, deadline - time.monotonic())
            rc = fn(_timeout_ns(left))
            if rc == lib.NK_ERR_INTR:   # a signal: let Python run its handler, then go on
                continue
            if rc == 0:
                if deadline is None or time.monotonic() < deadline:
                    continue            # woken early (a kick, not enough room yet): wait on
                if raise_on_timeout:
                    raise Timeout(f"{self.name}: no {what} within {timeout} s")
                return False
            self.check(rc)
            return True

    def close(self) -> None:
        """Drop the reference to the mapping; idempotent.

        Afterwards every call fails with a Python exception (``TypeError`` from
        cffi) instead of touching memory that may already be unmapped.
        """
        self._owner = None
        self._r = None
