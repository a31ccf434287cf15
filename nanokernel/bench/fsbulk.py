"""`bench ipc`'s fs-read-64m: a whole 64 MiB file read in one call, by grant (MB/s).

    nanokernel  ``libipc.open(path, "rb").read()`` of a 64 MiB file in a boot of its
                own (fsbulk_session.py) on a disk image: one fs call, whose bytes fs
                reads into a region the reader granted it — block's window in
                between, no data in any message (servers/fs/bulk.py)
    host-open   ``open(path, "rb").read()`` of a 64 MiB host file, in this process
Both files are read once before the clock (the host's page cache holds both the
image and the file); each is timed over the whole read, best of ROUNDS.
Target: fs-read-64m >= 0.25x host-open's.
"""

from __future__ import annotations

import os
import tempfile
import time

from nanokernel.bench.report import progress
from nanokernel.bench.session_boot import SessionFailed, run_session
from nanokernel.bench.stats import Row, failed_row, find_row, throughput_row

TARGET = 0.25
SIZE = 64 << 20
ROUNDS = 5
DISK = "96M"   # the file, its index blocks and the log, with room to spare


def run(quick: bool) -> list[Row]:
    progress("   fs-read-64m nanokernel (a boot of its own, on a disk image)")
    rows = [_nanokernel()]
    progress("   fs-read-64m host-open")
    rows.append(_host())
    return rows


def _row(peer: str, seconds: float) -> Row:
    return throughput_row("fs-read-64m", peer, 1, seconds,
                          mb_per_s=round(SIZE / seconds / 1e6, 1), bytes=SIZE)


def _nanokernel() -> Row:
    from servers.fs.mkfs import mkfs
    with tempfile.TemporaryDirectory(prefix="nk-bench-disk-") as tmp:
        image = os.path.join(tmp, "disk.img")
        mkfs(image, DISK)
        try:
            result = run_session("fsbulk_session.py", [SIZE, ROUNDS], servers=("block", "fs"),
                                 boot_args=("--disk", image), calls={"fs": ["block"]})
            return _row("nanokernel", result["seconds"])
        except (SessionFailed, KeyError) as exc:
            return failed_row("fs-read-64m", "nanokernel", str(exc))


def _host() -> Row:
    with tempfile.NamedTemporaryFile(prefix="nk-bench-") as f:
        f.write(pattern(SIZE))
        f.flush()
        best = None
        for i in range(ROUNDS + 1):   # (the first: the page cache's)
            t0 = time.perf_counter()
            with open(f.name, "rb") as g:
                data = g.read()
            seconds = time.perf_counter() - t0
            if len(data) != SIZE:
                return failed_row("fs-read-64m", "host-open", f"read {len(data)} bytes")
            del data
            if i:
                best = seconds if best is None else min(best, seconds)
    return _row("host-open", best)


def pattern(size: int) -> bytes:
    """The file both sides read: every 4 KiB block different."""
    return b"".join(i.to_bytes(4, "little") * 1024 for i in range(size // 4096))


def summary(rows: list[Row]) -> list[str]:
    nk, host = find_row(rows, "fs-read-64m", "nanokernel"), \
        find_row(rows, "fs-read-64m", "host-open")
    if not (nk and host):
        return []
    ratio = nk.extra["mb_per_s"] / host.extra["mb_per_s"]
    return [f"a 64 MiB file in one fs read by grant: {nk.extra['mb_per_s']} MB/s = "
            f"{ratio:.2f}x a host file's {host.extra['mb_per_s']} MB/s",
            f"target  fs-read-64m >= {TARGET}x host-open's: {ratio:.2f}x "
            f"({'met' if ratio >= TARGET else 'NOT met'})"]
