"""``run hold.py READY STOP [PEER...]``: a node's session stays up for a test.

Waits (a deadline, not a sleep) until this node's bridge answers and says every PEER
named is up, writes READY (JSON: the bridge's whoami and nodes), then waits until the
file STOP exists and exits 0 — the node halts."""
import json
import sys
import time
from pathlib import Path

from libipc import IpcError, lookup


def main() -> int:
    ready, stop, peers = Path(sys.argv[1]), Path(sys.argv[2]), set(sys.argv[3:])
    bridge = lookup("bridge", timeout=5.0)
    deadline = time.monotonic() + 60
    while True:
        try:
            rows = bridge.nodes()
            if peers <= {r["node"] for r in rows if r["state"] == "up"}:
                break
        except IpcError:
            pass
        if time.monotonic() > deadline:
            print(f"hold: peers {sorted(peers)} not up in 60 s", flush=True)
            return 1
        time.sleep(0.02)
    tmp = ready.with_suffix(".tmp")
    tmp.write_text(json.dumps({"whoami": bridge.whoami(), "nodes": rows}))
    tmp.rename(ready)
    deadline = time.monotonic() + 600
    while not stop.exists() and time.monotonic() < deadline:
        time.sleep(0.02)
    return 0


sys.exit(main())
