"""`bench ring`: 64-byte round trips and one-way throughput, ring vs peers.

Each transport runs in two real processes.  Round trip: the child echoes, the
parent times every exchange.  Throughput: the parent sends N messages (one per
call, or batched where the transport can), the child counts them and answers
once at the end; ops/s = N / elapsed.
"""

from __future__ import annotations

import os
import time

from kernel.bench.stats import Row, latency_row, throughput_row
from kernel.bench.transports import ALL, DONE, RingTransport, Transport

MSG = b"m" * 64
BATCH = 64


def _enter_child(t: Transport) -> None:
    t.in_child = True
    if isinstance(t, RingTransport):
        t.become_child()


def _echo_child(t: Transport) -> None:
    _enter_child(t)
    while True:
        msg = t.recv()
        t.send(msg)
        if msg == DONE * 8:
            return


def _sink_child_factory(total: int):
    def child(t: Transport) -> None:
        _enter_child(t)
        got = 0
        while got < total:
            got += t.child_recv_count()
        t.send(DONE * 8)
        os._exit(0)
    return child


def measure_rtt(cls: type[Transport], n: int, warmup: int) -> Row:
    t = cls()
    t.start(_echo_child)
    try:
        for _ in range(warmup):
            t.send(MSG)
            t.recv()
        samples = []
        clock = time.perf_counter_ns
        for _ in range(n):
            t0 = clock()
            t.send(MSG)
            t.recv()
            samples.append(clock() - t0)
        t.send(DONE * 8)
        t.recv()
    finally:
        t.join()
    return latency_row("ring-rtt", cls.name, samples, size=64)


def measure_throughput(cls: type[Transport], n: int, batched: bool) -> Row:
    t = cls()
    t.start(_sink_child_factory(n))
    try:
        t0 = time.perf_counter()
        if batched:
            batch = [MSG] * BATCH
            for _ in range(n // BATCH):
                t.send_batch(batch)
        else:
            for _ in range(n):
                t.send(MSG)
        t.recv()
        elapsed = time.perf_counter() - t0
    finally:
        t.join()
    bench = "ring-throughput-batch" if batched else "ring-throughput"
    return throughput_row(bench, cls.name, n, elapsed, size=64, batch=BATCH if batched else 1)


def run(quick: bool) -> list[Row]:
    rtt_n, warm = (2_000, 200) if quick else (20_000, 2_000)
    tput_n = 64 * (1_000 if quick else 10_000)
    rows = [measure_rtt(cls, rtt_n, warm) for cls in ALL]
    rows += [measure_throughput(cls, tput_n, batched=False) for cls in ALL]
    rows += [measure_throughput(cls, tput_n, batched=True) for cls in ALL if cls.batches]
    return rows
