"""`nanokernel bench net`: a remote call and batched SENDs through two bridges, next to
bare pyzmq and a bare TCP socket on the same loopback, in the same run.

    bridge-call-rtt    a null call from a program on node b to a server on node a
                       (``lookup("netbench@a").null()``)            (p50/p99 µs)
        nanokernel             b's session -> b's kernel -> b's bridge -> CURVE link
                               -> a's bridge -> a's kernel -> netbench, and back
        nanokernel-local       a call from the same program to b's own bridge
                               (``whoami``): the first local hop of that path alone
        pyzmq-req-rep          REQ/REP round trips of 64 bytes, two processes
        pyzmq-req-rep-curve    the same with CURVE on (the bridge's links are CURVE)
        tcp-socket             64 bytes there and back over one TCP connection
    bridge-throughput  one-way messages from b to a server on a        (messages/s)
        nanokernel             ``RemoteProxy.send_many`` batches of BATCH SENDs of 64
                               bytes each, timed until a's server has them all
                               (``sent_per_s``: until the link acknowledged the last
                               batch on b)
        pyzmq-push-pull        PUSH to PULL, 64-byte messages, one send call each
        pyzmq-push-pull-curve  the same with CURVE on

The nanokernel rows come from two real ``nanokernel boot --node`` processes on loopback
with CURVE keys (net_nodes.py; the servers net_server.py, the sessions net_session.py);
the peers are measured in this process and a child (net_peers.py).  Boot time is not
counted.  Measured with nothing pinned (placement "free").
Target (issue 17): a remote call <= 2x a bare pyzmq round trip (p50).
"""

from __future__ import annotations

import tempfile

from nanokernel.bench import net_peers
from nanokernel.bench.net_nodes import NodePair, NodesFailed
from nanokernel.bench.report import progress
from nanokernel.bench.stats import (
    Row,
    failed_row,
    find_row,
    latency_row,
    skipped_row,
    throughput_row,
)

TITLE = ("a remote call and batched SENDs between two nodes' bridges vs bare pyzmq "
         "and a TCP socket (loopback)")
RTT, TPUT = "bridge-call-rtt", "bridge-throughput"
RTT_PEERS = ("nanokernel", "nanokernel-local", "pyzmq-req-rep", "pyzmq-req-rep-curve", "tcp-socket")
TPUT_PEERS = ("nanokernel", "pyzmq-push-pull", "pyzmq-push-pull-curve")
SIZE = net_peers.SIZE
BATCH = 256
TARGET = 2.0   # bridge-call-rtt's p50, at most this many times pyzmq-req-rep's


def counts(quick: bool) -> dict:
    if quick:
        return {"rtts": 2000, "sends": 20000, "messages": 50000, "timeout": 120.0}
    return {"rtts": 10000, "sends": 100000, "messages": 200000, "timeout": 600.0}


def run(quick: bool) -> list[Row]:
    try:
        import zmq  # noqa: F401  (the bridge and every peer here need it)
    except ImportError as exc:
        reason = f"pyzmq is not installed ({exc}): pip install -e '.[net]'"
        return [skipped_row(b, p, reason) for b, peers in ((RTT, RTT_PEERS), (TPUT, TPUT_PEERS))
                for p in peers]
    c = counts(quick)
    progress("   bridge-call-rtt, bridge-throughput nanokernel (nodes a and b on loopback)")
    rows = _nanokernel(c)
    for peer, measure in (("pyzmq-req-rep", lambda: net_peers.zmq_rtt(c["rtts"], False)),
                          ("pyzmq-req-rep-curve", lambda: net_peers.zmq_rtt(c["rtts"], True)),
                          ("tcp-socket", lambda: net_peers.tcp_rtt(c["rtts"]))):
        progress(f"   {RTT} {peer}")
        rows.append(_guarded(RTT, peer, lambda m=measure, p=peer: latency_row(
            RTT, p, m(), size=SIZE)))
    for peer, curve in (("pyzmq-push-pull", False), ("pyzmq-push-pull-curve", True)):
        progress(f"   {TPUT} {peer}")
        rows.append(_guarded(TPUT, peer, lambda p=peer, curve=curve: throughput_row(
            TPUT, p, c["messages"], net_peers.zmq_throughput(c["messages"], curve),
            size=SIZE)))
    rows.sort(key=lambda r: r.bench != RTT)   # (stable: each bench's rows together)
    _ratios(rows)
    return rows


