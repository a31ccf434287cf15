"""``run shell_until_restarted.py NAME@NODE SECONDS``: waits (a deadline, not a sleep)
until the counter server NAME on NODE answers ``count`` with 0 — a new process, its
count started over — and prints "restarted"; exit 1 after SECONDS (printing what it
last saw)."""
import sys
import time

from libipc import IpcError, lookup


def main() -> int:
    counter = lookup(sys.argv[1], timeout=5.0)
    deadline, seen = time.monotonic() + float(sys.argv[2]), None
    while time.monotonic() < deadline:
        try:
            seen = counter.count()
        except IpcError as exc:   # (between the old process and the new one)
            seen = exc.code
        if seen == 0:
            print("restarted")
            return 0
        time.sleep(0.02)
    print(f"not restarted: {seen}")
    return 1


sys.exit(main())
