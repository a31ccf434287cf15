"""waiter — the reincarnation grader's server: wait until init reports a state.

The grader's boot configuration runs it (calls = ["init"]: a user program may not
call init) and the shell asks it, from the test's commands:

    call waiter until '{"name": "crashy", "seconds": 20, "conds": ["state=failed"]}'

Each of ``conds`` is one or more of ``state=S`` and ``restarts=N`` (at least N
restarts) joined by commas, all of which must hold; the wait ends at the first
that holds, or after ``seconds``.  It asks init's ``status`` (as the shell's
`status` does) every 50 ms and replies {"name", "state", "restarts", "met"}.
It blocks while it waits (it serves the grader's shell only; boot.toml turns its
heartbeat off).
"""

import time

from libipc import IpcError, Proxy, Server, op
from libipc.naming import INIT

POLL_S = 0.05


class Waiter(Server):
    name = "waiter"

    @op
    def until(self, ctx, name: str, seconds: float, conds: list[str]) -> dict:
        deadline = time.monotonic() + float(seconds)
        while True:
            r = row(name)
            met = any(holds(r, c) for c in conds)
            if met or time.monotonic() > deadline:
                return {"name": name, "state": r["state"], "restarts": r["restarts"],
                        "met": met}
            time.sleep(POLL_S)


def row(name: str) -> dict:
    try:
        rows = Proxy(INIT).status()
    except IpcError as exc:   # (init busy: the next poll asks again)
        return {"state": f"unknown ({exc})", "restarts": 0}
    return next((r for r in rows if r["name"] == name), {"state": "unknown", "restarts": 0})


def holds(r: dict, cond: str) -> bool:
    for part in cond.split(","):
        key, _, want = part.partition("=")
        if key == "state" and r["state"] != want:
            return False
        if key == "restarts" and r["restarts"] < int(want):
            return False
    return True


if __name__ == "__main__":
    Waiter.main()
