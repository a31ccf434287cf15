"""`nanokernel bench ipc`: the IPC mechanisms built as servers, next to the host's own.

    pipe-throughput  64 KiB writes from one process to another through a pipe
                     (nanokernel: the pipe server, between two user processes;
                     peers os.pipe and a FIFO made with os.mkfifo)   (MB/s)
    pipe-rtt         64 bytes there and back through two pipes      (p50/p99 µs)
    signal-rtt       a signal to a handler and one back (signals.py; peer os.kill)
    shm-bulk         64 MiB from one process to another by grant (shm.py; peer os.pipe)
    fs-read-64m      a 64 MiB file read in one fs call by grant (fsbulk.py; peer a host
                     file read with open())
    sem-pingpong     two semaphores between two processes (semmq.py; peers posix_ipc,
                     multiprocessing)
    mq-throughput    64-byte messages through a message queue (semmq.py; same peers)
    socket-throughput, socket-rtt  a stream through the net server (sockets.py; peer an
                     AF_UNIX socketpair)

Two nanokernel peers: ``nanokernel``, the ends mapping the pipe's region (what
libipc.pipe does), and ``nanokernel-calls``, the same pipes with every byte in
read/write calls to the pipe server (libipc.pipe.MAP_REGIONS = False: the
fallback, and the design the region replaced) — measured side by side.

The pipe rows are measured under each CPU placement of placement.py, the
shape being the two ends (reader, writer): ``free`` (nothing pinned),
``one-cpu`` (the whole boot, or both host processes, on one CPU), ``split``
(the reader on one CPU, the writer on another; the kernel and the pipe server
unpinned).  The target holds only if it holds under each.

The nanokernel rows come from a boot of its own per placement (naming,
console, pipe and a session program, nanokernel/bench/pipe_session.py) that
measures inside the system, so boot time is not counted; the peers are
measured in this process with a forked child, in the same run.
"""

from __future__ import annotations

import os
import tempfile
import time

from nanokernel.bench import fsbulk, semmq, shm, signals, sockets
from nanokernel.bench.placement import FREE, ONE_CPU, Placement, choose_placements, pin, pinned
from nanokernel.bench.report import progress
from nanokernel.bench.session_boot import SessionFailed, run_session
from nanokernel.bench.stats import (
    Row,
    failed_row,
    find_row,
    latency_row,
    skipped_row,
    throughput_row,
)

TITLE = ("pipes through the pipe server vs os.pipe and os.mkfifo (MB/s, round trip); "
         "signals vs os.kill")
WRITE = 64 * 1024
SMALL = 64
TARGET = 0.5   # pipe throughput, as a fraction of os.pipe's

NK_PEERS = ("nanokernel", "nanokernel-calls")   # the region; read/write calls
HOST_PEERS = ("os.pipe", "os.mkfifo")
PIPE_BENCHES = ("pipe-throughput", "pipe-rtt")


def run(quick: bool) -> list[Row]:
    n = (64 if quick else 256) * 1024 * 1024
    rtts = 2000 if quick else 10000
    rows: list[Row] = []
    placements = choose_placements()
    for placement in placements:
        reason = placement.skip_reason(2)
        if reason:   # (split on a machine with one usable CPU)
            rows += [skipped_row(b, p, reason, placement=placement.name)
                     for b in PIPE_BENCHES for p in (*NK_PEERS, *HOST_PEERS)]
            continue
        rows += _placed(placement, _nanokernel(n, rtts, placement))
        layout = placement.layout(2)   # [reader's CPUs, writer's CPUs], None when free
        for name, opener in (("os.pipe", _os_pipe), ("os.mkfifo", _fifo)):
            progress(f"   pipe-throughput {placement.name} {name}")
            rows += _placed(placement, [_host_throughput(name, opener, n, layout)])
            progress(f"   pipe-rtt {placement.name} {name}")
            rows += _placed(placement, [_host_rtt(name, opener, rtts, layout)])
    rows += signals.run(quick)
    rows += shm.run(quick)
    rows += fsbulk.run(quick)
    rows += semmq.run(quick)
    rows += sockets.run(quick)
    order = {"pipe-throughput": 0, "pipe-rtt": 1, "signal-rtt": 2, "shm-bulk": 3,
             "fs-read-64m": 4, "sem-pingpong": 5, "mq-throughput": 6, "socket-throughput": 7,
             "socket-rtt": 8}
    where = {p.name: i for i, p in enumerate(placements)}
    return sorted(rows, key=lambda r: (order[r.bench], where.get(r.placement or FREE, 0)))


