"""Is this boot's delivery order made reproducible (``boot --seed/--record/--replay``)?

In such a boot the kernel delivers one message at a time (kernel/ordering.py),
and the servers give up the timers whose firing would depend on how fast the
host happens to run — init's registration polls and heartbeats, fs's group
commit after 2 ms, the shell's 1 s look at its jobs — and the devices' clock is
virtual.  What is left is a function of the programs and the order the kernel
chose (docs/labs.md, "Deterministic runs").
"""

from __future__ import annotations

import os

ENV = "NK_ORDERED"
SEED_ENV = "NK_SEED"


def ordered() -> bool:
    """Does this process run in a boot whose message order is reproducible?"""
    return os.environ.get(ENV) == "1"


def seed() -> int:
    """The boot's seed (0 for a recorded or replayed run without ``--seed``)."""
    try:
        return int(os.environ.get(SEED_ENV, "0"))
    except ValueError:
        return 0
