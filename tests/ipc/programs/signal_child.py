"""A user process the signal tests signal: ``signal_child.py MODE TOKEN [ARGS]``.

It reports on the pipe write end TOKEN, one line per event ("ready" first).

    idle               no handlers: sleep until a signal's default action ends it
    catch SIG...       a handler per signal, each reports "caught N"; sleeps in
                       time.sleep meanwhile (handlers run between bytecodes)
    interrupt          USR1 caught; waits in a pipe read (READ_TOKEN) that nobody
                       feeds: reports "interrupted CODE" when the read gives up
    restart READ       USR1 caught with restart=True; the read goes on and
                       reports "read DATA after N"
    raising            USR1's handler raises KeyboardInterrupt in a pipe read
    ignore             USR1 ignored; reports "alive" every 50 ms
    uncatchable        reports the error codes of catching/ignoring KILL and STOP
    signal EP SIG      reports what kill(EP, SIG) gave (its result or error code)
    count              USR1 counted; reports "count N" on each USR2
"""

from __future__ import annotations

import signal
import sys
import time

import libipc
from libipc import IpcError
from libipc.pipe import PipeEnd


def main() -> None:
    mode, out = sys.argv[1], PipeEnd.from_token(int(sys.argv[2]), writing=True)

    def say(line: str) -> None:
        out.write(line.encode() + b"\n")

    if mode == "idle":
        say("ready")
        while True:
            time.sleep(1)
    elif mode == "catch":
        for name in sys.argv[3:]:
            libipc.signal(getattr(signal, name), lambda n, f: say(f"caught {n}"))
        say("ready")
        while True:
            time.sleep(0.05)
    elif mode in ("interrupt", "restart", "raising"):
        r = PipeEnd.from_token(int(sys.argv[3]), writing=False)
        runs = []

        def handler(n, frame):
            runs.append(n)
            say(f"handled {n}")
            if mode == "raising":
                raise KeyboardInterrupt
        libipc.signal(signal.SIGUSR1, handler, restart=mode == "restart")
        say("ready")
        try:
            data = r.read(100)
            say(f"read {data.decode()} after {len(runs)}")
        except IpcError as exc:
            say(f"interrupted {exc.code} after {len(runs)}")
        except KeyboardInterrupt:
            say(f"raised KeyboardInterrupt after {len(runs)}")
    elif mode == "ignore":
        libipc.signal(signal.SIGUSR1, signal.SIG_IGN)
        say("ready")
        while True:
            say("alive")
            time.sleep(0.05)
    elif mode == "uncatchable":
        codes = []
        for signum in (signal.SIGKILL, signal.SIGSTOP):
            for handler in (lambda n, f: None, signal.SIG_IGN):
                try:
                    libipc.signal(signum, handler)
                    codes.append("no error")
                except IpcError as exc:
                    codes.append(exc.code)
        say("ready")
        say(" ".join(codes))
    elif mode == "signal":
        say("ready")
        try:
            say(str(libipc.kill(int(sys.argv[3]), int(sys.argv[4]))))
        except IpcError as exc:
            say(exc.code)
    elif mode == "count":
        count = [0]
        libipc.signal(signal.SIGUSR1, lambda n, f: count.__setitem__(0, count[0] + 1))
        libipc.signal(signal.SIGUSR2, lambda n, f: say(f"count {count[0]}"))
        say("ready")
        while True:
            time.sleep(0.05)


if __name__ == "__main__":
    main()
