"""semctl TAG NAME STEP... — call the labsem server one step at a time (a user program).

    run semctl.py me /s create:2 down down down:0.5 up value

Each STEP prints one line, ``TAG: STEP -> RESULT`` (the reply as JSON) or
``TAG: STEP -> CODE`` (the error's code), so two programs' lines can be told apart:
    create[:VALUE]     create(name, value=VALUE or 0)
    up[:N]             up(name, n=N or 1)
    down[:TIMEOUT]     down(name, timeout=TIMEOUT or None: as long as it takes)
    value | stat       value(name) | stat(name)
    waiters:N          poll stat until N downs wait (10 s at most, else Timeout)
The exit status is 0 when every step was answered without an error, else 1.
"""

import json
import sys
import time

from libipc import IpcError, Timeout, lookup

POLL_S = 10.0


def step(sem, name: str, text: str) -> object:
    op, _, arg = text.partition(":")
    if op == "create":
        return sem.create(name=name, value=int(arg or 0))
    if op == "up":
        return sem.up(name=name, n=int(arg or 1))
    if op == "down":
        return sem.down(name=name, timeout=float(arg) if arg else None)
    if op in ("value", "stat"):
        return sem.call(op, name=name)
    if op == "waiters":
        return wait_for_waiters(sem, name, int(arg))
    raise SystemExit(f"semctl: unknown step {text!r} (see the usage in semctl.py)")


def wait_for_waiters(sem, name: str, n: int) -> int:
    deadline = time.monotonic() + POLL_S
    while (now := sem.stat(name=name)["waiters"]) != n:
        if time.monotonic() > deadline:
            raise Timeout(f"waiters stayed at {now}, not {n}, for {POLL_S} s")
        time.sleep(0.02)
    return now


def main() -> int:
    if len(sys.argv) < 4:
        print("usage: semctl TAG NAME STEP...")
        return 2
    tag, name, steps = sys.argv[1], sys.argv[2], sys.argv[3:]
    sem = lookup("labsem").with_timeout(30)   # (a bound, should labsem never answer)
    status = 0
    for text in steps:
        try:
            result = step(sem, name, text)
        except IpcError as exc:
            print(f"{tag}: {text} -> {exc.code}", flush=True)
            status = 1
        else:
            print(f"{tag}: {text} -> {json.dumps(result)}", flush=True)
    return status


sys.exit(main())
