"""The receiver of `nanokernel bench call`'s call-throughput: takes SENDs in batches.

A server's loop unpacks and dispatches every SEND in Python (call-send-throughput
measures that).  This sink is the throughput path end to end instead: the
sender puts SENDs with ``send_many``, the router forwards runs of them in one C
call, and the sink takes every waiting message per call (``Port.recv_many``) and
counts them — like the peers' sinks, which count what they read.  When it has
``N`` it tells its parent (init) with a NOTIFY and waits to be stopped.

    python -m nanokernel.bench.call_sink N
"""

from __future__ import annotations

import gc
import sys
import time

from libipc.message import SEND
from libipc.naming import INIT
from libipc.runtime import current

READY = 1 << 16   # NOTIFY bits to init: "attached, send away" …
DONE = 1 << 17    # … and "I have them all"


def main() -> None:
    n = int(sys.argv[1])
    rt = current()
    port = rt.transport
    gc.disable()
    rt.notify(INIT, READY)
    got = 0
    deadline = time.monotonic() + 120
    while got < n and time.monotonic() < deadline:
        got += sum(1 for m in port.recv_many(1.0) if m.kind == SEND)
    rt.notify(INIT, DONE)
    time.sleep(60)   # until the halt


if __name__ == "__main__":
    main()
