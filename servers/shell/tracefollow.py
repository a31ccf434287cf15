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
    sync(quiet=False) → int   print every event written so far (the shell calls it
                   after each command, so a command's trace is on the screen before
                   the prompt); ``quiet``: from now on only count the events (at the
                   prompt: init's heartbeats would scroll past what you type)
    resume() → int  say how many went by quietly, if any, and print events again
                   (the shell, as a command starts)
    stop() → int   sync, then exit (``trace off``, the end of the session)

The shell removes the file's name once this process answers its first sync
(it has the file open by then, as the kernel has): the file itself goes when
both close it, so no trace is left behind in the host's temporary directory,
even by a boot that is killed.
"""

from __future__ import annotations

import json
import os
import sys

from libipc import IpcError, Server, lookup, op
from libipc.runtime import Timer
from libipc.trace_event import Event

POLL_S = 0.05          # how often the file is looked at between syncs
MAX_CALLS = 4096       # calls whose op is remembered until their reply
NAME_WIDTH = 9
PREFIX = "│ "
DIM, PLAIN = "\x1b[2m", "\x1b[0m"


def format_event(e: Event, t0: float) -> str:
    """One aligned line: ms since the trace began, who → whom, kind, op, size, latency."""
    us = e.latency_us
    latency = "" if us is None else f"{us:,.1f} µs" if us < 10_000 else f"{us / 1000:,.1f} ms"
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
        # at the prompt: events are counted, not printed — from the start, too: what
        # goes by while `trace on` itself ends (and we start) is no command's
        self.quiet = True
        self.skipped = 0

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
            if self.quiet:
                self.skipped += 1
                continue
            out.append(self.line(format_event(e, self.t0)))
        self.show(out)
        return len(out)

    def line(self, text: str) -> str:
        text = PREFIX + text
        return f"{DIM}{text}{PLAIN}\n" if self.dim else text + "\n"

    def show(self, out: list[str]) -> None:
        if out:
            try:
                self.console.write(text="".join(out))
            except IpcError:   # no console: the lines are in the boot log at least
                sys.stdout.write("".join(out))

    @op
    def sync(self, ctx, quiet: bool = False) -> int:
        """Print what the trace holds so far; ``quiet``: then only count."""
        n = self.follow()
        self.quiet = quiet
        return n

    @op
    def resume(self, ctx) -> int:
        """Print again (after a note of how many events went by quietly)."""
        self.follow()
        skipped, self.skipped, self.quiet = self.skipped, 0, False
        if skipped:
            self.show([self.line(f"({skipped} message{'s' if skipped > 1 else ''} while no"
                                 f" command ran: not shown)")])
        return skipped

    @op
    def stop(self, ctx) -> int:
        """Print the rest and exit."""
        self.quiet = False
        n = self.follow()
        if self.timer is not None:
            self.timer.cancel()
        self.file.close()
        self.request_stop()
        return n


if __name__ == "__main__":
    TraceFollower.main()
