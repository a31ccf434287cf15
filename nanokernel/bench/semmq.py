"""`bench ipc`'s sem-pingpong and mq-throughput: the sem and mq servers next to
the host's POSIX semaphores and message queues and multiprocessing's.

    sem-pingpong   two processes, two semaphores: one releases "ping" and
                   acquires "pong", the other the reverse; one sample is one
                   round (two releases, two acquires)     (p50/p99 µs, rounds/s)
        nanokernel               libipc.Semaphore (a boot of its own:
                                 nanokernel/bench/semmq_session.py)
        posix_ipc.Semaphore      named POSIX semaphores (sem_post/sem_wait)
        multiprocessing.Semaphore
    mq-throughput  one process sends SIZE-byte messages into a queue of 10, the
                   other receives them                    (messages/s)
        nanokernel               libipc.MessageQueue
        posix_ipc.MessageQueue   POSIX message queues (mq_send/mq_receive)
        multiprocessing.Queue

posix_ipc (PyPI posix-ipc, in the test extras) may be missing: its rows are then
skipped with the reason.  Measured with nothing pinned (placement "free").
"""

from __future__ import annotations

import gc
import multiprocessing
import os
import time

from nanokernel.bench.report import progress
from nanokernel.bench.semmq_session import QUEUE_DEPTH, SIZE, WARMUP
from nanokernel.bench.session_boot import SessionFailed, run_session
from nanokernel.bench.stats import (
    Row,
    failed_row,
    find_row,
    latency_row,
    skipped_row,
    throughput_row,
)

BENCHES = ("sem-pingpong", "mq-throughput")
SEM_PEERS = ("nanokernel", "posix_ipc.Semaphore", "multiprocessing.Semaphore")
MQ_PEERS = ("nanokernel", "posix_ipc.MessageQueue", "multiprocessing.Queue")


def run(quick: bool) -> list[Row]:
    rounds, messages = (1000, 5000) if quick else (5000, 20000)
    progress("   sem-pingpong, mq-throughput nanokernel (a boot of its own)")
    rows = _nanokernel(rounds, messages)
    try:
        import posix_ipc
    except ImportError as exc:
        reason = f"posix_ipc is not installed ({exc}): pip install posix-ipc"
        rows += [skipped_row("sem-pingpong", "posix_ipc.Semaphore", reason),
                 skipped_row("mq-throughput", "posix_ipc.MessageQueue", reason)]
    else:
        progress("   sem-pingpong posix_ipc.Semaphore")
        rows.append(_guarded("sem-pingpong", "posix_ipc.Semaphore",
                             lambda: _posix_pingpong(posix_ipc, rounds)))
        progress("   mq-throughput posix_ipc.MessageQueue")
        rows.append(_guarded("mq-throughput", "posix_ipc.MessageQueue",
                             lambda: _posix_mq(posix_ipc, messages)))
    progress("   sem-pingpong multiprocessing.Semaphore")
    rows.append(_guarded("sem-pingpong", "multiprocessing.Semaphore",
                         lambda: _mp_pingpong(rounds)))
    progress("   mq-throughput multiprocessing.Queue")
    rows.append(_guarded("mq-throughput", "multiprocessing.Queue", lambda: _mp_queue(messages)))
    return rows


def _guarded(bench: str, peer: str, measure) -> Row:
    try:
        return measure()
    except Exception as exc:   # one peer failing must not cost the others their rows
        return failed_row(bench, peer, f"{type(exc).__name__}: {exc}"[:300])


def _pingpong_row(peer: str, samples: list[int], seconds: float) -> Row:
    row = latency_row("sem-pingpong", peer, samples, size=0)
    row.ops_per_s = round(len(samples) / seconds) if seconds > 0 else None
    return row


def _mq_row(peer: str, n: int, seconds: float) -> Row:
    return throughput_row("mq-throughput", peer, n, seconds, size=SIZE, depth=QUEUE_DEPTH)


# -- nanokernel ----------------------------------------------------------------------
def _nanokernel(rounds: int, messages: int) -> list[Row]:
    try:
        data = run_session("semmq_session.py", [rounds, messages], servers=("sem", "mq"))
    except SessionFailed as exc:
        return [failed_row(b, "nanokernel", str(exc)) for b in BENCHES]
    return [_pingpong_row("nanokernel", data["pingpong_ns"], data["pingpong_s"]),
            _mq_row("nanokernel", data["mq_messages"], data["mq_s"])]


