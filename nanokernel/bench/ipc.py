"""`bench ring`: 64-byte round trips and one-way throughput, the ring vs its peers.

Every transport runs in two real processes (transports.py), all in one run:

ring-rtt               the child echoes; the parent times each send+recv
                       (p50, p99 of the per-exchange times).
ring-throughput        the parent sends N messages, one call per message; the
                       child takes whatever has arrived (the streams read up to
                       64 KiB, the ring calls get_many, mp.* one recv per
                       message) and answers once it has all N.
                       ops/s = N / (first send .. answer received).
ring-throughput-batch  the same with BATCH messages per send call, for the
                       transports that can (ring put_many, one write() of the
                       joined frames for the streams).

Garbage collection is off while a loop is timed, in parent and child alike.
"""

from __future__ import annotations

import gc
import time

from nanokernel.bench.placement import pinned
from nanokernel.bench.report import progress
from nanokernel.bench.stats import Row, failed_row, find_row, latency_row, throughput_row
from nanokernel.bench.transports import ACK, ALL, MSG_SIZE, STOP, BenchFailed, Transport

TITLE = "shared-memory ring vs os.pipe, socketpair, multiprocessing.Pipe/Queue"
MSG = b"m" * MSG_SIZE
BATCH = 256
LIMIT_S = 60.0   # per measurement; the watchdog kills the child after that


def _echo_child(t: Transport, count: int) -> None:
    gc.disable()
    for _ in range(count):
        t.send(t.recv())


def _echo_until_stop_child(t: Transport, count: int) -> None:
    """Echo until STOP comes: the parent decides how long to warm up."""
    gc.disable()
    send, recv, stop = t.send, t.recv, t.control(STOP)
    while (msg := recv()) != stop:
        send(msg)


def _sink_child(t: Transport, count: int, warmup: int = 0) -> None:
    gc.disable()
    for n in (warmup, count) if warmup else (count,):
        got = 0
        while got < n:
            got += t.recv_some()
        t.send(ACK)


def _measured(cls: type[Transport], child, count: int, body, size: int = MSG_SIZE,
              child_args: tuple = (), cpus: list[frozenset[int]] | None = None,
              seen: dict | None = None) -> object:
    """Run ``body(t)`` against a fresh child; always reap it; BenchFailed on any failure.

    ``cpus``: each process's CPU set (parent, child, relay; placement.py), or None.
    ``seen`` (a dict) gets each process's Cpus_allowed_list while it runs."""
    t = cls(size)
    t.cpus = cpus
    finished = False
    with pinned(cpus[0] if cpus else None):
        try:
            t.start(child, (count, *child_args), LIMIT_S)
            if seen is not None:
                seen.update(t.observed_cpus())
            gc.disable()
            result = body(t)
            finished = True
            return result
        except BenchFailed:
            raise
        except Exception as exc:   # a dead child, a timeout: say which peer and why
            raise t.failure(exc) from exc
        finally:
            gc.enable()
            t.stop(graceful=finished)


def rtt_samples(cls: type[Transport], n: int, warmup: int, size: int = MSG_SIZE,
                min_warmup_s: float = 0.0, cpus: list[frozenset[int]] | None = None,
                seen: dict | None = None) -> list[int]:
    """Nanoseconds of each of ``n`` round trips of ``size``-byte messages, after ``warmup``
    of them — and after ``min_warmup_s`` seconds of them, which gives the scheduler time
    to settle where it puts the two processes (one CPU or two) before timing starts.
    ``cpus``/``seen``: the processes' placement and where they ran (see _measured)."""
    msg = MSG if size == MSG_SIZE else b"m" * size

    def body(t: Transport) -> list[int]:
        send, recv, clock = t.send, t.recv, time.perf_counter_ns
        for _ in range(warmup):
            send(msg)
            recv()
        until = time.monotonic() + min_warmup_s
        while time.monotonic() < until:
            send(msg)
            recv()
        samples = [0] * n
        for i in range(n):
            t0 = clock()
            send(msg)
            recv()
            samples[i] = clock() - t0
        if min_warmup_s:
            send(t.control(STOP))
        return samples

    child = _echo_until_stop_child if min_warmup_s else _echo_child
    return _measured(cls, child, warmup + n, body, size, cpus=cpus, seen=seen)


