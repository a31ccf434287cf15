"""Which ready sender the router serves next, and how many of its messages per pass.

The kernel's loop asks ``order`` once per pass with the processes whose outgoing
rings have messages (in slot order); it drains each returned process, in the order
returned, up to the budget given with it.  This default is the fairness rule
kernel/router.py describes: every ready ring, starting one further each pass,
BATCH messages each.  (labs/scheduling replaces this module; a reproducible run,
boot --seed/--replay, does not ask it: kernel/ordering.py chooses there.)
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from kernel.router import BATCH

if TYPE_CHECKING:
    from kernel.proc import Proc

# May the quiet state's C loop (csrc/nk_route.c: nk_route_loop, its own rotation with
# BATCH per ring) route without asking ``order``?  A scheduler of its own says False.
C_LOOP = True

_rotate = 0


def order(ready: list[Proc]) -> list[tuple[Proc, int]]:
    """(process, budget) pairs: whom to drain this pass, in this order, how many each."""
    global _rotate
    if not ready:
        return []
    _rotate = (_rotate + 1) % len(ready)
    return [(p, BATCH) for p in ready[_rotate:] + ready[:_rotate]]
