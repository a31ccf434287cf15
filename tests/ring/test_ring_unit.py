"""Unit tests of one ring: put/get, wrap-around, full/empty, record size limits, batches."""

from __future__ import annotations

import os

import pytest

from libipc.channel import Channel
from libipc.errors import MessageTooLarge, Timeout, WouldBlock
from tests.ring.ringtools import SMALL_CAPACITY

MAX = SMALL_CAPACITY // 2 - 8   # the largest payload a 4 KiB ring takes


def footprint(size: int) -> int:
    """Bytes one record of ``size`` payload bytes occupies: 8-byte header, 8-byte aligned."""
    return 8 + (size + 7) // 8 * 8


class TestPutGet:
    def test_get_returns_what_put_stored(self, ring):
        """A record comes out byte for byte as it went in."""
        ring.producer.put(b"hello ring")
        assert b"hello ring" == ring.consumer.get(timeout=1)

    def test_records_come_out_in_order(self, ring):
        """Records are delivered first in, first out, each with its own length."""
        records = [bytes([i]) * i for i in range(1, 40)]
        for r in records:
            ring.producer.put_nowait(r)
        assert records == [ring.consumer.get_nowait() for _ in records]

    def test_empty_record(self, ring):
        """A zero-length record is a record: it is delivered as b""."""
        ring.producer.put(b"")
        ring.producer.put(b"x")
        assert [b"", b"x"] == [ring.consumer.get_nowait(), ring.consumer.get_nowait()]

    def test_get_copies_out_of_the_ring(self, ring):
        """A record returned by get stays intact after the ring slot is reused."""
        ring.producer.put(b"A" * 100)
        first = ring.consumer.get_nowait()
        for _ in range(100):
            ring.producer.put(b"B" * 100)
            ring.consumer.get_nowait()
        assert b"A" * 100 == first

    def test_both_rings_are_independent(self, channels):
        """The kernel→process and process→kernel rings do not see each other's records."""
        channels.kernel.send.put(b"down")
        channels.process.send.put(b"up")
        assert b"up" == channels.kernel.recv.get_nowait()
        assert b"down" == channels.process.recv.get_nowait()
        with pytest.raises(WouldBlock):
            channels.kernel.recv.get_nowait()

    def test_roles_are_enforced(self, ring):
        """The consumer end cannot put and the producer end cannot get."""
        with pytest.raises(Exception) as put_err:
            ring.consumer.put_nowait(b"x")
        with pytest.raises(Exception) as get_err:
            ring.producer.get_nowait()
        assert not isinstance(put_err.value, WouldBlock)
        assert not isinstance(get_err.value, WouldBlock)


class TestWrapAround:
    def test_many_laps_keep_every_byte(self, ring):
        """Records of odd sizes survive 50 laps of the data area unchanged."""
        sizes = [1, 7, 8, 9, 63, 200, 1000, MAX, 0, 333]
        moved = 0
        i = 0
        while moved < 50 * SMALL_CAPACITY:
            size = sizes[i % len(sizes)]
            record = bytes((i + k) % 256 for k in range(size))
            ring.producer.put_nowait(record)
            assert record == ring.consumer.get_nowait()
            moved += footprint(size)
            i += 1
        assert 0 == ring.producer.used()

    def test_record_that_does_not_fit_before_the_end_goes_to_the_start(self, ring):
        """A record that would straddle the end is written at offset 0 after a padding record."""
        for _ in range(2):                            # footprint 1512 each: offset now 3024
            ring.producer.put_nowait(b"a" * 1500)
            assert b"a" * 1500 == ring.consumer.get_nowait()
        ring.producer.put_nowait(b"b" * 1500)         # 1072 bytes left at the end: wraps
        # used = the padding record (4096 - 3024) + the record itself
        assert (SMALL_CAPACITY - 3024) + footprint(1500) == ring.producer.used()
        assert b"b" * 1500 == ring.consumer.get_nowait()

    def test_record_that_exactly_fills_the_end_needs_no_padding(self, ring):
        """A record ending exactly at the end of the data area is not padded."""
        ring.producer.put_nowait(b"a" * 2040)          # footprint 2048
        ring.consumer.get_nowait()
        ring.producer.put_nowait(b"b" * 2040)          # fills 2048..4096 exactly
        assert footprint(2040) == ring.producer.used()
        assert b"b" * 2040 == ring.consumer.get_nowait()

    def test_indices_run_free_past_the_capacity(self, ring, raw):
        """head and tail keep counting bytes ever moved; they are not reduced modulo capacity."""
        for _ in range(10):
            ring.producer.put_nowait(b"x" * MAX)
            ring.consumer.get_nowait()
        view = raw(ring)
        assert 10 * footprint(MAX) == view.head
        assert view.head == view.tail


