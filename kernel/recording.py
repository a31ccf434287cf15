"""A run's delivery order, kept (``boot --record FILE``) and read back (``--replay``).

One JSON line per message the kernel took off a process's ring, in the order it
took them: who sent it, to whom, what kind — and one per exit the kernel
collected (kind "EXIT"): an exit makes messages too (its parent's and the
watchers' notifications), so its place in the order counts — and one line
(kind "HALT") where the halt began: a replay holds to the recording up to there.
The halt itself is the kernel's (SIGTERM to each process in turn, youngest
first), and a signal lands where it lands in what a process does: the order of
the last messages of a halting system is not a program's, and not replayed.

That is all a replay needs: each process's own messages come in program order,
so choosing whose message goes next, as the recording says, is the whole order.
The file starts with a header line naming the format, so a trace or a stray
file is refused clearly.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import IO

from libipc.errors import InvalidArgument
from libipc.message import KIND_NAMES

FORMAT = "nanokernel-delivery-order"
EXIT = "EXIT"
HALT = "HALT"   # the halt began: what follows is the kernel's own stopping of everyone
VERSION = 1


@dataclass(frozen=True)
class Delivery:
    src: int          # the sender's endpoint
    src_name: str
    dst: int          # the endpoint it wrote in the header (maybe a well-known alias)
    dst_name: str
    kind: str         # CALL, REPLY, ...

    def describe(self) -> str:
        if self.kind == EXIT:
            return f"the exit of {self.src_name}"
        if self.kind == HALT:
            return "the halt"
        return f"{self.src_name} → {self.dst_name} {self.kind}"


def exit_of(endpoint: int, name: str) -> Delivery:
    return Delivery(endpoint, name, 0, "kernel", EXIT)


def halt_mark() -> Delivery:
    return Delivery(0, "kernel", 0, "kernel", HALT)


class Recorder:
    """Appends each delivery to FILE as it happens (line-buffered: a run that is
    killed keeps what it delivered so far)."""

    def __init__(self, path: Path, seed: int | None) -> None:
        self.path = path
        self.count = 0
        self._file: IO[str] = open(path, "w", buffering=1)  # noqa: SIM115 (lives with the boot)
        self._file.write(json.dumps({"format": FORMAT, "version": VERSION, "seed": seed}) + "\n")

    def took(self, d: Delivery) -> None:
        self.count += 1
        self._file.write(json.dumps({"src": d.src, "src_name": d.src_name, "dst": d.dst,
                                     "dst_name": d.dst_name, "kind": d.kind}) + "\n")

    def close(self) -> None:
        self._file.close()


def load(path: Path) -> list[Delivery]:
    """The deliveries in a recording; InvalidArgument naming the file and line."""
    try:
        lines = path.read_text().splitlines()
    except OSError as exc:
        raise InvalidArgument(f"--replay {path}: {exc.strerror}") from None
    try:
        header = json.loads(lines[0]) if lines else {}
    except json.JSONDecodeError:
        header = {}
    if header.get("format") != FORMAT:
        raise InvalidArgument(f"--replay {path}: not a recording (made by boot --record)")
    if header.get("version") != VERSION:
        raise InvalidArgument(f"--replay {path}: recording version {header.get('version')}, "
                              f"this nanokernel reads version {VERSION}")
    out = []
    for n, line in enumerate(lines[1:], start=2):
        try:
            e = json.loads(line)
            out.append(Delivery(int(e["src"]), str(e["src_name"]), int(e["dst"]),
                                str(e["dst_name"]), str(e["kind"])))
        except (json.JSONDecodeError, KeyError, TypeError, ValueError):
            if n == len(lines):   # the last line of a killed run may be cut short
                break
            raise InvalidArgument(f"--replay {path}:{n}: not a delivery line") from None
    return out


def kind_name(kind: int) -> str:
    return KIND_NAMES.get(kind, str(kind))
