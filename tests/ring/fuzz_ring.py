"""Fuzz one ring's shared bytes between guard pages; run as a script by test_ring_corrupt.py.

    python tests/ring/fuzz_ring.py SEED ITERATIONS

The ring's memfd is mapped in the middle of a 64 MiB PROT_NONE reservation on
each side, and the ring ends exactly at the end of the mapping, so a read or
write past it — the thing the C code promises never to do — kills this
process with SIGSEGV instead of going unnoticed.  Random operations on both
ends are mixed with random garbage written into head, tail, record headers
and the ring header.  Every failure must be a Python exception
(RingCorrupted, WouldBlock, MessageTooLarge, Timeout) or a negative C return
code; a corrupt ring is re-formatted and the fuzzing goes on.  Prints one
JSON line of counts and exits 0.
"""

from __future__ import annotations

import ctypes
import json
import mmap
import os
import random
import struct
import sys

from libipc._nkffi import ffi, lib

from libipc.errors import MessageTooLarge, RingCorrupted, Timeout, WouldBlock
from libipc.ring import CONSUMER, PRODUCER, Ring, format_ring, ring_bytes

CAPACITY = 256
GUARD = 64 << 20
PROT_NONE, MAP_FIXED, MAP_NORESERVE = 0, 0x10, 0x4000   # <sys/mman.h>, Linux
EXPECTED = (RingCorrupted, WouldBlock, MessageTooLarge, Timeout)

_libc = ctypes.CDLL(None, use_errno=True)
_libc.mmap.restype = ctypes.c_void_p
_libc.mmap.argtypes = [ctypes.c_void_p, ctypes.c_size_t, ctypes.c_int, ctypes.c_int,
                       ctypes.c_int, ctypes.c_long]
_MAP_FAILED = ctypes.c_void_p(-1).value


def guarded_ring_memory(size: int):
    """``size`` bytes of shared memory that end exactly where a PROT_NONE guard begins.

    A memfd of whole pages is mapped between two 64 MiB inaccessible
    reservations, and the ring is placed at the very end of its last page, so
    even a one-byte overrun faults.
    """
    page = mmap.PAGESIZE
    span = (size + page - 1) // page * page
    fd = os.memfd_create("nk-fuzz", os.MFD_CLOEXEC)
    os.ftruncate(fd, span)
    base = _libc.mmap(None, GUARD + span + GUARD, PROT_NONE,
                      mmap.MAP_PRIVATE | mmap.MAP_ANONYMOUS | MAP_NORESERVE, -1, 0)
    if base in (None, _MAP_FAILED):
        raise OSError(ctypes.get_errno(), "mmap reservation failed")
    addr = _libc.mmap(base + GUARD, span, mmap.PROT_READ | mmap.PROT_WRITE,
                      mmap.MAP_SHARED | MAP_FIXED, fd, 0)
    if addr != base + GUARD:
        raise OSError(ctypes.get_errno(), "mmap of the ring failed")
    return ffi.cast("uint8_t *", addr + span - size)


def interesting_u64(rng: random.Random, near: int) -> int:
    return rng.choice([
        near + rng.choice([-8, 8, 1, 3, CAPACITY, CAPACITY + 8, -CAPACITY, 2 * CAPACITY]),
        rng.getrandbits(64), 0, 2**64 - 8, 2**63, near,
    ]) % 2**64


def interesting_len(rng: random.Random) -> int:
    return rng.choice([0, 1, 7, 8, CAPACITY // 2 - 8, CAPACITY // 2 - 7, CAPACITY - 8,
                       CAPACITY, 2**31, 2**32 - 1, rng.getrandbits(32), rng.randrange(64)])


def main(seed: int, iterations: int) -> None:
    rng = random.Random(seed)
    layout = ffi.new("uint64_t[3]")
    lib.nk_ring_layout(layout, layout + 1, layout + 2)
    head_off, tail_off, data_off = layout[0], layout[1], layout[2]
    size = ring_bytes(CAPACITY)
    ptr = guarded_ring_memory(size)
    raw = ffi.buffer(ptr, size)
    hdr = ffi.new("nk_msg_header *")
    scratch = ffi.new("char[]", CAPACITY)
    counts = {"ops": 0, "corrupted": 0, "attach_refused": 0, "garbage_written": 0}

    def fresh():
        format_ring(ptr, size)
        return Ring(None, ptr, size, PRODUCER, "fuzz"), Ring(None, ptr, size, CONSUMER, "fuzz")

    producer, consumer = fresh()
    for _ in range(iterations):
        counts["ops"] += 1
        op = rng.randrange(14)
        try:
            if op == 0:
                producer.put_nowait(rng.randbytes(rng.randrange(CAPACITY // 2)))
            elif op == 1:
                producer.put_many([rng.randbytes(rng.randrange(40)) for _ in range(5)])
            elif op == 2:
                consumer.get_nowait()
            elif op == 3:
                consumer.get_many(rng.randint(1, 8))
            elif op == 4:
                consumer.readable()
                producer.used()
                consumer.used()
            elif op == 5:
                consumer.check(lib.nk_ring_peek(consumer.cdata, scratch, rng.randrange(64)))
                consumer.check(lib.nk_ring_discard(consumer.cdata))
            elif op == 6:
                consumer.check(lib.nk_msg_peek(consumer.cdata, hdr))
            elif op == 7:
                rc = lib.nk_msg_get(consumer.cdata, hdr, scratch, CAPACITY)
                if rc == lib.NK_ERR_CORRUPT:
                    raise RingCorrupted("msg_get")
            elif op == 8:
                consumer.wait_readable(0)
                producer.wait_writable(rng.randrange(CAPACITY // 2 - 8), 0)
            elif op == 9:    # garbage head or tail
                off = rng.choice([head_off, tail_off])
                struct.pack_into("<Q", raw, off, interesting_u64(
                    rng, struct.unpack_from("<Q", raw, off)[0]))
                counts["garbage_written"] += 1
            elif op == 10:   # garbage record header somewhere in the data area
                off = data_off + 8 * rng.randrange(CAPACITY // 8)
                struct.pack_into("<II", raw, off, interesting_len(rng),
                                 rng.choice([0, 1, 2, rng.getrandbits(32)]))
                counts["garbage_written"] += 1
            elif op == 11:   # garbage anywhere at all, header lines included
                struct.pack_into("B", raw, rng.randrange(size), rng.randrange(256))
                counts["garbage_written"] += 1
            elif op == 12:   # a new process attaching to whatever is there now
                try:
                    Ring(None, ptr, size, rng.choice([PRODUCER, CONSUMER]), "fuzz")
                except RingCorrupted:
                    counts["attach_refused"] += 1
            else:
                producer.put(rng.randbytes(rng.randrange(16)), timeout=0)
        except EXPECTED as exc:
            if isinstance(exc, RingCorrupted) or producer.corrupt or consumer.corrupt:
                counts["corrupted"] += 1
                producer, consumer = fresh()
    print(json.dumps(counts))


if __name__ == "__main__":
    main(int(sys.argv[1]), int(sys.argv[2]))
