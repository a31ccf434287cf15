"""`bench ipc`'s signal-rtt: a signal to a handler and a signal back (p50/p99 µs).

    nanokernel  libipc.kill(child, SIGUSR1) → the kernel → the child's handler,
                which libipc.kill()s SIGUSR2 back → the session's handler
                (a boot of its own: nanokernel/bench/signal_session.py)
    os.kill     the same between two host processes: the child's Python handler
                os.kill()s SIGUSR2 back, the parent takes it with sigwait
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from nanokernel.bench.report import progress
from nanokernel.bench.stats import Row, failed_row, find_row, latency_row

CONFIG = """
[servers.naming]
module = "servers.naming"
privileged = true

[servers.console]
module = "servers.console"
console = true
public = true

[servers.session]
path = "{session}"
args = ["{out}", "{count}"]
session = true
privileged = true
calls = ["*"]
"""


def run(quick: bool) -> list[Row]:
    count = 1000 if quick else 5000
    progress("   signal-rtt nanokernel (a boot of its own)")
    rows = [_nanokernel(count)]
    progress("   signal-rtt os.kill")
    rows.append(_host(count))
    return rows


def _nanokernel(count: int) -> Row:
    with tempfile.TemporaryDirectory(prefix="nk-bench-signal-") as tmp:
        out, config = Path(tmp) / "result.json", Path(tmp) / "boot.toml"
        session = Path(__file__).resolve().parent / "signal_session.py"
        config.write_text(CONFIG.format(session=session, out=out, count=count))
        cmd = [sys.executable, "-m", "nanokernel", "boot", "--config", str(config),
               "--log", str(Path(tmp) / "boot.log")]
        try:
            subprocess.run(cmd, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                           stderr=subprocess.DEVNULL, timeout=300, check=False)
            samples = json.loads(out.read_text())["rtt_ns"]
        except (OSError, ValueError, KeyError, subprocess.TimeoutExpired) as exc:
            return failed_row("signal-rtt", "nanokernel", f"{type(exc).__name__}: {exc}"[:300])
    return latency_row("signal-rtt", "nanokernel", samples, size=0)


def _host(count: int) -> Row:
    parent = os.getpid()
    signal.pthread_sigmask(signal.SIG_BLOCK, {signal.SIGUSR2})   # sigwait takes it
    ready_r, ready_w = os.pipe()
    pid = os.fork()
    if pid == 0:
        try:
            signal.signal(signal.SIGUSR1, lambda n, f: os.kill(parent, signal.SIGUSR2))
            os.close(ready_r)
            os.write(ready_w, b"r")
            while True:
                signal.pause()
        finally:
            os._exit(0)
    os.close(ready_w)
    os.read(ready_r, 1)
    os.close(ready_r)
    samples = []
    try:
        for _ in range(count):
            t = time.perf_counter_ns()
            os.kill(pid, signal.SIGUSR1)
            if signal.sigtimedwait({signal.SIGUSR2}, 5.0) is None:
                return failed_row("signal-rtt", "os.kill", "no SIGUSR2 from the child")
            samples.append(time.perf_counter_ns() - t)
    finally:
        os.kill(pid, signal.SIGKILL)
        os.waitpid(pid, 0)
        signal.pthread_sigmask(signal.SIG_UNBLOCK, {signal.SIGUSR2})
    return latency_row("signal-rtt", "os.kill", samples, size=0)


def summary(rows: list[Row]) -> list[str]:
    nk, host = find_row(rows, "signal-rtt", "nanokernel"), find_row(rows, "signal-rtt",
                                                                    "os.kill")
    if not (nk and host):
        return []
    return [f"a signal to a handler and one back: p50 {nk.p50_us} µs = "
            f"{nk.p50_us / host.p50_us:.2f}x os.kill's {host.p50_us} µs"]
