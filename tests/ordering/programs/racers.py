"""Print NAME K times, a line at a time: ``run racers.py NAME K``.  Two of them
in the background race for the console: whose lines come first is the order the
kernel delivered their writes in — the race a replay reproduces.  With a third
argument it also reads the clock each time (a changed program, for divergence)."""
import sys

import libipc

name, k = sys.argv[1], int(sys.argv[2])
clock = libipc.lookup("devices") if len(sys.argv) > 3 else None
for _ in range(k):
    print(name, flush=True)
    if clock is not None:
        clock.now()