def _guarded(bench: str, peer: str, measure) -> Row:
    try:
        return measure()
    except (OSError, RuntimeError, ValueError, ImportError) as exc:
        return failed_row(bench, peer, f"{type(exc).__name__}: {exc}"[:300])


def _nanokernel(c: dict) -> list[Row]:
    try:
        with tempfile.TemporaryDirectory(prefix="nk-bench-net-") as tmp, NodePair(tmp) as pair:
            result = pair.measure(["measure", "a", c["rtts"], c["sends"], BATCH], c["timeout"])
        t = result["throughput"]
        return [latency_row(RTT, "nanokernel", result["rtt_ns"], size=0),
                latency_row(RTT, "nanokernel-local", result["local_ns"], size=0),
                throughput_row(TPUT, "nanokernel", t["n"], t["seconds"], size=t["size"],
                               batch=t["batch"], sent_per_s=round(t["n"] / t["sent_s"]))]
    except (NodesFailed, OSError, KeyError, TypeError) as exc:
        why = f"{type(exc).__name__}: {exc}"[:300]
        return [failed_row(RTT, "nanokernel", why), failed_row(RTT, "nanokernel-local", why),
                failed_row(TPUT, "nanokernel", why)]


def _ratios(rows: list[Row]) -> None:
    """The nanokernel rows carry their ratio to bare pyzmq (what the target is about)."""
    nk, zmq = find_row(rows, RTT, "nanokernel"), find_row(rows, RTT, "pyzmq-req-rep")
    if nk and zmq:
        nk.extra["p50_vs_pyzmq"] = round(nk.p50_us / zmq.p50_us, 2)
    nk, zmq = find_row(rows, TPUT, "nanokernel"), find_row(rows, TPUT, "pyzmq-push-pull")
    if nk and zmq:
        nk.extra["speed_vs_pyzmq"] = round(nk.ops_per_s / zmq.ops_per_s, 3)


def summary(rows: list[Row]) -> list[str]:
    lines = []
    nk = find_row(rows, RTT, "nanokernel")
    peers = {p: find_row(rows, RTT, p) for p in RTT_PEERS[2:]}
    if nk:
        parts = [f"{nk.p50_us / r.p50_us:.1f}x {p}'s {r.p50_us} µs"
                 for p, r in peers.items() if r]
        lines.append(f"a null call from node b to a server on node a: p50 {nk.p50_us} µs"
                     + (" = " + ", ".join(parts) if parts else ""))
    local = find_row(rows, RTT, "nanokernel-local")
    if nk and local:
        lines.append(f"of which a local call to b's own bridge (one of the path's hops): "
                     f"p50 {local.p50_us} µs")
    zmq = peers["pyzmq-req-rep"]
    if nk and zmq:
        ratio = nk.p50_us / zmq.p50_us
        lines.append(f"target  {RTT} <= {TARGET:g}x pyzmq-req-rep (p50): {ratio:.2f}x "
                     f"({'met' if ratio <= TARGET else 'NOT met'})")
    nk = find_row(rows, TPUT, "nanokernel")
    tpeers = {p: find_row(rows, TPUT, p) for p in TPUT_PEERS[1:]}
    if nk:
        parts = [f"{nk.ops_per_s / r.ops_per_s:.3f}x {p}'s {r.ops_per_s:,.0f}"
                 for p, r in tpeers.items() if r]
        lines.append(f"SENDs from b to a server on a, send_many batches of {nk.extra['batch']}: "
                     f"{nk.ops_per_s:,.0f} messages/s delivered"
                     + (" = " + ", ".join(parts) if parts else "")
                     + f" (acknowledged by b's link at {nk.extra['sent_per_s']:,.0f}/s)")
    return lines
