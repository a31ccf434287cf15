"""CPU placements for the benches: where the processes of one measurement may run.

A round trip's cost on a small machine depends mostly on whether the processes
share a CPU, so `bench call` measures each round trip under every placement:

free     nothing is pinned: the OS places the processes (and moves them).
one-cpu  every process of the shape on one CPU (the lowest the bench may use).
split    one CPU per process of the shape (the lowest N the bench may use); a
         shape of N processes on a machine that lets the bench use fewer than N
         CPUs is skipped, with the reason in its row.

The CPUs are those of ``os.sched_getaffinity(0)`` (what the bench itself may use),
so a bench started under ``taskset`` stays inside its set.  Affinity is inherited
by every thread and process started afterwards; `pin` also re-pins the threads a
process already has (``sched_setaffinity(pid)`` changes only the thread whose id
is ``pid``).
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path

FREE, ONE_CPU, SPLIT = "free", "one-cpu", "split"
NAMES = (FREE, ONE_CPU, SPLIT)


@dataclass(frozen=True)
class Placement:
    name: str
    cpus: tuple[int, ...]   # the CPUs the bench may use, sorted

    def skip_reason(self, processes: int) -> str | None:
        """Why a shape of ``processes`` processes cannot be placed so (None: it can)."""
        if self.name == SPLIT and processes > len(self.cpus):
            return (f"split needs {processes} CPUs (one per process), this bench may use "
                    f"{len(self.cpus)} ({format_cpus(self.cpus)})")
        return None

    def layout(self, processes: int) -> list[frozenset[int]] | None:
        """The CPU set of each of ``processes`` processes, in the shape's order (None when
        free: nothing is pinned).  ValueError when the placement must skip that shape."""
        if self.name == FREE:
            return None
        reason = self.skip_reason(processes)
        if reason:
            raise ValueError(reason)
        if self.name == ONE_CPU:
            return [frozenset({self.cpus[0]})] * processes
        return [frozenset({cpu}) for cpu in self.cpus[:processes]]


def choose_placements(cpus: Iterable[int] | None = None) -> list[Placement]:
    """free, one-cpu and split over ``cpus`` (default: the CPUs this process may use)."""
    allowed = tuple(sorted(os.sched_getaffinity(0) if cpus is None else cpus))
    if not allowed:
        raise ValueError("no CPU to place processes on")
    return [Placement(name, allowed) for name in NAMES]


def format_cpus(cpus: Iterable[int]) -> str:
    """CPU numbers as /proc writes them: "0-3,6"."""
    values, parts = sorted(set(cpus)), []
    start = prev = None
    for cpu in values:
        if prev is not None and cpu == prev + 1:
            prev = cpu
            continue
        if start is not None:
            parts.append(f"{start}" if start == prev else f"{start}-{prev}")
        start = prev = cpu
    if start is not None:
        parts.append(f"{start}" if start == prev else f"{start}-{prev}")
    return ",".join(parts)


def pin(pid: int, cpus: Iterable[int]) -> None:
    """Restrict process ``pid`` (0: this one), every thread it has, to ``cpus``."""
    cpus = set(cpus)
    proc = Path(f"/proc/{pid or os.getpid()}/task")
    tids = [int(t.name) for t in proc.iterdir()] if proc.exists() else [pid]
    for tid in tids:
        with contextlib.suppress(ProcessLookupError):   # a thread that just ended
            os.sched_setaffinity(tid, cpus)


@contextlib.contextmanager
def pinned(cpus: Iterable[int] | None) -> Iterator[None]:
    """This process on ``cpus`` for the block (nothing when None), then back."""
    if cpus is None:
        yield
        return
    before = os.sched_getaffinity(0)
    pin(0, cpus)
    try:
        yield
    finally:
        pin(0, before)


def cpus_allowed(pid: int) -> str | None:
    """``Cpus_allowed_list`` of /proc/PID/status ("0-1"); None when the process is gone."""
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("Cpus_allowed_list:"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return None
