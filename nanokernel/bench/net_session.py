"""The session programs of `bench net`, one per node (nanokernel/bench/net_nodes.py).

    net_session.py hold STOP                      node a: stays up (its netbench
                                                  server serving) until the file
                                                  STOP exists, then ends: a halts
    net_session.py measure OUT NODE RTTS SENDS BATCH
                                                  node b: waits until NODE is up and
                                                  netbench@NODE answers, then measures
                                                  and writes OUT (JSON)

measure:
    rtt         RTTS null calls ``lookup("netbench@NODE").null()``, each timed
                (after WARMUP untimed ones)
    local       RTTS calls of this node's own bridge (``whoami``): one local hop of
                the remote call's path, timed the same way
    throughput  SENDS one-way ``sink(data=SIZE bytes)`` in ``send_many`` batches of
                BATCH; timed from the first batch to the moment ``count()`` on NODE
                says all arrived (so what is timed is delivery to the server, not
                only the link taking them); ``sent_s``: until the last batch was
                acknowledged by the link
Waiting is on deadlines, never a sleep of a guessed length.
"""

from __future__ import annotations

import gc
import json
import sys
import time
from pathlib import Path

from libipc import IpcError, lookup

WARMUP = 200
SIZE = 64
UP_WITHIN_S = 60.0
DELIVERED_WITHIN_S = 120.0


def hold(stop: str) -> None:
    deadline = time.monotonic() + 900
    while not Path(stop).exists() and time.monotonic() < deadline:
        time.sleep(0.02)


def wait_answering(node: str):
    """netbench@node once a null call goes through (the link up, a's server registered)."""
    bridge = lookup("bridge", timeout=5.0)
    proxy = lookup(f"netbench@{node}", timeout=10.0)
    deadline, last = time.monotonic() + UP_WITHIN_S, "no answer"
    while time.monotonic() < deadline:
        try:
            if any(r["node"] == node and r["state"] == "up" for r in bridge.nodes()):
                proxy.null()
                return proxy
        except IpcError as exc:
            last = f"{exc.code}: {exc.message}"
        time.sleep(0.02)
    raise TimeoutError(f"netbench@{node} did not answer within {UP_WITHIN_S:g} s ({last})")


def rtt(null, count: int) -> list[int]:
    for _ in range(WARMUP):
        null()
    samples = []
    gc.disable()
    for _ in range(count):
        t = time.perf_counter_ns()
        null()
        samples.append(time.perf_counter_ns() - t)
    gc.enable()
    return samples


def throughput(proxy, n: int, batch: int) -> dict:
    proxy.reset()
    data = b"m" * SIZE
    args = [{"data": data}] * batch
    t0 = time.perf_counter()
    left = n
    while left:
        k = min(batch, left)
        proxy.send_many("sink", args if k == batch else args[:k])
        left -= k
    sent_s = time.perf_counter() - t0
    deadline = time.monotonic() + DELIVERED_WITHIN_S
    got = proxy.count()
    while got < n and time.monotonic() < deadline:
        got = proxy.count()
    seconds = time.perf_counter() - t0
    if got != n:
        raise RuntimeError(f"{got} of {n} SENDs reached the server on the other node")
    return {"n": n, "batch": batch, "size": SIZE, "seconds": seconds, "sent_s": sent_s}


def measure(out: str, node: str, rtts: int, sends: int, batch: int) -> None:
    try:
        proxy = wait_answering(node)
        local = lookup("bridge", timeout=10.0)
        result = {"rtt_ns": rtt(proxy.null, rtts), "local_ns": rtt(local.whoami, rtts),
                  "throughput": throughput(proxy, sends, batch)}
    except (IpcError, RuntimeError, TimeoutError) as exc:
        result = {"error": f"{type(exc).__name__}: {exc}"}
    tmp = Path(out).with_suffix(".tmp")
    tmp.write_text(json.dumps(result))
    tmp.rename(out)


if __name__ == "__main__":
    if sys.argv[1] == "hold":
        hold(sys.argv[2])
    else:
        out, node, rtts, sends, batch = sys.argv[2:7]
        measure(out, node, int(rtts), int(sends), int(batch))
