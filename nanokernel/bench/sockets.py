"""`bench ipc`'s socket rows: a stream through the net server vs an AF_UNIX socketpair.

    socket-throughput  64 KiB sends from one process to another   (MB/s)
    socket-rtt         64 bytes there and back over one stream     (p50/p99 µs)

    nanokernel   libipc.connect/accept between two user processes of a boot of its
                 own (naming, console, net; nanokernel/bench/socket_session.py); the
                 bytes move through the connection's two rings, no message
    socketpair   socket.socketpair(AF_UNIX, SOCK_STREAM) between this process and a
                 forked child, in the same run
"""

from __future__ import annotations

import os
import socket
import time

from nanokernel.bench.report import progress
from nanokernel.bench.session_boot import SessionFailed, run_session
from nanokernel.bench.stats import Row, failed_row, find_row, latency_row, throughput_row

WRITE = 64 * 1024
SMALL = 64
BENCHES = ("socket-throughput", "socket-rtt")
PEERS = ("nanokernel", "socketpair")

def run(quick: bool) -> list[Row]:
    n = (64 if quick else 256) * 1024 * 1024
    rtts = 2000 if quick else 10000
    progress("   socket-throughput and socket-rtt nanokernel (a boot of its own)")
    rows = _nanokernel(n, rtts)
    progress("   socket-throughput socketpair")
    rows.append(_host_throughput(n))
    progress("   socket-rtt socketpair")
    rows.append(_host_rtt(rtts))
    return rows


def _mb_row(peer: str, n: int, seconds: float) -> Row:
    return throughput_row("socket-throughput", peer, -(-n // WRITE), seconds,
                          mb_per_s=round(n / seconds / 1e6, 1), write_bytes=WRITE)


def _nanokernel(n: int, rtts: int) -> list[Row]:
    try:
        result = run_session("socket_session.py", [n, rtts], servers=("net",), timeout=600)
        t = result["throughput"]
        return [_mb_row("nanokernel", t["bytes"], t["seconds"]),
                latency_row("socket-rtt", "nanokernel", result["rtt_ns"], size=SMALL)]
    except (SessionFailed, KeyError) as exc:
        return [failed_row(b, "nanokernel", str(exc)) for b in BENCHES]


def _host_throughput(n: int) -> Row:
    mine, theirs = socket.socketpair(socket.AF_UNIX, socket.SOCK_STREAM)
    pid = os.fork()
    if pid == 0:   # the sender
        try:
            mine.close()
            block = b"x" * WRITE
            theirs.sendall(time.monotonic_ns().to_bytes(8, "little"))
            sent = 0
            while sent < n:
                sent += theirs.send(block[:min(WRITE, n - sent)])
            theirs.close()
        finally:
            os._exit(0)
    theirs.close()
    stamp = b""
    while len(stamp) < 8:
        stamp += mine.recv(8 - len(stamp))
    buf, got = bytearray(1 << 20), 0
    while k := mine.recv_into(buf):
        got += k
    seconds = (time.monotonic_ns() - int.from_bytes(stamp, "little")) / 1e9
    os.waitpid(pid, 0)
    mine.close()
    return _mb_row("socketpair", got, seconds)


def _host_rtt(count: int) -> Row:
    mine, theirs = socket.socketpair(socket.AF_UNIX, socket.SOCK_STREAM)
    pid = os.fork()
    if pid == 0:   # the echo
        try:
            mine.close()
            for _ in range(count):
                got = b""
                while len(got) < SMALL:
                    got += theirs.recv(SMALL - len(got))
                theirs.sendall(got)
        finally:
            os._exit(0)
    theirs.close()
    msg, samples = b"m" * SMALL, []
    for _ in range(count):
        t = time.perf_counter_ns()
        mine.sendall(msg)
        got = b""
        while len(got) < SMALL:
            got += mine.recv(SMALL - len(got))
        samples.append(time.perf_counter_ns() - t)
    os.waitpid(pid, 0)
    mine.close()
    return latency_row("socket-rtt", "socketpair", samples, size=SMALL)


def summary(rows: list[Row]) -> list[str]:
    lines = []
    nk, host = find_row(rows, "socket-throughput", "nanokernel"), \
        find_row(rows, "socket-throughput", "socketpair")
    if nk and host:
        lines.append(f"a stream through the net server: {nk.extra['mb_per_s']} MB/s = "
                     f"{nk.ops_per_s / host.ops_per_s:.2f}x an AF_UNIX socketpair's "
                     f"{host.extra['mb_per_s']} MB/s (64 KiB sends)")
    nk, host = find_row(rows, "socket-rtt", "nanokernel"), find_row(rows, "socket-rtt",
                                                                    "socketpair")
    if nk and host:
        lines.append(f"a 64-byte round trip over one stream: p50 {nk.p50_us} µs = "
                     f"{nk.p50_us / host.p50_us:.2f}x a socketpair's {host.p50_us} µs")
    return lines
