"""Endpoint numbers: ``generation << SLOT_BITS | slot``.

A slot is a row of the process table; its generation goes up each time the
slot is reused, so an old endpoint never names a new process (it gives
``NoSuchEndpoint``).  Endpoint 0 is the kernel.  Slots below ``FIRST_DYNAMIC``
are *well-known*: a privileged spawner may ask for one (init gets slot 1, the
boot configuration puts naming in slot 2), and the bare slot number, with
generation 0, is an alias for whoever occupies that slot now — so a client
can always reach naming at endpoint 2, even after naming restarted.
"""

from __future__ import annotations

SLOT_BITS = 12
MAX_SLOTS = 1 << SLOT_BITS
FIRST_DYNAMIC = 16
KERNEL = 0
INIT_SLOT = 1


def make(slot: int, generation: int) -> int:
    return generation << SLOT_BITS | slot


def slot_of(endpoint: int) -> int:
    return endpoint & (MAX_SLOTS - 1)


def is_alias(endpoint: int) -> bool:
    """A bare well-known slot number (generation 0)."""
    return 0 < endpoint < FIRST_DYNAMIC
