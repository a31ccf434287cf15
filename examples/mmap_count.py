"""Two processes count in one memory-mapped file (docs/ipc.md).

    run examples/mmap_count.py init /home/counter          a file of 8 zero bytes
    run examples/mmap_count.py add /home/counter N &       (twice: two counters at once)
    run examples/mmap_count.py show /home/counter          what the file holds

Every mapper of a file maps the same memory, so the two adders see each other's
increments at once; a semaphore makes each read-add-write one step. The last
mapper's close writes the counter back to the file, which `show` reads with
libipc.open (not a mapping).
"""

import struct
import sys

import libipc
from libipc import Semaphore

mode, path = sys.argv[1], sys.argv[2]

if mode == "init":
    with libipc.open(path, "wb") as f:       # a file of 0 bytes cannot be mapped
        f.write(bytes(8))
    Semaphore("/counter", create=True, initial=1)
    print("init: 0")
elif mode == "add":
    n = int(sys.argv[3])
    lock = Semaphore("/counter")
    with libipc.mmap(path, "r+") as m:
        for _ in range(n):
            with lock:
                (value,) = struct.unpack_from("<q", m.buf, 0)
                struct.pack_into("<q", m.buf, 0, value + 1)
        m.flush()
    print(f"add: {n} done")
else:
    with libipc.open(path, "rb") as f:
        print(f"show: {struct.unpack('<q', f.read())[0]}")
    Semaphore("/counter").unlink()
