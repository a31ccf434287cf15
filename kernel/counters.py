"""The kernel's counters, kept in one place: what ``stats`` reports.

Every path that moves a message — the ring-to-ring forward, a hand-over to a
server hosted in the kernel, a kernel-made reply — counts it here, so a
figure never depends on which path a message took.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass


@dataclass
class Counters:
    messages_routed: int = 0   # messages from one process (or hosted server) to another
    ring_crossings: int = 0    # ring puts and takes those messages cost
    direct_calls: int = 0      # calls between two hosted servers: a function call, no ring
    kernel_calls: int = 0      # CALLs to endpoint 0
    dropped_replies: int = 0   # replies without a reply right (seL4's one-shot rule)
    refused: int = 0           # messages refused with an error (ACL, limits, deadlock, …)
    unsettled: int = 0         # ordered deliveries made while a process still ran (boot --seed)

    def as_dict(self) -> dict[str, int]:
        return asdict(self)
