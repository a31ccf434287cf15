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
    signal EP SIG...   reports what each kill(EP, SIG) gave (its result or error code)
    count              USR1 counted; reports "count N" on each USR2
    foreground EP      reports what the console's foreground(eps=[EP]) gave
    rest               USR1's handler raises (reports "usr1 raised"), USR2's reports
                       "usr2": both must run when they come in one take
    nested, locked     a signal lands (its bit and a host SIGURG, as the kernel
                       delivers it) right after a call is put on the ring, or while
                       the port's send lock is held; its handler makes a call of its
                       own; reports "outer OK inner OK" when both calls were answered
    answered           SIGALRM's handler makes a call while the clock's sleep waits;
                       the sleep's answer comes meanwhile: reports "returned ..." when
                       the sleep gives it (not Interrupted)
"""

from __future__ import annotations

import signal
import sys
import time

import libipc
import libipc.port
from libipc import IpcError, kernel, lookup
from libipc.message import CALL
from libipc.pipe import PipeEnd
from libipc.runtime import current


def reentry(mode: str, say) -> None:
    """USR1's handler makes a call of its own; the session's USR1 lands (its host SIGURG)
    while this process waits inside a send: right after a call was put, before the call
    waits for its answer (nested), or while the port holds its send lock (locked)."""
    rt, port = current(), current().transport
    inner, woke = [], []
    libipc.signal(signal.SIGUSR1, lambda n, f: inner.append(kernel(3).whoami()["ep"]),
                  restart=True)
    on_wake = signal.getsignal(signal.SIGURG)

    def wake(n, frame):
        woke.append(n)
        on_wake(n, frame)
    signal.signal(signal.SIGURG, wake)
    say("ready")
    armed = [True]

    def land_here() -> None:
        armed.clear()
        say("armed")   # (a write to the pipe's region: no message)
        deadline = time.monotonic() + 5
        while not woke and time.monotonic() < deadline:
            time.sleep(0.002)

    def report(what: str) -> None:
        deadline = time.monotonic() + 5   # the handler runs without another call of ours
        while not inner and time.monotonic() < deadline:
            time.sleep(0.002)
        say(f"{what} inner {'OK' if inner == [rt.endpoint] else inner}")

    if mode == "nested":
        real_send = port.send

        def send(dst, kind, msg_id, body=b"", flags=0, timeout=30.0):
            real_send(dst, kind, msg_id, body, flags, timeout)
            if kind == CALL and armed:
                land_here()
        port.send = send
        try:
            me = kernel(3).whoami()["ep"]
        except IpcError as exc:
            report(f"outer {exc.code}")
            return
        report(f"outer {'OK' if me == rt.endpoint else me}")
    else:
        real_put = libipc.port._msg_put

        def put(*args):
            rc = real_put(*args)
            if armed:
                land_here()
            return rc
        libipc.port._msg_put = put
        rt.notify(rt.endpoint, 1 << 20)   # a NOTIFY to ourselves: a put outside any call
        report("sent")


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
        results = []
        for ep, signum in zip(sys.argv[3::2], sys.argv[4::2], strict=True):
            try:
                results.append(str(libipc.kill(int(ep), int(signum))))
            except IpcError as exc:
                results.append(exc.code)
        say(" ".join(results))
    elif mode == "foreground":
        say("ready")
        try:
            say(str(lookup("console").foreground(eps=[int(sys.argv[3])])))
        except IpcError as exc:
            say(exc.code)
    elif mode == "rest":
        def usr1(n, frame):
            raise RuntimeError("usr1")
        libipc.signal(signal.SIGUSR1, usr1)
        libipc.signal(signal.SIGUSR2, lambda n, f: say("usr2"))
        say("ready")
        while True:
            try:
                time.sleep(0.05)
            except RuntimeError:
                say("usr1 raised")
    elif mode in ("nested", "locked"):
        reentry(mode, say)
        while True:
            time.sleep(1)
    elif mode == "answered":
        clock, inside = lookup("devices"), []

        def on_alarm(n, frame):
            inside.append(current().waiting_in_call())
            clock.sleep(seconds=0.6)   # the outer sleep (0.4 s) is answered meanwhile
        libipc.signal(signal.SIGALRM, on_alarm)
        say("ready")
        libipc.alarm(0.05)
        try:
            clock.sleep(seconds=0.4)
            say(f"returned inside {inside}")
        except IpcError as exc:
            say(f"{exc.code} inside {inside}")
    elif mode == "count":
        count = [0]
        libipc.signal(signal.SIGUSR1, lambda n, f: count.__setitem__(0, count[0] + 1))
        libipc.signal(signal.SIGUSR2, lambda n, f: say(f"count {count[0]}"))
        say("ready")
        while True:
            time.sleep(0.05)


if __name__ == "__main__":
    main()
