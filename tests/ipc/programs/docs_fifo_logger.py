"""A logger behind a named pipe (docs/ipc.md, Named pipes).

    mkfifo /home/log
    run docs_fifo_logger.py /home/log /home/log.txt &   collects lines until "quit"
    run docs_fifo_logger.py /home/log - WHO N           writes N lines as WHO
    ...                                                 (each writer on its own)
    echo quit > /home/log

Each writer opens the FIFO, writes its lines and closes it: the logger's read
then sees end of file, and it opens the FIFO again for the next writer (the
FIFO keeps nothing between two pipes). Each line is one write of less than
PIPE_BUF bytes, so lines from writers that overlap never mix.
"""

import sys

import libipc

fifo, out = sys.argv[1], sys.argv[2]

if out != "-":
    lines, opens = [], 0
    while "quit" not in lines:
        with libipc.open(fifo) as f:          # waits for a writer
            opens += 1
            lines += [line.rstrip("\n") for line in f]   # to end of file
    lines.remove("quit")
    with libipc.open(out, "w") as log:
        for n, line in enumerate(lines, 1):
            log.write(f"{n:3} {line}\n")
    print(f"logger: {len(lines)} lines, {opens} opens")
else:
    who, n = sys.argv[3], int(sys.argv[4])
    with libipc.open(fifo, "w") as f:         # waits for the reader
        for i in range(n):
            f.write(f"{who} says {i}\n")
            f.flush()
    print(f"{who}: wrote {n} lines")
