"""An unprivileged client the kernel tests spawn: ``testclient.py ACTION OUT [ARGS]``.

Writes ``{"ok": result}`` or ``{"error": code, "elapsed": s}`` as JSON to OUT.
"""

from __future__ import annotations

import json
import sys
import time

from libipc import IpcError, Proxy, kernel
from libipc.runtime import current


def act(action: str, args: list[str]):
    if action == "call":            # call EP OP [JSON-ARGS]
        ep, op = int(args[0]), args[1]
        kwargs = json.loads(args[2]) if len(args) > 2 else {}
        return Proxy(ep).call(op, **kwargs)
    if action == "spawn":           # a privileged kernel call
        return kernel().spawn(argv=["-c", "pass"], name="sneaky")
    if action == "flood":           # SEND to EP as fast as possible for SECONDS
        ep, seconds = int(args[0]), float(args[1])
        rt, n, end = current(), 0, time.monotonic() + seconds
        while time.monotonic() < end:
            rt.send(ep, "count", {"text": "x" * 64})
            n += 1
        return n
    raise SystemExit(f"unknown action {action}")


def main() -> None:
    action, out = sys.argv[1], sys.argv[2]
    t0 = time.monotonic()
    try:
        result = {"ok": act(action, sys.argv[3:])}
    except IpcError as exc:
        result = {"error": exc.code, "message": exc.message}
    result["elapsed"] = time.monotonic() - t0
    with open(out, "w") as f:
        json.dump(result, f)


if __name__ == "__main__":
    main()
