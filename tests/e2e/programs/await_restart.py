"""Wait until server NAME runs again after a restart: ``run await_restart.py NAME [S]``.

A condition with a deadline (S seconds, 20 by default) instead of a fixed sleep:
the kernel's ps shows a running process NAME restarted at least once, and naming
has that very endpoint registered (the new server is up, not the old one's name).
Exit status 0 when it is so, 1 (and a line saying why) at the deadline.
"""
import sys
import time

from libipc import IpcError, Proxy, kernel
from libipc.naming import NAMING


def back(name: str) -> bool:
    rows = [r for r in kernel().ps()
            if r["name"] == name and r["state"] == "running" and r["restarts"] >= 1]
    if not rows:
        return False
    try:
        return Proxy(NAMING).lookup(name=name) == rows[-1]["ep"]
    except IpcError:
        return False


def main() -> int:
    name = sys.argv[1]
    deadline = time.monotonic() + (float(sys.argv[2]) if len(sys.argv) > 2 else 20.0)
    while not back(name):
        if time.monotonic() > deadline:
            print(f"await_restart: {name} did not come back")
            return 1
        time.sleep(0.02)
    return 0


sys.exit(main())
