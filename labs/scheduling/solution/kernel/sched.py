"""Which ready sender the router serves next, and how much (labs/scheduling: solution).

Fair share by round robin with a quantum: each pass serves every ready process
at most QUANTUM messages, and the pass begins with the first ready process after
the one that began the last pass (by slot), so the first place goes round.
While anyone else has a message waiting, a flooder is served at most QUANTUM
messages before the other gets its turn — at most two quanta when it happened
to be first in this pass and in the next.  With nobody else ready the flooder
still gets every pass to itself: no pass is wasted.

The only state kept between passes is a slot number: a process that exits
(even during a pass) leaves nothing behind here.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from kernel.proc import Proc

# Every pass is ours: the C loop (csrc/nk_route.c) has its own rotation.
C_LOOP = False

QUANTUM = 16   # messages per sender per pass (the package's own rotation takes 32)

_next_slot = 0   # the pass after this one begins at the first ready slot >= this


def order(ready: list[Proc]) -> list[tuple[Proc, int]]:
    """Every ready process once, QUANTUM each, beginning one further than last time."""
    global _next_slot
    if not ready:
        return []
    turn = sorted(ready, key=lambda proc: proc.slot)
    first = next((i for i, proc in enumerate(turn) if proc.slot >= _next_slot), 0)
    turn = turn[first:] + turn[:first]
    _next_slot = turn[0].slot + 1
    return [(proc, QUANTUM) for proc in turn]