def _placed(placement: Placement, rows: list[Row]) -> list[Row]:
    for row in rows:
        row.extra["placement"] = placement.name
    return rows


def _mb_row(peer: str, n: int, seconds: float) -> Row:
    return throughput_row("pipe-throughput", peer, -(-n // WRITE), seconds,
                          mb_per_s=round(n / seconds / 1e6, 1), write_bytes=WRITE)


# -- nanokernel ---------------------------------------------------------------------
def _nanokernel(n: int, rtts: int, placement: Placement) -> list[Row]:
    """Both nanokernel peers under ``placement``, from one boot: one-cpu pins the boot
    (every process inherits it); split has the session pin itself (the reader) and
    the child it spawns (the writer) each to its CPU."""
    progress(f"   pipe-throughput and pipe-rtt {placement.name} nanokernel (a boot of its own)")
    layout = placement.layout(2)
    cpus = "-" if placement.name in (FREE, ONE_CPU) else \
        ":".join(",".join(map(str, sorted(c))) for c in layout)
    try:
        result = run_session("pipe_session.py", [n, rtts, cpus], servers=("pipe",),
                             timeout=600,
                             cpus=layout[0] if placement.name == ONE_CPU else None)
    except SessionFailed as exc:
        return [failed_row(b, p, str(exc)) for b in PIPE_BENCHES for p in NK_PEERS]
    rows = []
    for peer, path in zip(NK_PEERS, ("region", "calls"), strict=True):
        t = result[path]["throughput"]
        rows += [_mb_row(peer, t["bytes"], t["seconds"]),
                 latency_row("pipe-rtt", peer, result[path]["rtt_ns"], size=SMALL)]
    return rows


# -- the host's pipes -----------------------------------------------------------------
def _os_pipe():
    r, w = os.pipe()
    return (lambda: (os.close(w), r)[1]), (lambda: (os.close(r), w)[1]), None


def _fifo():
    tmp = tempfile.mkdtemp(prefix="nk-fifo-")
    paths = [os.path.join(tmp, "a"), os.path.join(tmp, "b")]
    os.mkfifo(paths[0])
    # Each side opens its end after the fork (an open blocks until the other end opens).
    return (lambda: os.open(paths[0], os.O_RDONLY)), (lambda: os.open(paths[0], os.O_WRONLY)), \
        tmp


def _host_throughput(name: str, opener, n: int, layout: list | None) -> Row:
    with pinned(layout[0] if layout else None):   # the reader (this process), the writer
        return _host_throughput_here(name, opener, n, layout)


def _host_throughput_here(name: str, opener, n: int, layout: list | None) -> Row:
    open_r, open_w, tmp = opener()
    pid = os.fork()
    if pid == 0:   # the writer (each side closes the end it does not use)
        try:
            if layout:
                pin(0, layout[1])
            w = open_w()
            block = b"x" * WRITE
            os.write(w, time.monotonic_ns().to_bytes(8, "little"))
            sent = 0
            while sent < n:
                sent += os.write(w, block[:min(WRITE, n - sent)])
        finally:
            os._exit(0)
    r = open_r()
    stamp = os.read(r, 8)
    got = 0
    while data := os.read(r, 1 << 20):
        got += len(data)
    seconds = (time.monotonic_ns() - int.from_bytes(stamp, "little")) / 1e9
    os.waitpid(pid, 0)
    _cleanup(r, tmp)
    return _mb_row(name, got, seconds)


def _host_rtt(name: str, opener, count: int, layout: list | None) -> Row:
    with pinned(layout[0] if layout else None):   # the timing side here, the echo child
        return _host_rtt_here(name, opener, count, layout)


def _host_rtt_here(name: str, opener, count: int, layout: list | None) -> Row:
    if name == "os.pipe":
        (r1, w1), (r2, w2) = os.pipe(), os.pipe()
        open_child = lambda: (r1, w2)   # noqa: E731
        open_parent = lambda: (r2, w1)  # noqa: E731
        tmp = None
    else:
        tmp = tempfile.mkdtemp(prefix="nk-fifo-")
        a, b = os.path.join(tmp, "a"), os.path.join(tmp, "b")
        os.mkfifo(a)
        os.mkfifo(b)
        open_child = lambda: (os.open(a, os.O_RDONLY), os.open(b, os.O_WRONLY))   # noqa: E731
        open_parent = lambda: (os.open(b, os.O_RDONLY), os.open(a, os.O_WRONLY))  # noqa: E731
    pid = os.fork()
    if pid == 0:
        try:
            if layout:
                pin(0, layout[1])
            if name == "os.pipe":
                os.close(r2)
                os.close(w1)
            cr, cw = open_child()
            for _ in range(count):
                os.write(cw, os.read(cr, SMALL))
        finally:
            os._exit(0)
    if name == "os.pipe":
        os.close(r1)
        os.close(w2)
        pr, pw = open_parent()
    else:   # open order matches the child's: a (write) first would wait for its reader
        pw = os.open(a, os.O_WRONLY)
        pr = os.open(b, os.O_RDONLY)
    msg, samples = b"m" * SMALL, []
    for _ in range(count):
        t = time.perf_counter_ns()
        os.write(pw, msg)
        os.read(pr, SMALL)
        samples.append(time.perf_counter_ns() - t)
    os.waitpid(pid, 0)
    _cleanup(pr, tmp)
    os.close(pw)
    return latency_row("pipe-rtt", name, samples, size=SMALL)


def _cleanup(fd: int, tmp: str | None) -> None:
    os.close(fd)
    if tmp is not None:
        for f in os.listdir(tmp):
            os.unlink(os.path.join(tmp, f))
        os.rmdir(tmp)


def summary(rows: list[Row]) -> list[str]:
    lines, ratios = [], {}
    for where in dict.fromkeys(r.placement for r in rows if r.bench == "pipe-throughput"):
        host = find_row(rows, "pipe-throughput", "os.pipe", where)
        for peer in NK_PEERS:
            nk = find_row(rows, "pipe-throughput", peer, where)
            if nk and host:
                ratio = nk.ops_per_s / host.ops_per_s
                if peer == NK_PEERS[0]:
                    ratios[where] = ratio
                lines.append(f"{where:<8} {peer} pipe: {nk.extra['mb_per_s']} MB/s = "
                             f"{ratio:.2f}x os.pipe's {host.extra['mb_per_s']} MB/s "
                             f"(64 KiB writes)")
        rtt, host_rtt = find_row(rows, "pipe-rtt", "nanokernel", where), \
            find_row(rows, "pipe-rtt", "os.pipe", where)
        if rtt and host_rtt:
            lines.append(f"{where:<8} a 64-byte round trip through two nanokernel pipes: p50 "
                         f"{rtt.p50_us} µs = {rtt.p50_us / host_rtt.p50_us:.2f}x os.pipe's "
                         f"{host_rtt.p50_us} µs")
    if ratios:
        met = all(x >= TARGET for x in ratios.values())
        each = ", ".join(f"{where} {x:.2f}x" for where, x in ratios.items())
        lines.append(f"target  pipe-throughput >= {TARGET}x os.pipe's under every placement: "
                     f"{each} ({'met' if met else 'NOT met'})")
    return lines + signals.summary(rows) + shm.summary(rows) + fsbulk.summary(rows) \
        + semmq.summary(rows) \
        + sockets.summary(rows)
