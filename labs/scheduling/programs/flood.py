"""flood TOTAL BATCH PAD STAMPS [WAIT...] — a flooder (labs/scheduling's grader).

Sends TOTAL SENDs to sink, BATCH per send_many, each with PAD bytes of ballast;
after each batch is in this process's ring, notes "SENT TIME" (time.time()) in the
host file STAMPS: the message numbered SENT-1 was waiting in the ring from TIME on.
It starts once the files WAIT... exist (the others are running) and first makes
STAMPS with the suffix .ready itself; at the end, STAMPS and the suffix .done.
"""

import sys
import time
from pathlib import Path

from libipc import lookup
from libipc.runtime import current

WAIT_FOR_OTHERS = 20.0   # seconds


def main() -> None:
    total, batch, pad = int(sys.argv[1]), int(sys.argv[2]), "x" * int(sys.argv[3])
    stamps = Path(sys.argv[4])
    others = [Path(p) for p in sys.argv[5:]]
    sink, runtime = lookup("sink").endpoint, current()
    stamps.with_suffix(".ready").touch()
    deadline = time.monotonic() + WAIT_FOR_OTHERS
    while not all(p.exists() for p in others):
        if time.monotonic() > deadline:
            sys.exit(f"flood: {[str(p) for p in others]} never appeared")
        time.sleep(0.002)
    lines, sent = [], 0
    while sent < total:
        n = min(batch, total - sent)
        runtime.send_many(sink, "eat", [{"seq": sent + i, "pad": pad} for i in range(n)])
        sent += n
        lines.append(f"{sent} {time.time()!r}")
    stamps.write_text("\n".join(lines) + "\n")
    stamps.with_suffix(".done").touch()
    print(f"flooded {sent}")


main()