class TestFullEmpty:
    def test_empty_ring(self, ring):
        """An empty ring is not readable, get_nowait raises WouldBlock, used() is 0."""
        assert not ring.consumer.readable()
        assert 0 == ring.producer.used()
        with pytest.raises(WouldBlock):
            ring.consumer.get_nowait()
        assert [] == ring.consumer.get_many()

    def test_put_makes_it_readable(self, ring):
        """One put makes the ring readable and accounts for its footprint."""
        ring.producer.put(b"12345")
        assert ring.consumer.readable()
        assert footprint(5) == ring.producer.used()

    def test_full_ring_refuses_without_losing_anything(self, ring):
        """When full, put_nowait raises WouldBlock; everything put before is intact."""
        records = []
        while True:
            record = bytes([len(records)]) * 500
            try:
                ring.producer.put_nowait(record)
            except WouldBlock:
                break
            records.append(record)
        assert SMALL_CAPACITY // footprint(500) == len(records)
        assert records == [ring.consumer.get_nowait() for _ in records]

    def test_room_returns_after_a_get(self, ring):
        """After the consumer takes one record the producer can put one again."""
        while True:
            try:
                ring.producer.put_nowait(b"y" * 1000)
            except WouldBlock:
                break
        ring.consumer.get_nowait()
        ring.producer.put_nowait(b"y" * 1000)

    def test_put_on_a_full_ring_times_out(self, ring):
        """put(timeout) on a ring nobody drains raises Timeout after about that long."""
        ring.producer.put(b"z" * MAX)
        ring.producer.put(b"z" * MAX)
        assert not ring.producer.wait_writable(8, timeout=0.05)
        with pytest.raises(Timeout):
            ring.producer.put(b"z", timeout=0.05)

    def test_get_on_an_empty_ring_times_out(self, ring):
        """get(timeout) on an empty ring raises Timeout; wait_readable returns False."""
        assert not ring.consumer.wait_readable(timeout=0.05)
        with pytest.raises(Timeout):
            ring.consumer.get(timeout=0.05)

    def test_zero_timeout_does_not_wait(self, ring):
        """A zero timeout answers at once: ready or not."""
        assert not ring.consumer.wait_readable(timeout=0)
        ring.producer.put(b"now")
        assert ring.consumer.wait_readable(timeout=0)


class TestMaxRecord:
    def test_largest_record_fits_an_empty_ring(self, ring):
        """max_payload is half the capacity minus one record header, and it fits."""
        assert MAX == ring.producer.max_payload
        ring.producer.put_nowait(b"M" * MAX)
        assert b"M" * MAX == ring.consumer.get_nowait()

    @pytest.mark.parametrize("offset_records", [0, 1, 5, 31, 63])
    def test_empty_ring_always_has_room_for_the_largest(self, ring, offset_records):
        """Wherever the write position is, an empty ring takes a max_payload record."""
        for _ in range(offset_records):
            ring.producer.put_nowait(b"s" * 56)     # footprint 64
            ring.consumer.get_nowait()
        ring.producer.put_nowait(b"M" * MAX)
        assert b"M" * MAX == ring.consumer.get_nowait()

    def test_one_byte_too_many_is_refused(self, ring):
        """A record of max_payload + 1 bytes raises MessageTooLarge and changes nothing."""
        for put in (ring.producer.put, ring.producer.put_nowait):
            with pytest.raises(MessageTooLarge):
                put(b"M" * (MAX + 1))
        with pytest.raises(MessageTooLarge):
            ring.producer.put_many([b"M" * (MAX + 1)])
        with pytest.raises(MessageTooLarge):
            ring.producer.wait_writable(MAX + 1, timeout=0)
        assert 0 == ring.producer.used()

    def test_default_channel_takes_64_KiB_messages(self):
        """The default channel's rings take a 64 KiB record (DESIGN's default message limit)."""
        with Channel.create() as chan:
            assert 64 * 1024 <= chan.send.max_payload


