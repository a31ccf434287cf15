"""A test init for the batch path: send_many through the router's fast path.

    python -m kernel.boot batchdriver.py OUT.json
"""

from __future__ import annotations

import json
import sys
import time
from pathlib import Path

from libipc import Proxy, kernel
from libipc.runtime import current

HERE = Path(__file__).resolve().parent


def main() -> None:
    out = Path(sys.argv[1])
    k, rt = kernel(), current()
    ep = k.spawn(argv=[str(HERE / "testservers.py"), "echo"], name="echo", acl=["*"])["ep"]
    echo = Proxy(ep)
    deadline = time.monotonic() + 10
    while True:
        try:
            echo.ping(text="ready?")
            break
        except Exception:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.01)
    before = k.stats()["messages_routed"]
    rt.send_many(ep, "count", [{"text": str(i)} for i in range(5000)])
    seen = echo.sends_seen()    # the server handles its ring in order: all 5000 came first
    out.write_text(json.dumps({"seen": seen,
                               "routed": k.stats()["messages_routed"] - before}))
    k.halt(status=0)
    time.sleep(60)


if __name__ == "__main__":
    main()
