"""``run hang.py NAME``: SIGSTOP server NAME, then wait (a deadline, not a sleep) for
init to have found it hung and restarted it; print how long that took."""
import os
import signal
import sys
import time

from libipc import IpcError, Proxy, kernel
from libipc.naming import NAMING


def row(name: str, restarted: bool) -> dict | None:
    return next((r for r in kernel().ps() if r["name"] == name and r["state"] == "running"
                 and (r["restarts"] >= 1) == restarted), None)


def main() -> int:
    name = sys.argv[1]
    pid = row(name, restarted=False)["pid"]
    t0 = time.monotonic()
    os.kill(pid, signal.SIGSTOP)
    deadline = t0 + 20
    while time.monotonic() < deadline:
        new = row(name, restarted=True)
        try:
            if new is not None and Proxy(NAMING).lookup(name=name) == new["ep"]:
                print(f"{name} back after {time.monotonic() - t0:.1f} s")
                return 0
        except IpcError:
            pass
        time.sleep(0.02)
    print(f"hang: {name} was not restarted")
    return 1


sys.exit(main())
