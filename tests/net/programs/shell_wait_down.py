"""``run shell_wait_down.py MARK NODE``: writes the host file MARK (the test then kills
NODE), then waits — a deadline, not a sleep — until this node's bridge says NODE is
not up, and prints "NODE is STATE"; exit 1 if it stays up for 60 s."""
import sys
import time
from pathlib import Path

import libipc


def main() -> int:
    mark, node = Path(sys.argv[1]), sys.argv[2]
    mark.write_text("waiting")
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        row = next(r for r in libipc.nodes() if r["node"] == node)
        if row["state"] != "up":
            print(f"{node} is {row['state']}")
            return 0
        time.sleep(0.02)
    print(f"{node} still up after 60 s")
    return 1


sys.exit(main())