def measure_rtt(cls: type[Transport], n: int, warmup: int) -> Row:
    return latency_row("ring-rtt", cls.name, rtt_samples(cls, n, warmup), size=MSG_SIZE)


def sink_seconds(cls: type[Transport], n: int, batch: int = 1, warmup: int = 0) -> float:
    """Seconds to send ``n`` messages (``batch`` per call) until the child has them all;
    first, untimed, ``warmup`` messages one per call and the child's answer to them."""
    def body(t: Transport) -> float:
        if warmup:
            for _ in range(warmup):
                t.send(MSG)
            if t.recv() != ACK:
                raise BenchFailed(f"{cls.name}: the child's answer is not the expected ACK")
        t0 = time.perf_counter()
        if batch > 1:
            msgs = [MSG] * batch
            for _ in range(n // batch):
                t.send_batch(msgs)
        else:
            send = t.send
            for _ in range(n):
                send(MSG)
        if t.recv() != ACK:
            raise BenchFailed(f"{cls.name}: the child's answer is not the expected ACK")
        return time.perf_counter() - t0

    return _measured(cls, _sink_child, n, body, child_args=(warmup,))


def measure_throughput(cls: type[Transport], n: int, batched: bool) -> Row:
    bench = "ring-throughput-batch" if batched else "ring-throughput"
    batch = BATCH if batched else 1
    n -= n % batch
    return throughput_row(bench, cls.name, n, sink_seconds(cls, n, batch),
                          size=MSG_SIZE, batch=batch)


def _guarded(bench: str, peer: str, measure) -> Row:
    try:
        row = measure()
    except BenchFailed as exc:
        progress(f"  {bench:<22} {peer:<11} FAILED: {exc}")
        return failed_row(bench, peer, str(exc))
    progress(f"  {row.bench:<22} {row.peer:<11} {row.summary()}")
    return row


def run(quick: bool) -> list[Row]:
    rtt_n, warmup = (2_000, 200) if quick else (20_000, 2_000)
    tput_n = 102_400 if quick else 1_024_000
    rows = [_guarded("ring-rtt", c.name, lambda c=c: measure_rtt(c, rtt_n, warmup))
            for c in ALL]
    rows += [_guarded("ring-throughput", c.name,
                      lambda c=c: measure_throughput(c, tput_n, batched=False))
             for c in ALL]
    rows += [_guarded("ring-throughput-batch", c.name,
                      lambda c=c: measure_throughput(c, tput_n, batched=True))
             for c in ALL if c.batches]
    return rows


def summary(rows: list[Row]) -> list[str]:
    """The issue's two targets, checked against this run's rows."""
    def find(bench: str, peer: str) -> Row | None:
        return find_row(rows, bench, peer)

    lines = []
    ring, pipe = find("ring-rtt", "nanokernel"), find("ring-rtt", "os.pipe")
    if ring and pipe:
        x = ring.p50_us / pipe.p50_us
        lines.append(f"target  ring-rtt p50 <= 0.10x os.pipe's: {x:.3f}x "
                     f"({'met' if x <= 0.10 else 'NOT met'})")
    batch, queue = find("ring-throughput-batch", "nanokernel"), find("ring-throughput", "mp.Queue")
    if batch and queue:
        x = batch.ops_per_s / queue.ops_per_s
        lines.append(f"target  ring-throughput-batch >= 10x mp.Queue's: {x:.1f}x "
                     f"({'met' if x >= 10 else 'NOT met'})")
    return lines
