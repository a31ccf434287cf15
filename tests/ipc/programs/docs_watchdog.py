"""A SIGALRM watchdog, and signals between the shell and a program (docs/ipc.md).

    run docs_watchdog.py                       three watchdog cases, one line each
    mkfifo /home/ready
    run docs_watchdog.py waiter /home/ready &  catches SIGUSR1 (counts), SIGTERM (ends)
    cat /home/ready                            waits until it is ready ...
    kill -USR1 %1                              ... then signal it, and so on

1. a read that would wait for ever (a pipe whose writer we hold and never use)
   is cut short by an alarm: its handler runs inside the read, which raises
   Interrupted;
2. a computing loop (no libipc call) is stopped by an alarm whose handler
   raises: handlers also run between bytecodes;
3. an alarm cancelled with alarm(0) never comes: pause(timeout) says False.
"""

import signal
import sys
import time

import libipc

fired: list[str] = []


class Expired(Exception):
    pass


def on_alarm(signum, frame):
    fired.append(signal.Signals(signum).name)


def on_alarm_raise(signum, frame):
    raise Expired


def watchdog() -> None:
    libipc.signal(signal.SIGALRM, on_alarm)
    r, w = libipc.pipe()
    libipc.alarm(0.2)
    start = time.monotonic()
    try:
        r.read(10)
        print("read: returned?")
    except libipc.Interrupted:
        print(f"read: Interrupted by {fired} after {time.monotonic() - start >= 0.15}")

    libipc.signal(signal.SIGALRM, on_alarm_raise)
    libipc.alarm(0.2)
    n = 0
    try:
        while True:
            n += 1
    except Expired:
        print(f"loop: stopped by the alarm after {n > 0}")

    libipc.signal(signal.SIGALRM, on_alarm)
    fired.clear()
    libipc.alarm(0.2)
    libipc.alarm(0)
    print(f"cancelled: pause says {libipc.pause(timeout=0.5)}, fired {fired}")


def waiter(fifo: str) -> None:
    """Says "ready" and each "usr1 N" into the FIFO the shell reads (its `cat FIFO`
    waits for a writer: the shell's way to wait until this program is ready)."""
    got = {"USR1": 0}
    done = []

    def on_usr1(signum, frame):
        got["USR1"] += 1

    def on_term(signum, frame):
        done.append(True)

    def say(text: str) -> None:
        with libipc.open(fifo, "w") as f:
            f.write(text + "\n")

    # restart=True: a signal that comes while say() waits (in open, write or close)
    # runs its handler there and the call goes on, instead of raising Interrupted
    libipc.signal(signal.SIGUSR1, on_usr1, restart=True)
    libipc.signal(signal.SIGTERM, on_term, restart=True)
    say("waiter: ready")
    told = 0
    while not done:
        if got["USR1"] > told:
            told = got["USR1"]
            say(f"waiter: USR1 #{told}")
        else:
            libipc.pause(timeout=1.0)
    print(f"waiter: TERM after {got['USR1']} USR1")


if len(sys.argv) > 1 and sys.argv[1] == "waiter":
    waiter(sys.argv[2])
else:
    watchdog()
