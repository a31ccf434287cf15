"""``run hang_dependency.py DEP SERVER``: SIGSTOP server DEP, SIGKILL SERVER (which
depends on DEP), and wait — a deadline, not a sleep — until both are back: DEP found
hung and restarted by init, SERVER restarted once and registered.  Prints one line
with SERVER's restart count (1 when init left the new SERVER alone while DEP hung)."""
import os
import signal
import sys
import time

from libipc import IpcError, Proxy, kernel
from libipc.naming import NAMING


def row(name: str) -> dict | None:
    return next((r for r in kernel().ps() if r["name"] == name and r["state"] == "running"),
                None)


def registered(name: str, old_pid: int) -> dict | None:
    new = row(name)
    try:
        if new is not None and new["pid"] != old_pid \
                and Proxy(NAMING).lookup(name=name) == new["ep"]:
            return new
    except IpcError:
        pass
    return None


def main() -> int:
    dep, server = sys.argv[1], sys.argv[2]
    dep_pid, server_row = row(dep)["pid"], row(server)
    t0 = time.monotonic()
    os.kill(dep_pid, signal.SIGSTOP)
    os.kill(server_row["pid"], signal.SIGKILL)   # (from the host: a user program
                                                  # is not privileged to kill servers)
    deadline = t0 + 30
    while time.monotonic() < deadline:
        back_dep, back = registered(dep, dep_pid), registered(server, server_row["pid"])
        if back_dep is not None and back is not None:
            print(f"{server} back after {time.monotonic() - t0:.1f} s, restarted "
                  f"{back['restarts'] - server_row['restarts']} time(s)")
            return 0
        time.sleep(0.02)
    print(f"hang_dependency: {dep} or {server} not back")
    return 1


sys.exit(main())
