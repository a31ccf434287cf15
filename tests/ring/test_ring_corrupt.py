"""A ring whose shared bytes are garbage gives RingCorrupted, never a crash or a bad read.

Each test writes one kind of garbage into the mapping at the offsets the C
compiler reports (nk_ring_layout) and checks the exact failure.  The last
test fuzzes all kinds at once in a subprocess whose ring ends at a guard
page, so a read outside the mapping would kill it with SIGSEGV.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from libipc.channel import Channel
from libipc.errors import RingCorrupted, WouldBlock
from tests.ring.ringtools import DATA_OFF, HEAD_OFF, SMALL_CAPACITY, TAIL_OFF

MAX = SMALL_CAPACITY // 2 - 8


class TestGarbageHead:
    """The producer's index, as the consumer sees it."""

    def test_head_beyond_a_full_ring(self, ring, raw):
        """head more than one capacity ahead of tail: get raises RingCorrupted."""
        raw(ring).set_u64(HEAD_OFF, SMALL_CAPACITY + 8)
        with pytest.raises(RingCorrupted):
            ring.consumer.get_nowait()

    def test_head_far_away(self, ring, raw):
        """A huge head value is refused, not used as a length."""
        raw(ring).set_u64(HEAD_OFF, 2**64 - 8)
        with pytest.raises(RingCorrupted):
            ring.consumer.get_many()

    def test_head_misaligned(self, ring, raw):
        """head not a multiple of 8 cannot be a record boundary."""
        raw(ring).set_u64(HEAD_OFF, 12)
        with pytest.raises(RingCorrupted):
            ring.consumer.readable()

    def test_head_going_backwards(self, ring, raw):
        """head smaller than what the consumer has already read is refused."""
        ring.producer.put(b"a" * 100)
        ring.producer.put(b"b" * 100)
        ring.consumer.get_nowait()
        ring.consumer.get_nowait()
        raw(ring).set_u64(HEAD_OFF, 8)
        with pytest.raises(RingCorrupted):
            ring.consumer.get_nowait()

    def test_corrupt_stays_corrupt(self, ring, raw):
        """Once corrupt, a ring stays refused even if the garbage is taken back."""
        view = raw(ring)
        view.set_u64(HEAD_OFF, 13)
        with pytest.raises(RingCorrupted):
            ring.consumer.get_nowait()
        view.set_u64(HEAD_OFF, 0)
        assert ring.consumer.corrupt
        with pytest.raises(RingCorrupted):
            ring.consumer.get_nowait()

    def test_blocking_wait_raises_instead_of_hanging(self, ring, raw):
        """A consumer waiting on a ring that turns corrupt gets RingCorrupted, not a timeout."""
        raw(ring).set_u64(HEAD_OFF, 3)
        with pytest.raises(RingCorrupted):
            ring.consumer.wait_readable(timeout=5)
        with pytest.raises(RingCorrupted):
            ring.consumer.get(timeout=5)


class TestGarbageTail:
    """The consumer's index, as the producer sees it."""

    def test_tail_ahead_of_head(self, ring, raw):
        """tail beyond what was ever produced: the producer raises when it next looks."""
        raw(ring).set_u64(TAIL_OFF, 4096)
        with pytest.raises(RingCorrupted):
            ring.producer.used()

    def test_tail_garbage_found_when_room_runs_out(self, ring, raw):
        """A put that needs the consumer's index raises RingCorrupted — never WouldBlock."""
        raw(ring).set_u64(TAIL_OFF, 2**63)
        ring.producer.put_nowait(b"x" * MAX)     # the producer still believes it has room
        ring.producer.put_nowait(b"x" * MAX)
        with pytest.raises(RingCorrupted):
            ring.producer.put_nowait(b"x")
        with pytest.raises(RingCorrupted):
            ring.producer.put_many([b"x"])

    def test_tail_going_backwards(self, ring, raw):
        """tail moved back behind what the producer already saw is refused."""
        ring.producer.put(b"a" * 1000)
        ring.consumer.get_nowait()
        assert 0 == ring.producer.used()           # the producer has seen tail = 1008
        raw(ring).set_u64(TAIL_OFF, 0)
        with pytest.raises(RingCorrupted):
            ring.producer.used()

    def test_tail_misaligned(self, ring, raw):
        """A misaligned tail is refused by a producer waiting for room."""
        ring.producer.put_many([b"f" * MAX, b"f" * MAX])
        raw(ring).set_u64(TAIL_OFF, 4)
        with pytest.raises(RingCorrupted):
            ring.producer.put(b"x", timeout=5)