# -- the host's -------------------------------------------------------------------------
def _timed_rounds(release, acquire, rounds: int) -> tuple[list[int], float]:
    gc.disable()
    try:
        for _ in range(WARMUP):
            release()
            acquire()
        samples, t_all = [], time.perf_counter_ns()
        for _ in range(rounds):
            t = time.perf_counter_ns()
            release()
            acquire()
            samples.append(time.perf_counter_ns() - t)
        return samples, (time.perf_counter_ns() - t_all) / 1e9
    finally:
        gc.enable()


def _posix_pingpong(posix_ipc, rounds: int) -> Row:
    names = [f"/nk-bench-{os.getpid()}-{w}" for w in ("ping", "pong")]
    ping, pong = (posix_ipc.Semaphore(n, posix_ipc.O_CREX, initial_value=0) for n in names)
    pid = os.fork()
    if pid == 0:
        try:
            for _ in range(WARMUP + rounds):
                ping.acquire()
                pong.release()
        finally:
            os._exit(0)
    try:
        samples, seconds = _timed_rounds(ping.release, lambda: pong.acquire(10), rounds)
    finally:
        os.waitpid(pid, 0)
        for sem in (ping, pong):
            sem.unlink()
            sem.close()
    return _pingpong_row("posix_ipc.Semaphore", samples, seconds)


def _posix_mq(posix_ipc, messages: int) -> Row:
    q = posix_ipc.MessageQueue(f"/nk-bench-{os.getpid()}-mq", posix_ipc.O_CREX,
                               max_messages=QUEUE_DEPTH, max_message_size=SIZE)
    pid = os.fork()
    if pid == 0:
        try:
            data = b"m" * SIZE
            for _ in range(messages):
                q.send(data)
        finally:
            os._exit(0)
    try:
        q.receive(10)
        t0 = time.perf_counter()
        for _ in range(messages - 1):
            q.receive(10)
        seconds = time.perf_counter() - t0
    finally:
        os.waitpid(pid, 0)
        q.unlink()
        q.close()
    return _mq_row("posix_ipc.MessageQueue", messages - 1, seconds)


def _mp_pong(ping, pong, rounds: int) -> None:
    for _ in range(WARMUP + rounds):
        ping.acquire()
        pong.release()


def _mp_pingpong(rounds: int) -> Row:
    ctx = multiprocessing.get_context("fork")
    ping, pong = ctx.Semaphore(0), ctx.Semaphore(0)
    child = ctx.Process(target=_mp_pong, args=(ping, pong, rounds))
    child.start()
    try:
        samples, seconds = _timed_rounds(ping.release, lambda: pong.acquire(timeout=10),
                                         rounds)
    finally:
        child.join(10)
        if child.is_alive():
            child.kill()
    return _pingpong_row("multiprocessing.Semaphore", samples, seconds)


def _mp_put(queue, messages: int) -> None:
    data = b"m" * SIZE
    for _ in range(messages):
        queue.put(data)


def _mp_queue(messages: int) -> Row:
    ctx = multiprocessing.get_context("fork")
    queue = ctx.Queue(QUEUE_DEPTH)
    child = ctx.Process(target=_mp_put, args=(queue, messages))
    child.start()
    try:
        queue.get(timeout=10)
        t0 = time.perf_counter()
        for _ in range(messages - 1):
            queue.get(timeout=10)
        seconds = time.perf_counter() - t0
    finally:
        child.join(10)
        if child.is_alive():
            child.kill()
    return _mq_row("multiprocessing.Queue", messages - 1, seconds)


def summary(rows: list[Row]) -> list[str]:
    lines = []
    nk = find_row(rows, "sem-pingpong", "nanokernel")
    for peer in SEM_PEERS[1:]:
        host = find_row(rows, "sem-pingpong", peer)
        if nk and host:
            lines.append(f"a semaphore ping-pong round: p50 {nk.p50_us} µs = "
                         f"{nk.p50_us / host.p50_us:.1f}x {peer}'s {host.p50_us} µs")
    nk = find_row(rows, "mq-throughput", "nanokernel")
    for peer in MQ_PEERS[1:]:
        host = find_row(rows, "mq-throughput", peer)
        if nk and host:
            lines.append(f"message queue ({SIZE} B messages): {nk.ops_per_s:,.0f} msg/s = "
                         f"{nk.ops_per_s / host.ops_per_s:.2f}x {peer}'s "
                         f"{host.ops_per_s:,.0f}")
    return lines
