"""Wait for SIGUSR1, say so, exit 0: ``run usr1.py FIFO``.

It installs its handler first, then says "ready" through the FIFO (whose open
waits for the reader), so a ``cat FIFO`` in the shell returns only once the
handler is in place: ``kill -USR1`` after it always finds it.
"""
import signal
import sys

import libipc

got = []
libipc.signal(signal.SIGUSR1, lambda signum, frame: got.append(signum))
with libipc.open(sys.argv[1], "w") as fifo:
    fifo.write("ready\n")
while not got:
    libipc.pause()
print(f"got {signal.Signals(got[0]).name}")
