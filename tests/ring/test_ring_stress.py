"""Two processes hammer one channel in both directions at once, every byte checked.

Each process runs a sender thread (its ring out) and a receiver thread (its
ring in); the C calls release the GIL, so both directions really run at the
same time.  Records have random sizes from 0 bytes to the ring's maximum, so
the write position wraps hundreds of times and padding records are common.
Senders mix put and put_many, receivers get and get_many.

Every record is ``seq (u32) | crc32(body) (u32) | body``: the receiver checks
the sequence number, the checksum, and compares the record byte for byte with
the one it regenerates from the shared seed.  Every wait has a deadline, so a
lost wake-up or a dead peer fails the test instead of hanging it.

The default run is short (CI); ``NK_STRESS=long`` (``make stress``) runs the
long version.
"""

from __future__ import annotations

import os
import random
import struct
import time
import zlib
from concurrent.futures import ThreadPoolExecutor

import pytest

from libipc.channel import Channel
from tests.ring.ringtools import Child

LONG = os.environ.get("NK_STRESS") == "long"
RECORDS = 1_000_000 if LONG else 6_000   # per direction
DEADLINE_S = 900 if LONG else 25
CAPACITY = 16 * 1024
SEED = 20_241_124


def records(seed: int, max_payload: int):
    """The endless, reproducible stream of records one direction carries."""
    rng = random.Random(seed)
    seq = 0
    while True:
        kind = rng.random()
        if kind < 0.05:
            size = 0
        elif kind < 0.10:
            size = max_payload - 8
        elif kind < 0.60:
            size = rng.randrange(0, 64)
        else:
            size = rng.randrange(0, max_payload - 8)
        body = rng.randbytes(size)
        yield struct.pack("<II", seq, zlib.crc32(body)) + body
        seq += 1


def send_all(ring, seed: int, count: int, deadline: float) -> None:
    rng = random.Random(seed ^ 0x5EED)
    source = records(seed, ring.max_payload)
    sent = 0
    while sent < count:
        if rng.random() < 0.5:
            ring.put(next(source), timeout=deadline - time.monotonic())
            sent += 1
            continue
        batch = [next(source) for _ in range(min(rng.randint(1, 16), count - sent))]
        while batch:
            n = ring.put_many(batch)
            batch = batch[n:]
            sent += n
            if batch:
                ring.wait_writable(len(batch[0]), deadline - time.monotonic(),
                                   raise_on_timeout=True)


def receive_all(ring, seed: int, count: int, deadline: float) -> None:
    rng = random.Random(seed ^ 0xCAFE)
    expected = records(seed, ring.max_payload)
    got = 0
    while got < count:
        if rng.random() < 0.5:
            batch = [ring.get(timeout=deadline - time.monotonic())]
        else:
            batch = ring.get_many(rng.randint(1, 32))
            if not batch:
                ring.wait_readable(deadline - time.monotonic(), raise_on_timeout=True)
                continue
        for record in batch:
            seq, crc = struct.unpack_from("<II", record)
            body = record[8:]
            assert got == seq, f"record {got}: sequence number {seq}"
            assert crc == zlib.crc32(body), f"record {got}: checksum mismatch"
            assert next(expected) == record, f"record {got}: bytes differ"
            got += 1
    assert [] == ring.get_many(1), "more records than were sent"


def run_both(chan: Channel, out_seed: int, in_seed: int, deadline: float) -> None:
    with ThreadPoolExecutor(2) as pool:
        sender = pool.submit(send_all, chan.send, out_seed, RECORDS, deadline)
        receiver = pool.submit(receive_all, chan.recv, in_seed, RECORDS, deadline)
        sender.result()
        receiver.result()


def child_main(fd: int, deadline: float) -> None:
    chan = Channel.attach(os.dup(fd))   # a fresh mapping with its own private indices
    run_both(chan, SEED + 1, SEED, deadline)
    chan.close()


@pytest.mark.stress
@pytest.mark.timeout(DEADLINE_S + 60)
def test_two_processes_both_directions_every_byte_checked():
    """Random-size records cross a channel both ways for many wraps, intact and in order."""
    deadline = time.monotonic() + DEADLINE_S
    with Channel.create(CAPACITY) as chan, \
            Child(child_main, chan.fd, deadline, limit=DEADLINE_S + 30) as child:
        run_both(chan, SEED, SEED + 1, deadline)
        assert 0 == child.join(timeout=max(1.0, deadline - time.monotonic()))
        # Both rings drained, and the producer side agrees: nothing left in flight.
        assert 0 == chan.send.used()
