"""Map PATH read-write, say "?" in byte 0, wait for "!" in byte 1, answer "+" in
byte 2 — two mappers of one file, each seeing the other's writes.
``--many PATH...``: map each read-write, write "Z" in byte 0 and exit holding them."""

import sys
import time

from libipc.mapfile import mmap

if sys.argv[1] == "--many":   # map every path, write "Z", exit holding them all
    held = [mmap(path, "r+") for path in sys.argv[2:]]
    for m in held:
        m.buf[0:1] = b"Z"
    sys.exit(0)
m = mmap(sys.argv[1], "r+")
m.buf[0:1] = b"?"
deadline = time.monotonic() + 20
while m.buf[1:2] != b"!":
    if time.monotonic() > deadline:
        sys.exit(5)
    time.sleep(0.005)
m.buf[2:3] = b"+"
m.close()
