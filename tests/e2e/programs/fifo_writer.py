"""Write lines into a FIFO (or file): ``fifo_writer.py PATH N`` — "line 0" … "line N-1".

libipc.open waits until a reader has the FIFO open; closing it gives the reader end of
file."""

import sys

import libipc

with libipc.open(sys.argv[1], "w") as f:
    for i in range(int(sys.argv[2])):
        print("line", i, file=f)