class TestBatch:
    def test_put_many_then_get_many(self, ring):
        """put_many stores every record; get_many returns them in order."""
        records = [bytes([i]) * (i * 3) for i in range(20)]
        assert 20 == ring.producer.put_many(records)
        assert records == ring.consumer.get_many(100)

    def test_put_many_stops_at_the_first_that_does_not_fit(self, ring):
        """put_many returns how many fit; the rest go in once there is room again."""
        records = [bytes([i]) * 1000 for i in range(6)]    # 4 fit (1008 bytes each)
        put = ring.producer.put_many(records)
        assert 4 == put
        assert records[:2] == [ring.consumer.get_nowait(), ring.consumer.get_nowait()]
        assert 2 == ring.producer.put_many(records[put:])
        assert records[2:] == ring.consumer.get_many(10)

    def test_put_many_on_a_full_ring_returns_zero(self, ring):
        """With no room at all put_many puts nothing and does not raise."""
        ring.producer.put_many([b"f" * MAX, b"f" * MAX])
        assert 0 == ring.producer.put_many([b"x"])

    def test_put_many_accepts_any_iterable_and_nothing(self, ring):
        """An empty batch puts nothing; a generator works like a list."""
        assert 0 == ring.producer.put_many([])
        assert 3 == ring.producer.put_many(bytes([i]) for i in range(3))
        assert [b"\x00", b"\x01", b"\x02"] == ring.consumer.get_many()

    def test_put_many_stops_before_a_record_too_large(self, ring):
        """A too-large record in the middle of a batch ends the batch; the next call raises."""
        batch = [b"a", b"B" * (MAX + 1), b"c"]
        assert 1 == ring.producer.put_many(batch)
        with pytest.raises(MessageTooLarge):
            ring.producer.put_many(batch[1:])

    def test_get_many_respects_max_count(self, ring):
        """get_many(n) returns at most n records and leaves the rest."""
        ring.producer.put_many([bytes([i]) for i in range(10)])
        assert [bytes([i]) for i in range(4)] == ring.consumer.get_many(4)
        assert [bytes([i]) for i in range(4, 10)] == ring.consumer.get_many(100)

    def test_batches_across_the_wrap(self, ring):
        """Batches that cross the end of the data area arrive intact and in order."""
        expected, got = [], []
        for lap in range(40):                     # ~600 bytes a batch, one batch in flight
            batch = [bytes([lap, i]) * (37 + i * 11) for i in range(5)]
            assert 5 == ring.producer.put_many(batch)
            expected += batch
            if lap:
                got += ring.consumer.get_many(5)
        got += ring.consumer.get_many(1000)
        assert expected == got

    def test_single_and_batch_calls_interleave(self, ring):
        """put/put_many and get/get_many on the same ring share one order."""
        ring.producer.put(b"1")
        ring.producer.put_many([b"2", b"3"])
        ring.producer.put(b"4")
        assert b"1" == ring.consumer.get_nowait()
        assert [b"2", b"3", b"4"] == ring.consumer.get_many()


class TestChannel:
    def test_memfd_size_is_sealed(self, channels):
        """Nobody can shrink or grow the shared memory under the other side."""
        with pytest.raises(PermissionError):
            os.ftruncate(channels.kernel.fd, 64)

    def test_close_is_idempotent_and_stops_use(self):
        """close() twice is fine; a ring of a closed channel raises instead of crashing."""
        chan = Channel.create(4096)
        ring = chan.send
        chan.close()
        chan.close()
        with pytest.raises(TypeError):
            ring.put_nowait(b"after close")

    def test_attach_sees_what_the_creator_put(self, channels):
        """A second attach by fd (a new process would do this) reads the existing records."""
        channels.kernel.send.put(b"before attach")
        with Channel.attach(os.dup(channels.kernel.fd)) as late:
            assert b"before attach" == late.recv.get_nowait()

    def test_capacity_rounds_up_to_a_power_of_two(self):
        """Channel.create(capacity) gives each ring at least that, a power of two."""
        with Channel.create(5000) as chan:
            assert 8192 == chan.send.capacity == chan.recv.capacity
