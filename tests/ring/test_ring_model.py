"""The ring against a model: a deque of records plus the byte positions the format implies.

Both rings of a 256-byte channel are driven by hypothesis with every
operation (put, put_nowait, put_many, get_nowait, get_many, readable, used),
each compared with a model.  The model knows the record format from
csrc/nk_ring.h — an 8-byte header, payload padded to 8 bytes, a padding
record when a record would straddle the end — so it predicts exactly when the
ring is full, not just what comes out.
"""

from __future__ import annotations

import os
import random
from collections import deque

import hypothesis.strategies as st
import pytest
from hypothesis import settings
from hypothesis.stateful import RuleBasedStateMachine, invariant, precondition, rule

from libipc.channel import Channel
from libipc.errors import MessageTooLarge, WouldBlock

CAPACITY = 256          # small, so the write position wraps every few records
MAX = CAPACITY // 2 - 8
LONG = os.environ.get("NK_STRESS") == "long"


def payload(size: int, seed: int) -> bytes:
    return random.Random(seed).randbytes(size)


class RingModel:
    """What one ring must contain: the records, and the producer/consumer byte counters."""

    def __init__(self) -> None:
        self.records: deque[tuple[bytes, int]] = deque()   # (record, end position)
        self.head = 0   # bytes ever produced, padding included
        self.tail = 0   # bytes ever consumed (published by the consumer)

    def placement(self, size: int) -> tuple[int, int] | None:
        """(bytes of padding, bytes of record) if a record of ``size`` fits now, else None."""
        total = 8 + (size + 7) // 8 * 8
        off = self.head % CAPACITY
        pad = CAPACITY - off if off + total > CAPACITY else 0
        if CAPACITY - (self.head - self.tail) < pad + total:
            return None
        return pad, total

    def put(self, record: bytes) -> bool:
        place = self.placement(len(record))
        if place is None:
            return False
        self.head += place[0] + place[1]
        self.records.append((record, self.head))
        return True

    def get(self) -> bytes:
        record, end = self.records.popleft()
        self.tail = end
        return record


class RingMachine(RuleBasedStateMachine):
    def __init__(self) -> None:
        super().__init__()
        self.kernel = Channel.create(CAPACITY)
        self.process = Channel.attach(os.dup(self.kernel.fd))
        self.ends = {"down": (self.kernel.send, self.process.recv),
                     "up": (self.process.send, self.kernel.recv)}
        self.models = {"down": RingModel(), "up": RingModel()}

    def teardown(self) -> None:
        self.process.close()
        self.kernel.close()

    sizes = st.one_of(st.integers(0, 16), st.integers(17, MAX), st.just(MAX),
                      st.just(MAX + 1))
    direction = st.sampled_from(["down", "up"])

    @rule(d=direction, size=sizes, seed=st.integers(0, 2**32))
    def put_nowait(self, d, size, seed):
        producer, model = self.ends[d][0], self.models[d]
        record = payload(size, seed)
        if size > MAX:
            try:
                producer.put_nowait(record)
            except MessageTooLarge:
                return
            raise AssertionError("a record over max_payload was accepted")
        fits = model.placement(size) is not None
        try:
            producer.put_nowait(record)
        except WouldBlock:
            assert not fits, "ring said full but the model has room"
            return
        assert fits, "ring accepted a record the model has no room for"
        model.put(record)

    @rule(d=direction, size=st.integers(0, MAX), seed=st.integers(0, 2**32))
    def put_with_timeout(self, d, size, seed):
        producer, model = self.ends[d][0], self.models[d]
        record = payload(size, seed)
        if model.placement(size) is None:
            return   # would block for the timeout: covered by put_nowait
        producer.put(record, timeout=0)
        model.put(record)

    @rule(d=direction, sizes=st.lists(sizes, max_size=8), seed=st.integers(0, 2**32))
    def put_many(self, d, sizes, seed):
        producer, model = self.ends[d][0], self.models[d]
        batch = [payload(s, seed + i) for i, s in enumerate(sizes)]
        expected = 0
        for record in batch:
            if len(record) > MAX or not model.put(record):
                break
            expected += 1
        if batch and len(batch[0]) > MAX:
            try:
                producer.put_many(batch)
            except MessageTooLarge:
                return
            raise AssertionError("put_many accepted a first record over max_payload")
        assert expected == producer.put_many(batch)

    @rule(d=direction)
    def get_nowait(self, d):
        consumer, model = self.ends[d][1], self.models[d]
        if not model.records:
            try:
                consumer.get_nowait()
            except WouldBlock:
                return
            raise AssertionError("got a record from a ring the model says is empty")
        assert model.get() == consumer.get_nowait()

    @rule(d=direction, n=st.integers(1, 10))
    def get_many(self, d, n):
        consumer, model = self.ends[d][1], self.models[d]
        expected = [model.get() for _ in range(min(n, len(model.records)))]
        assert expected == consumer.get_many(n)

    @precondition(lambda self: any(m.records for m in self.models.values()))
    @rule(d=direction)
    def get_with_timeout(self, d):
        consumer, model = self.ends[d][1], self.models[d]
        if model.records:
            assert model.get() == consumer.get(timeout=0)

    @invariant()
    def readable_and_used_agree(self):
        for d, (producer, consumer) in self.ends.items():
            model = self.models[d]
            assert bool(model.records) == consumer.readable()
            assert model.head - model.tail == producer.used()


RingMachine.TestCase.settings = settings(
    max_examples=1000 if LONG else 60, stateful_step_count=60, deadline=None)
# Marked `stress` so that `make stress` (NK_STRESS=long) runs it with many more examples;
# the default run keeps the short version.
TestRingAgainstModel = pytest.mark.stress(RingMachine.TestCase)
