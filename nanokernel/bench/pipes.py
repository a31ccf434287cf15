"""`nanokernel bench ipc`: the IPC mechanisms built as servers, next to the host's own.

    pipe-throughput  64 KiB writes from one process to another through a pipe
                     (nanokernel: the pipe server, between two user processes;
                     peers os.pipe and a FIFO made with os.mkfifo)   (MB/s)
    pipe-rtt         64 bytes there and back through two pipes      (p50/p99 µs)
    signal-rtt       a signal to a handler and one back (signals.py; peer os.kill)

The nanokernel rows come from a boot of its own (naming, console, pipe and a
session program, nanokernel/bench/pipe_session.py) that measures inside the
system, so boot time is not counted; the peers are measured in this process
with a forked child, in the same run.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from nanokernel.bench import signals
from nanokernel.bench.report import progress
from nanokernel.bench.stats import Row, failed_row, find_row, latency_row, throughput_row

TITLE = ("pipes through the pipe server vs os.pipe and os.mkfifo (MB/s, round trip); "
         "signals vs os.kill")
WRITE = 64 * 1024
SMALL = 64
TARGET = 0.5   # pipe throughput, as a fraction of os.pipe's

CONFIG = """
[servers.naming]
module = "servers.naming"
privileged = true

[servers.console]
module = "servers.console"
console = true
public = true

[servers.pipe]
module = "servers.pipe"
public = true
privileged = true

[servers.session]
path = "{session}"
args = ["{out}", "{n}", "{rtts}"]
session = true
privileged = true
calls = ["*"]
depends = ["pipe"]
"""


def run(quick: bool) -> list[Row]:
    n = (64 if quick else 256) * 1024 * 1024
    rtts = 2000 if quick else 10000
    rows = _nanokernel(n, rtts)
    for name, opener in (("os.pipe", _os_pipe), ("os.mkfifo", _fifo)):
        progress(f"   pipe-throughput {name}")
        rows.append(_host_throughput(name, opener, n))
        progress(f"   pipe-rtt {name}")
        rows.append(_host_rtt(name, opener, rtts))
    rows += signals.run(quick)
    order = {"pipe-throughput": 0, "pipe-rtt": 1, "signal-rtt": 2}
    return sorted(rows, key=lambda r: order[r.bench])


def _mb_row(peer: str, n: int, seconds: float) -> Row:
    return throughput_row("pipe-throughput", peer, -(-n // WRITE), seconds,
                          mb_per_s=round(n / seconds / 1e6, 1), write_bytes=WRITE)


# -- nanokernel ---------------------------------------------------------------------
def _nanokernel(n: int, rtts: int) -> list[Row]:
    progress("   pipe-throughput and pipe-rtt nanokernel (a boot of its own)")
    with tempfile.TemporaryDirectory(prefix="nk-bench-ipc-") as tmp:
        out, config = Path(tmp) / "result.json", Path(tmp) / "boot.toml"
        session = Path(__file__).resolve().parent / "pipe_session.py"
        config.write_text(CONFIG.format(session=session, out=out, n=n, rtts=rtts))
        cmd = [sys.executable, "-m", "nanokernel", "boot", "--config", str(config),
               "--log", str(Path(tmp) / "boot.log")]
        try:
            subprocess.run(cmd, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                           stderr=subprocess.DEVNULL, timeout=600, check=False)
            result = json.loads(out.read_text())
        except (OSError, ValueError, subprocess.TimeoutExpired) as exc:
            why = f"{type(exc).__name__}: {exc}"[:300]
            return [failed_row("pipe-throughput", "nanokernel", why),
                    failed_row("pipe-rtt", "nanokernel", why)]
    t = result["throughput"]
    return [_mb_row("nanokernel", t["bytes"], t["seconds"]),
            latency_row("pipe-rtt", "nanokernel", result["rtt_ns"], size=SMALL)]


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


def _host_throughput(name: str, opener, n: int) -> Row:
    open_r, open_w, tmp = opener()
    pid = os.fork()
    if pid == 0:   # the writer (each side closes the end it does not use)
        try:
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


def _host_rtt(name: str, opener, count: int) -> Row:
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
    nk, host = find_row(rows, "pipe-throughput", "nanokernel"), find_row(rows, "pipe-throughput",
                                                                         "os.pipe")
    lines = []
    if nk and host:
        ratio = nk.ops_per_s / host.ops_per_s
        lines.append(f"a nanokernel pipe moves {nk.extra['mb_per_s']} MB/s = {ratio:.2f}x "
                     f"os.pipe's {host.extra['mb_per_s']} MB/s (64 KiB writes)")
        lines.append(f"target  pipe-throughput >= {TARGET}x os.pipe's: {ratio:.2f}x "
                     f"({'met' if ratio >= TARGET else 'NOT met'})")
    rtt, host_rtt = find_row(rows, "pipe-rtt", "nanokernel"), find_row(rows, "pipe-rtt",
                                                                       "os.pipe")
    if rtt and host_rtt:
        lines.append(f"a 64-byte round trip through two nanokernel pipes: p50 {rtt.p50_us} µs "
                     f"= {rtt.p50_us / host_rtt.p50_us:.2f}x os.pipe's {host_rtt.p50_us} µs")
    return lines + signals.summary(rows)
