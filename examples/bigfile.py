"""A big file written and read back in one fs call each (docs/ipc.md, Bulk data by grant).

    run examples/bigfile.py /home/big 8        8 MiB (the default disk holds ~28)

A read or write of 256 KiB or more goes through a shared-memory region this
program grants to fs, not through messages: one fs call each. The kernel's
count of messages routed shows what is behind them: the read is a few block
calls (4 MiB each, through block's window); the write is the log's work — fs
commits it in groups of 64 blocks, each a few block calls — so its messages
grow with the file, but none carries data. 60 KiB messages would need some
280 calls for 8 MiB of data each way.
"""

import hashlib
import sys
import time

import libipc

path, mib = sys.argv[1], int(sys.argv[2]) if len(sys.argv) > 2 else 8
data = bytes(range(256)) * (mib << 12)   # mib MiB
kernel = libipc.kernel()


def routed() -> int:
    return kernel.stats()["messages_routed"]


before = routed()
t0 = time.perf_counter()
with libipc.open(path, "wb") as f:
    f.write(data)
    f.sync()
t1 = time.perf_counter()
written = routed()
with libipc.open(path, "rb") as f:
    back = f.read()
t2 = time.perf_counter()
read = routed()
same = hashlib.sha256(back).digest() == hashlib.sha256(data).digest()
print(f"wrote {mib} MiB in {1e3 * (t1 - t0):.0f} ms with its sync "
      f"({written - before - 1} messages routed, fs and block included)")
print(f"read it back in {1e3 * (t2 - t1):.0f} ms, {len(back) / (t2 - t1) / 1e6:.0f} MB/s "
      f"({read - written - 1} messages routed)")
print(f"same bytes: {'yes' if same else 'NO'}")
