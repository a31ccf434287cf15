"""The process table entry: everything the kernel knows about one process.

Who writes what: only the kernel's router thread touches a ``Proc``; the
reaper thread only hands exit statuses over through a queue.

Life cycle (``State``): RUNNING from spawn; CORRUPT once its ring was found
corrupt (it is being killed: nothing more is read from it or delivered to
it); DEAD once its exit was collected.  A dead process leaves the process
table at once — its exit record lives on in its parent's ``exits`` only.
"""

from __future__ import annotations

import contextlib
import os
import subprocess
import time
from collections import deque
from dataclasses import dataclass, field
from enum import StrEnum
from typing import TYPE_CHECKING, Any

from libipc.channel import Channel

if TYPE_CHECKING:
    from kernel.table import RouteTable


class State(StrEnum):
    """What ``ps`` shows in its STATE column (a str: it travels in msgpack as is)."""

    RUNNING = "running"
    CORRUPT = "corrupt"   # its ring broke; SIGKILL sent, exit not yet collected
    DEAD = "dead"


@dataclass(eq=False)
class Proc:
    endpoint: int
    slot: int
    name: str
    channel: Channel
    popen: subprocess.Popen | None
    parent: int
    privileged: bool = False
    acl: frozenset[str] = frozenset()   # names this process may CALL/SEND to; "*" = any
    public: bool = False                # callable by processes whose ACL holds "@public"
    restarts: int = 0                   # told by the spawner (init counts them)
    argv: list[str] = field(default_factory=list)
    state: State = State.RUNNING
    started: float = field(default_factory=time.monotonic)
    status: int | None = None
    # (its outstanding calls live in the C routing table: kernel/table.py)
    # messages the kernel holds for this process until its ring has room
    pending: deque[tuple[Any, bytes]] = field(default_factory=deque)
    pending_bytes: int = 0           # … their size, headers included (bounded: max_pending)
    notify_bits: dict[int, int] = field(default_factory=dict)   # src -> coalesced bits
    exits: list[dict[str, Any]] = field(default_factory=list)   # for the `wait` call
    watcher: bool = False            # told of every exit, not only its children's
    sig_caught: int = 0              # signals it handles itself (bit n = signal n)
    sig_ignored: int = 0             # signals it ignores (kernel/signals.py)
    killed_by: int | None = None     # the signal whose default action the kernel carried out
    fdlink: Any = None               # the kernel's end of its descriptor link (libipc/fdlink.py)
    blocked_on: Proc | None = None   # its next CALL/SEND waits for room at this process
    blocked_len: int = 0             # … and needs this many bytes there
    msgs_in: int = 0                 # what the Python path moved (the C path: table.moved)
    msgs_out: int = 0
    bytes_in: int = 0
    bytes_out: int = 0
    dropped: int = 0
    ring_high_water: int = 0
    hosted: Any = None               # a HostedServer when placed in the kernel (no process)
    alive: bool = True               # state is RUNNING (read on every message: a plain field)
    up: Any = None                   # the nk_ring * the kernel reads it from (None: hosted)
    down: Any = None                 # the nk_ring * the kernel writes to it

    def __post_init__(self) -> None:
        if self.channel is not None:
            self.up, self.down = self.channel.recv.cdata, self.channel.send.cdata

    def set_state(self, state: State) -> None:
        self.state, self.alive = state, state is State.RUNNING

    @property
    def pid(self) -> int | None:
        if self.hosted is not None:
            return os.getpid()   # it lives in the kernel process
        return self.popen.pid if self.popen is not None else None


    def signal(self, signum: int) -> None:
        """Send ``signum`` unless the process is already gone."""
        if self.popen is not None and self.popen.returncode is None:
            with contextlib.suppress(ProcessLookupError):
                os.kill(self.popen.pid, signum)

    def has_mail(self) -> bool:
        return bool(self.pending) or bool(self.notify_bits)

    def info(self, table: RouteTable) -> dict[str, Any]:
        """The row ``ps`` and ``stats`` show: what both paths moved, added up."""
        c = table.moved(self)
        return {
            "ep": self.endpoint, "name": self.name, "pid": self.pid, "state": str(self.state),
            "parent": self.parent, "privileged": self.privileged,
            "msgs_in": self.msgs_in + c["msgs_in"], "msgs_out": self.msgs_out + c["msgs_out"],
            "bytes_in": self.bytes_in + c["bytes_in"],
            "bytes_out": self.bytes_out + c["bytes_out"],
            "calls_in_flight": table.calls_of(self), "serving": len(table.waiting_on(self)),
            "waits_for_room": self.blocked_on.endpoint if self.blocked_on is not None else None,
            "ring_high_water": max(self.ring_high_water, c["ring_high_water"]),
            "dropped": self.dropped,
            "restarts": self.restarts,
            "placement": "kernel" if self.hosted is not None else "process",
            "uptime_s": round(time.monotonic() - self.started, 3),
        }
