"""Halting: stop every process, one at a time, while the router keeps routing.

Order: init first (so nothing gets restarted), then the others youngest
first by when their *name* first started — the shell before fs, fs before
block, even after block was restarted — so a server flushing its state on
SIGTERM can still call the servers it depends on.  Each gets SIGTERM and a
grace period, then SIGKILL.  The halt is done when no process is left.
"""

from __future__ import annotations

import signal
import time
from typing import TYPE_CHECKING

from kernel.endpoint import INIT_SLOT
from kernel.proc import State

if TYPE_CHECKING:
    from kernel.kernel import Kernel
    from kernel.proc import Proc

GRACE_S = 3.0
KILL_WAIT_S = 2.0


class Halter:
    def __init__(self, kernel: Kernel, reason: str) -> None:
        self.k = kernel
        self.reason = reason
        self.victim: Proc | None = None
        self.deadline = 0.0
        self.killed = False
        self.skipped: set[int] = set()

    def _order(self) -> list[Proc]:
        live = [p for p in self.k.slots.values() if p.endpoint not in self.skipped
                and p.hosted is None]
        first = [p for p in live if p.slot == INIT_SLOT]
        rest = sorted((p for p in live if p.slot != INIT_SLOT),
                      key=lambda p: (self.k.rank.get(p.name, 0), p.started), reverse=True)
        return first + rest

    def tick(self) -> bool:
        """Advance; True when every process is gone."""
        now = time.monotonic()
        if self.victim is not None and self.victim.state is not State.DEAD:
            if now < self.deadline:
                return False
            if not self.killed:
                self.victim.signal(signal.SIGKILL)
                self.killed, self.deadline = True, now + KILL_WAIT_S
                self.k.log.warning("halt_kill", name=self.victim.name, pid=self.victim.pid)
                return False
            self.k.log.error("halt_unkillable", name=self.victim.name, pid=self.victim.pid)
            self.skipped.add(self.victim.endpoint)
        remaining = self._order()
        if not remaining:
            return True
        if not self.k.at_rest():
            return False   # a reproducible run signals only a system at rest: next turn
        self.victim, self.killed = remaining[0], False
        self.deadline = now + GRACE_S
        self.victim.signal(signal.SIGTERM)
        return False
