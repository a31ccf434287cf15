"""Fixtures for the ring tests (helpers live in ringtools.py)."""

from __future__ import annotations

from collections.abc import Callable, Iterator

import pytest

from tests.ring.ringtools import SMALL_CAPACITY, Channels, RawRing, RingEnds


@pytest.fixture
def channels() -> Iterator[Channels]:
    chans = Channels(SMALL_CAPACITY)
    yield chans
    chans.close()


@pytest.fixture
def ring(channels: Channels) -> RingEnds:
    """The kernel→process ring of a 4 KiB channel: `ring.producer`, `ring.consumer`."""
    return channels.down


@pytest.fixture
def raw(channels: Channels) -> Iterator[Callable[[RingEnds], RawRing]]:
    """raw(ends) → RawRing over that ring's bytes."""
    opened: list[RawRing] = []

    def open_raw(ends: RingEnds) -> RawRing:
        opened.append(RawRing(ends.kernel.fd, ends.base, ends.kernel.size))
        return opened[-1]

    yield open_raw
    for r in opened:
        r.close()
