"""The workload of `nanokernel bench compare`, run inside a booted system as a user
program (`run compare_client.py OUT N`): the same operations in every mode.

For each operation it records per-call times, and — from kernel stats and
/proc — the messages routed, ring crossings and context switches per call.
"""

from __future__ import annotations

import json
import os
import sys
import time
from pathlib import Path

from libipc import kernel, lookup
from nanokernel.procfs import boot_pids, context_switches

CHUNK = 32 * 1024
K = kernel()


def measure(name: str, n: int, op, results: dict, pids: list[int]) -> None:
    lookup("fs").sync()   # start each operation with no commit pending in fs
    before = K.stats()
    cs0 = context_switches(pids)
    times = []
    for i in range(n):
        t0 = time.perf_counter_ns()
        op(i)
        times.append(time.perf_counter_ns() - t0)
    cs1 = context_switches(pids)
    after = K.stats()
    results[name] = {
        "n": n, "times_ns": times,
        "messages_per_op": (after["messages_routed"] - before["messages_routed"]) / n,
        "crossings_per_op": (after["ring_crossings"] - before["ring_crossings"] - 2) / n,
        "ctx_switches_per_op": (cs1 - cs0) / n,
    }


def main() -> None:
    out, n = sys.argv[1], int(sys.argv[2])
    fs, dev = lookup("fs"), lookup("devices")
    pids = boot_pids(int(os.environ["NK_KERNEL_PID"]))
    data4k = b"x" * 4096
    fs.mkdir(path="/bench")
    for offset in range(0, 64 * 1024, CHUNK):
        fs.write(path="/bench/big", offset=offset, data=os.urandom(CHUNK), create=True)
    dev.read(device="null", n=0)
    results: dict = {"mode": os.environ.get("NK_MODE", "process")}
    measure("null-call", n * 5, lambda i: dev.read(device="null", n=0), results, pids)
    measure("create", n, lambda i: fs.create(path=f"/bench/f{i}", exclusive=True), results, pids)
    measure("write-4k", n, lambda i: fs.write(path=f"/bench/f{i}", offset=0, data=data4k),
            results, pids)
    measure("write+sync", n, lambda i: (fs.write(path=f"/bench/f{i}", offset=0, data=b"y"),
                                        fs.sync()), results, pids)
    measure("read-4k", n, lambda i: fs.read(path=f"/bench/f{i}", offset=0, size=4096),
            results, pids)
    measure("stat", n, lambda i: fs.stat(path=f"/bench/f{i}"), results, pids)
    measure("readdir", n, lambda i: fs.readdir(path="/bench"), results, pids)
    measure("unlink", n, lambda i: fs.unlink(path=f"/bench/f{i}"), results, pids)

    def cat(_i: int) -> None:
        offset = 0
        while chunk := fs.read(path="/bench/big", offset=offset, size=CHUNK):
            offset += len(chunk)

    measure("cat-64k", n, cat, results, pids)
    Path(out).write_text(json.dumps(results))


if __name__ == "__main__":
    main()
