"""The devices' clock: the host's, or a virtual one in a reproducible run.

In a boot whose delivery order is reproducible (``boot --seed/--record/--replay``,
libipc/ordered.py) the time a program reads must not depend on how fast the host
ran it either, or the same seed would give other answers.  The virtual clock
starts at 2000-01-01 00:00:00 UTC and moves only when asked: each ``now`` reads
one millisecond later than the last, and a ``sleep`` moves it forward by the
time slept — at once: nobody waits for real time.  An alarm rings once the
clock has passed it.  (A discrete-event simulator's clock, with the programs'
own clock reads as its events.)
"""

from __future__ import annotations

import heapq
import itertools
import time
from collections.abc import Callable

EPOCH = 946684800.0   # 2000-01-01T00:00:00Z
TICK_S = 0.001        # one read of the clock


class Cancel:
    """What ``after`` returns: ``cancel()`` it, as a runtime timer."""

    def __init__(self) -> None:
        self.cancelled = False

    def cancel(self) -> None:
        self.cancelled = True


class VirtualClock:
    def __init__(self) -> None:
        self.t = EPOCH
        self._due: list[tuple[float, int, Cancel, Callable[[], None]]] = []
        self._seq = itertools.count()

    def now(self) -> float:
        self.advance(TICK_S)
        return self.t

    def after(self, seconds: float, fn: Callable[[], None]) -> Cancel:
        handle = Cancel()
        heapq.heappush(self._due, (self.t + seconds, next(self._seq), handle, fn))
        return handle

    def sleep(self, seconds: float, wake: Callable[[], None]) -> None:
        self.after(seconds, wake)
        self.advance(seconds)

    def advance(self, seconds: float) -> None:
        """Move the clock on; run what came due, in deadline order."""
        self.t += seconds
        while self._due and self._due[0][0] <= self.t:
            _, _, handle, fn = heapq.heappop(self._due)
            if not handle.cancelled:
                fn()


class HostClock:
    def __init__(self, after: Callable[[float, Callable[[], None]], Cancel]) -> None:
        self.after = after   # the runtime's timers

    def now(self) -> float:
        return time.time()

    def sleep(self, seconds: float, wake: Callable[[], None]) -> None:
        self.after(seconds, wake)
