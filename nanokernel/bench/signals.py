"""`bench ipc`'s signal-rtt: a signal to a handler and a signal back (p50/p99 µs).

    nanokernel  libipc.kill(child, SIGUSR1) → the kernel → the child's handler,
                which libipc.kill()s SIGUSR2 back → the session's handler
                (a boot of its own: nanokernel/bench/signal_session.py)
    os.kill     the same between two host processes: the child's Python handler
                os.kill()s SIGUSR2 back, the parent takes it with sigwait
"""

from __future__ import annotations

import os
import signal
import time

from nanokernel.bench.report import progress
from nanokernel.bench.session_boot import SessionFailed, run_session
from nanokernel.bench.stats import Row, failed_row, find_row, latency_row


def run(quick: bool) -> list[Row]:
    count = 1000 if quick else 5000
    progress("   signal-rtt nanokernel (a boot of its own)")
    rows = [_nanokernel(count)]
    progress("   signal-rtt os.kill")
    rows.append(_host(count))
    return rows


def _nanokernel(count: int) -> Row:
    try:
        samples = run_session("signal_session.py", [count])["rtt_ns"]
    except (SessionFailed, KeyError) as exc:
        return failed_row("signal-rtt", "nanokernel", str(exc))
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
