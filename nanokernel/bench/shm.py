"""`bench ipc`'s shm-bulk: bytes from one process to another by grant (MB/s).

    nanokernel  N bytes the session wrote into a region (libipc.shm) are granted to a
                child that maps it and reads a byte of every page: the bytes are
                then in the child's memory, uncopied (shm_session.py, a boot of its
                own).  Timed from the grant: the producer's bytes are where the
                consumer reads them before the clock, as the pipe writer's are in
                its buffer — writing in place is what shared memory is for
    nanokernel-copy-in  the same, the bytes first copied into the region from a
                buffer of the session's inside the clock (one copy at memory speed
                on top: the figure for a producer that cannot write in place)
    os.pipe     the same N bytes through a host pipe, 1 MiB writes, the child
                reading them into a buffer it has (its pages touched before)
Each is timed from the first byte written to the reader's answer.
Best of three rounds each.  Target: shm-bulk >= 5x os.pipe's.
"""

from __future__ import annotations

import os
import time

from nanokernel.bench.report import progress
from nanokernel.bench.session_boot import SessionFailed, run_session
from nanokernel.bench.stats import Row, failed_row, find_row, throughput_row

TARGET = 5.0
CHUNK = 1 << 20
ROUNDS = 3
def run(quick: bool) -> list[Row]:
    n = 64 << 20
    progress("   shm-bulk nanokernel (a boot of its own)")
    rows = _nanokernel(n)
    progress("   shm-bulk os.pipe")
    rows.append(_host(n))
    return rows


def _row(peer: str, n: int, seconds: float) -> Row:
    return throughput_row("shm-bulk", peer, 1, seconds, mb_per_s=round(n / seconds / 1e6, 1),
                          bytes=n)


def _nanokernel(n: int) -> list[Row]:
    try:
        result = run_session("shm_session.py", [n], servers=("pipe",))
        return [_row("nanokernel", result["bytes"], result["seconds"]),
                _row("nanokernel-copy-in", result["bytes"], result["copy_in_seconds"])]
    except (SessionFailed, KeyError) as exc:
        return [failed_row("shm-bulk", peer, str(exc))
                for peer in ("nanokernel", "nanokernel-copy-in")]


def _host(n: int) -> Row:
    payload = bytes(range(256)) * (n // 256)
    best = None
    for _ in range(ROUNDS):
        r, w = os.pipe()
        ready_r, ready_w = os.pipe()
        if pid := os.fork():
            os.close(ready_w)
        else:
            got = 0
            try:
                os.close(w)
                os.close(ready_r)
                buf = bytearray(n)        # the reader's buffer, its pages touched first
                buf[::4096] = bytes(len(range(0, n, 4096)))
                view = memoryview(buf)
                os.write(ready_w, b"r")
                while got < n and (k := os.readv(r, [view[got:got + CHUNK]])):
                    got += k
            finally:
                os._exit(0 if got == n else 1)
        os.read(ready_r, 1)
        os.close(ready_r)
        os.close(r)
        t0 = time.perf_counter()
        view = memoryview(payload)
        for i in range(0, n, CHUNK):
            os.write(w, view[i:i + CHUNK])
        os.close(w)
        _, status = os.waitpid(pid, 0)
        seconds = time.perf_counter() - t0
        if status != 0:
            return failed_row("shm-bulk", "os.pipe", "the child did not get every byte")
        best = seconds if best is None else min(best, seconds)
    return _row("os.pipe", n, best)


def summary(rows: list[Row]) -> list[str]:
    nk, host = find_row(rows, "shm-bulk", "nanokernel"), find_row(rows, "shm-bulk", "os.pipe")
    if not (nk and host):
        return []
    ratio = nk.extra["mb_per_s"] / host.extra["mb_per_s"]
    lines = [f"64 MiB by grant: {nk.extra['mb_per_s']} MB/s = {ratio:.2f}x os.pipe's "
             f"{host.extra['mb_per_s']} MB/s"]
    copy_in = find_row(rows, "shm-bulk", "nanokernel-copy-in")
    if copy_in and copy_in.extra.get("mb_per_s"):
        lines.append(f"64 MiB by grant, copied into the region first: "
                     f"{copy_in.extra['mb_per_s']} MB/s = "
                     f"{copy_in.extra['mb_per_s'] / host.extra['mb_per_s']:.2f}x os.pipe's")
    return lines + [f"target  shm-bulk >= {TARGET}x os.pipe's: {ratio:.2f}x "
                    f"({'met' if ratio >= TARGET else 'NOT met'})"]
