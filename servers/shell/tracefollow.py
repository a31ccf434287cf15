"""The live trace: ``trace on`` with no file prints each message on the console.

    python -m servers.shell.tracefollow PATH

The kernel knows nothing of the console: the shell asks it to trace into a
host file (PATH, one JSON object per message, kernel/trace.py) leaving out
the messages of this process and of the console (``exclude``: else each line
printed would be a message traced, printed, traced…).  This process follows
the file as ``tail -f`` does and writes each event to the console as one
aligned line, set apart from the shell's own output: dimmed on a terminal,
and always after a ``│`` rule.

Ops (the shell's):
    sync() → int   print every event written so far (the shell calls it after each
                   command, so a command's trace is on the screen before the prompt)
    stop() → int   sync, then exit (``trace off``, the end of the session); the file
                   is removed
"""

from __future__ import annotations

import contextlib
import json
import os
import sys

from libipc import IpcError, Server, lookup, op
from libipc.runtime import Timer
from nanokernel.trace_render import Event

POLL_S = 0.05          # how often the file is looked at between syncs
MAX_CALLS = 4096       # calls whose op is remembered until their reply
NAME_WIDTH = 9
PREFIX = "│ "
DIM, PLAIN = "\x1b[2m", "\x1b[0m"


def format_event(e: Event, t0: float) -> str:
    """One aligned line: ms since the trace began, who → whom, kind, op, size, latency."""
    latency = f"{e.latency_us:,.1f} µs" if e.latency_us is not None else ""
    op_ = e.op or (f"bits {e.id:#x}" if e.kind == "NOTIFY" else "")
    line = (f"{(e.t - t0) * 1000:>9.3f} ms  {e.src_name:<{NAME_WIDTH}} → "
            f"{e.dst_name:<{NAME_WIDTH}} {e.kind:<6} {op_:<14} {e.size:>6} B "
            f"{latency:>11}  {e.note or ''}")
    return line.rstrip()


class TraceFollower(Server):
    name = "trace"
    register_name = False   # the shell knows our endpoint: nobody looks us up

    def __init__(self, path: str) -> None:
        super().__init__()
        self.path = path
        self.file = open(path, encoding="utf-8", errors="replace")  # noqa: SIM115
        self.rest = ""
        self.t0: float | None = None
        self.calls: dict[tuple[int, int, int], str] = {}
        self.dim = os.environ.get("NK_INTERACTIVE") == "1"
        self.console = lookup("console")
        self.timer: Timer | None = None

    def start(self) -> None:
        self._tick()

    def _tick(self) -> None:
        self.follow()
        self.timer = self.runtime.after(POLL_S, self._tick)

    def follow(self) -> int:
        """Print the events the file has gained; returns how many."""
        data = self.rest + self.file.read()
        *lines, self.rest = data.split("\n")
        out = []
        for line in lines:
            try:
                e = Event.from_json(json.loads(line))
            except (ValueError, KeyError, TypeError):
                continue
            if e.kind == "CALL" and e.op:
                if len(self.calls) >= MAX_CALLS:
                    self.calls.pop(next(iter(self.calls)))
                self.calls[(e.src, e.dst, e.id)] = e.op
            elif e.kind in ("REPLY", "ERROR") and e.op is None:
                e.op = self.calls.pop((e.dst, e.src, e.id), None)
            if self.t0 is None:
                self.t0 = e.t
            text = PREFIX + format_event(e, self.t0)
            out.append(f"{DIM}{text}{PLAIN}\n" if self.dim else text + "\n")
        if out:
            try:
                self.console.write(text="".join(out))
            except IpcError:   # no console: the lines are in the boot log at least
                sys.stdout.write("".join(out))
        return len(out)

    @op
    def sync(self, ctx) -> int:
        """Print what the trace holds so far."""
        return self.follow()

    @op
    def stop(self, ctx) -> int:
        """Print the rest, remove the file and exit."""
        n = self.follow()
        if self.timer is not None:
            self.timer.cancel()
        self.file.close()
        with contextlib.suppress(OSError):
            os.unlink(self.path)
        self.request_stop()
        return n


if __name__ == "__main__":
    TraceFollower.main()