class TestGarbageRecord:
    """The length and flags in front of each record."""

    def record_header_at(self, ring, raw, length: int, flags: int, offset: int = 0) -> None:
        view = raw(ring)
        view.set_u32(DATA_OFF + offset, length)
        view.set_u32(DATA_OFF + offset + 4, flags)

    @pytest.mark.parametrize("length", [MAX + 1, SMALL_CAPACITY, 2**32 - 1])
    def test_length_over_the_maximum(self, ring, raw, length):
        """A length above max_payload is refused before anything is copied."""
        ring.producer.put(b"hello")
        self.record_header_at(ring, raw, length, 0)
        with pytest.raises(RingCorrupted):
            ring.consumer.get_nowait()

    def test_length_longer_than_what_was_published(self, ring, raw):
        """A length that runs past head (into unwritten bytes) is refused."""
        ring.producer.put(b"hello")                 # 16 bytes published
        self.record_header_at(ring, raw, 100, 0)
        with pytest.raises(RingCorrupted):
            ring.consumer.get_many()

    def test_unknown_flags(self, ring, raw):
        """A record header with flags other than 0 or PAD is refused."""
        ring.producer.put(b"hello")
        self.record_header_at(ring, raw, 5, 0x80)
        with pytest.raises(RingCorrupted):
            ring.consumer.get_nowait()

    def test_padding_record_with_a_wrong_length(self, ring, raw):
        """A padding record must cover exactly the rest of the data area."""
        ring.producer.put(b"hello")
        self.record_header_at(ring, raw, 8, 1)       # PAD, but not to the end
        with pytest.raises(RingCorrupted):
            ring.consumer.get_nowait()

    def test_garbage_after_a_good_record(self, ring, raw):
        """Good records before the garbage are delivered; the garbage is not."""
        ring.producer.put_many([b"good", b"bad!"])
        self.record_header_at(ring, raw, 2**31, 0, offset=16)
        assert [b"good"] == ring.consumer.get_many(10)
        with pytest.raises(RingCorrupted):
            ring.consumer.get_nowait()


class TestGarbageAtAttach:
    """What a process (or the kernel) finds when it maps a channel."""

    @pytest.mark.parametrize("fill", [0x00, 0xA5, 0xFF])
    def test_attach_refuses_a_bad_creator_line(self, channels, raw, fill):
        """Garbage in the creator's line (magic, capacity: everything before head) is refused."""
        view = raw(channels.down)
        for off in range(0, HEAD_OFF, 8):
            view.set_u64(off, int.from_bytes(bytes([fill]) * 8, "little"))
        self.assert_attach_refused(channels)

    @pytest.mark.parametrize("field, value", [
        ("head", 3),                        # misaligned
        ("head", SMALL_CAPACITY * 2),       # more than a full ring ahead of tail
        ("tail", 8),                        # tail beyond head
    ])
    def test_attach_refuses_bad_indices(self, channels, raw, field, value):
        """Indices that cannot describe a ring are refused at attach."""
        raw(channels.down).set_u64(HEAD_OFF if field == "head" else TAIL_OFF, value)
        self.assert_attach_refused(channels)

    def assert_attach_refused(self, channels) -> None:
        """Channel.attach raises RingCorrupted; the fd stays the caller's to close."""
        fd = os.dup(channels.kernel.fd)
        try:
            with pytest.raises(RingCorrupted):
                Channel.attach(fd)
            os.fstat(fd)                          # still open: attach did not take it
        finally:
            os.close(fd)

    def test_the_other_ring_is_checked_too(self, channels, raw):
        """Garbage in either ring of the channel refuses the attach."""
        raw(channels.up).set_u64(HEAD_OFF, 5)
        self.assert_attach_refused(channels)


class TestIsolation:
    def test_corrupt_ring_does_not_affect_the_other_direction(self, channels, raw):
        """The process→kernel ring keeps working after the kernel→process ring is found corrupt."""
        raw(channels.down).set_u64(HEAD_OFF, 7)
        with pytest.raises(RingCorrupted):
            channels.process.recv.get_nowait()
        channels.process.send.put(b"still fine")
        assert b"still fine" == channels.kernel.recv.get_nowait()

    def test_empty_is_not_mistaken_for_corrupt(self, ring):
        """A healthy empty ring answers WouldBlock, not RingCorrupted."""
        with pytest.raises(WouldBlock):
            ring.consumer.get_nowait()
        assert not ring.consumer.corrupt


FUZZ = Path(__file__).with_name("fuzz_ring.py")


FUZZ_OPS = 5_000_000 if os.environ.get("NK_STRESS") == "long" else 300_000


@pytest.mark.stress
@pytest.mark.parametrize("seed", [1, 2, 3])
def test_fuzzed_garbage_never_reads_outside_the_mapping(seed):
    """Random operations and garbage writes: only clean errors, no signal, many detections."""
    env = dict(os.environ, PYTHONPATH=str(FUZZ.parents[2]))
    proc = subprocess.run([sys.executable, str(FUZZ), str(seed), str(FUZZ_OPS)],
                          capture_output=True, text=True, timeout=600, env=env)
    assert 0 == proc.returncode, f"fuzzer died ({proc.returncode}):\n{proc.stderr}"
    counts = json.loads(proc.stdout)
    assert counts["corrupted"] > 1000, counts
    assert counts["attach_refused"] > 100, counts
