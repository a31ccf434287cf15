"""Append NAME to FILE K times, one open per line: ``run appender.py FILE NAME K``."""
import sys

import libipc

path, name, k = sys.argv[1], sys.argv[2], int(sys.argv[3])
for _ in range(k):
    with libipc.open(path, "a") as f:
        f.write(name + "\n")
