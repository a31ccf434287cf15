"""crashy — a server that fails on purpose, to try a restart policy on (lab reincarnation).

One file, three behaviours, chosen by its boot.toml ``args``:

    (no args)              serves until killed: a steady server to `kill -KILL NAME`
                           or hang with `kill -STOP NAME` (init's heartbeat finds it)
    --crash-after S        registers, serves, and exits with status 1 S seconds after
                           init counts it as running: a server that served, and
                           crashes again after every restart
    --never-register       exits with status 3 at once, before it registers: a server
                           that cannot even start (a bad argument, a missing file)

It registers under the name init started it as, so one file serves as several
servers (the grader's configuration runs it three times).  --crash-after asks
init's ``status`` (its boot.toml table needs calls = ["init"]) until init has
seen it register, so that even on a slow machine each crash is of a server that
served, never of one that is still starting.  Its one op, ``ping``,
answers "pong".  You do not need to change this file.
"""

import argparse
import os
import sys
from collections.abc import Sequence

from libipc import IpcError, Proxy, Server, op
from libipc.naming import INIT

POLL_S = 0.05   # how often --crash-after asks init whether it is running yet


class Crashy(Server):
    name = "crashy"

    def __init__(self, *argv: str) -> None:
        super().__init__()
        self.crash_after = parse(argv).crash_after

    def start(self) -> None:
        if self.crash_after is not None:
            self.runtime.after(POLL_S, self._crash_once_running)

    def _crash_once_running(self) -> None:
        """Crash `crash_after` seconds from when init's status shows this process running."""
        try:
            rows = Proxy(INIT).status()
        except IpcError:
            rows = []
        me = next((r for r in rows if r["ep"] == self.runtime.endpoint), None)
        if me is not None and me["state"] == "running":
            self.runtime.after(self.crash_after, self._crash)
        else:
            self.runtime.after(POLL_S, self._crash_once_running)

    def _crash(self) -> None:
        self.log.info("crashing_on_purpose", after_s=self.crash_after)
        sys.stdout.flush()
        os._exit(1)   # not an exception: the server's loop would report it and go on

    @op
    def ping(self, ctx) -> str:
        return "pong"


def parse(argv: Sequence[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="crashy")
    parser.add_argument("--crash-after", type=float, metavar="S")
    parser.add_argument("--never-register", action="store_true")
    return parser.parse_args(list(argv))


if __name__ == "__main__":
    if parse(sys.argv[1:]).never_register:
        sys.exit(3)
    Crashy.main()
