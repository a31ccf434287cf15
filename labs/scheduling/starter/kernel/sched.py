"""Which ready sender the router serves next, and how much (labs/scheduling: yours).

Once per pass the kernel's loop (kernel/kernel.py, ``_pass``) waits until some
processes' outgoing rings hold messages, then calls ``order`` with those
processes — the *ready* ones, in the order of the process table — and drains
each returned process, in the order returned, taking at most the budget given
with it off its ring.  Whatever is left waits for a later pass.  This file is
the whole policy: the router's rules (who may call whom, back-pressure) stay
as they are, only the order and the share change.

This skeleton is the simplest policy there is, and a bad one: everybody in table
order, each until its ring is empty.  A process that floods refills its ring as
fast as the kernel empties it, so its turn never ends — and everyone after it
(and before it, on the next pass) waits until the flood is over.

The rules for ``order`` (the kernel trusts this module as it trusts itself):
  * return (process, budget) pairs, each process one of ``ready``, budget >= 1;
  * a process left out is not served this pass (it stays ready: the next pass
    asks again), so leaving one out for ever starves it;
  * a process may exit at any moment, between two passes or during one: keep
    no Proc between calls (an endpoint or a slot number is fine), and never
    touch a process's rings here.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from kernel.proc import Proc

# May the quiet state's C loop (csrc/nk_route.c, with the package's own fair rotation)
# route without asking ``order``?  No: with this lab's scheduler every pass is ours.
C_LOOP = False

UNLIMITED = 1 << 30   # "until the ring is empty"


def order(ready: list[Proc]) -> list[tuple[Proc, int]]:
    """Whom to serve this pass, in what order, and at most how many messages each."""
    # TODO: fair share — a budget per sender per pass, and a turn that moves on, so
    # that a flooder gets its share and no more while anyone else is waiting.
    return [(proc, UNLIMITED) for proc in ready]
