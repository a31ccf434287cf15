"""Session of tests/servers/test_naming_gone.py: ``naming_gone.py OUT``.

SIGKILLs naming, then at once spawns a server (late_server.py) whose start —
its register — meets an empty naming slot; the server must wait for init's new
naming and register there, not die."""

from __future__ import annotations

import json
import os
import signal
import sys
import time
import traceback
from pathlib import Path

from libipc import IpcError, kernel, lookup
from libipc.naming import forget

LATE = str(Path(__file__).resolve().parent / "late_server.py")


def scenario() -> dict:
    k = kernel(10.0)
    naming = next(r for r in k.ps() if r["name"] == "naming")
    os.kill(naming["pid"], signal.SIGKILL)
    child = k.spawn(argv=[LATE], name="late", acl=["naming"])
    out = {"answer": None, "exited": None}
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline and out["answer"] is None:
        for record in k.wait():
            if record["ep"] == child["ep"]:
                out["exited"] = record["status"]
        if out["exited"] is not None:
            break
        forget("late")
        try:
            out["answer"] = lookup("late", timeout=2.0).hello()
        except IpcError as exc:
            out["last_error"] = exc.code
            time.sleep(0.05)
    out["naming_back"] = next(r["pid"] for r in k.ps() if r["name"] == "naming") != naming["pid"]
    return out


if __name__ == "__main__":
    try:
        result = scenario()
    except BaseException as exc:   # noqa: BLE001
        result = {"session_error": repr(exc), "traceback": traceback.format_exc()}
    with open(sys.argv[1], "w") as f:
        json.dump(result, f)
