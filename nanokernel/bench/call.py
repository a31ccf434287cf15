"""`nanokernel bench call`: one IPC call routed by the kernel, next to its peers.

Rows (each bench measured for every peer in the same run):

call-rtt              a null call: ``Proxy(ep).ping(text=<64 chars>)``; the peers send
                      64 bytes and get 64 back.  p50/p99 of the per-call times after a
                      warm-up; ops/s = calls / the sum of those times.
call-rtt-4k           the same with a 4 KiB payload both ways.
call-send-throughput  one-way messages, one per call: N SENDs of ``count(text=<64
                      chars>)``, the server counts them; then one CALL that returns
                      the count (it is served after the last SEND).  ops/s = N / (first
                      send .. answer).  The peers: the ring bench's sink (transports.py).
call-throughput       one-way SENDs batched where the API allows: the sender puts them
                      with ``send_many``, the router forwards runs in one C call, a sink
                      (call_sink.py) takes them with ``Port.recv_many`` and counts, and
                      NOTIFYs init when it has N.  Peers: the same N 64-byte messages,
                      BATCH per write where the transport can (pipes, sockets), one per
                      call where it cannot (multiprocessing.Pipe, multiprocessing.Queue).

Peers:

nanokernel         client → kernel → server process and back: the bench boots a real
                   kernel (`python -m kernel.boot -m nanokernel.bench.call init ...`) whose
                   init is this module; init spawns call_echo.py and measures.
nanokernel-hosted  the same server class hosted inside the kernel process
                   (`kernel().host(...)`): client → kernel, handled there, and back.
os.pipe            two processes, a pipe each way (the ring bench's transport).
os.pipe-relay      three processes: client → relay → server → relay → client, the
                   relay forwarding bytes as they come — a router built on pipes,
                   the fair peer of a routed call.
socketpair, mp.Pipe  two processes.

The nanokernel rows go through libipc (msgpack, the Server's dispatch and argument
checks); the peers move raw bytes of the same payload size and do nothing else, so
they are each transport's floor.  Extras: messages_per_op (request + response = 2,
a SEND = 1; for the nanokernel the kernel's count of routed messages),
crossings_per_op (a message written by one process and read by another; for the
nanokernel the kernel's ring_crossings) and processes.  Garbage collection is off
while a loop is timed, in the clients and in the servers (not in the kernel).

Where the scheduler runs the processes decides much of a round trip's cost on a
small machine: on 2 vCPUs a pipe round trip takes ~6 µs while both ends share a CPU
and ~45 µs once they are on two, and a routed call moves as the three processes trade
places.  So the round-trip rows (call-rtt, call-rtt-4k) are measured, every peer, under
each CPU placement of placement.py in the same run — rows carry ``placement``:

free     the OS places the processes (the throughput rows are measured this way only);
one-cpu  every process of the shape on one CPU: the bench boot's top process is pinned
         before it starts (kernel, init, servers inherit it), the peers' parent is
         pinned and their children and relay inherit it;
split    one CPU per process: the kernel pinned before it starts, init pins itself and
         the echo server it spawned (client, kernel, server; the hosted peer uses the
         first two), the peers' parent, child and relay one CPU each.  A shape with more
         processes than the bench may use CPUs is a ``skipped`` row with the reason.

Each round-trip row has ``cpus``: each process's Cpus_allowed_list (/proc/PID/status)
while it was measured.  Every warm-up lasts at least `warmup_s` (past the start-up
placement), the run is repeated in ROUNDS rounds with fresh processes (every peer
under every placement in every round), p50/p99 are over all rounds' calls, and the JSON
keeps each round's p50 (round_p50_us) or rate (round_ops_per_s); the summary names the
rows whose rounds differed by over 1.5x.  Targets, per placement: the routed null call's
p50 <= 1.0x os.pipe's (free) and <= 1.0x os.pipe-relay's (every placement), its p99 <= 4x
its p50; the summary prints met / NOT met with the figures, or why there is none.
"""

from __future__ import annotations

import contextlib
import gc
import json
import os
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from nanokernel.bench import ipc
from nanokernel.bench.placement import (
    FREE,
    Placement,
    choose_placements,
    cpus_allowed,
    format_cpus,
    pin,
)
from nanokernel.bench.report import progress
from nanokernel.bench.stats import (
    Row,
    failed_row,
    find_row,
    latency_row,
    percentile,
    skipped_row,
    throughput_row,
)
from nanokernel.bench.transports import (
    BenchFailed,
    MpPipeTransport,
    MpQueueTransport,
    PipeRelayTransport,
    PipeTransport,
    SocketpairTransport,
    Transport,
)
from nanokernel.procfs import boot_pids

TITLE = ("one IPC call routed by the kernel vs os.pipe (direct and through a relay "
         "process), socketpair, multiprocessing.Pipe")
BENCHES = ("call-rtt", "call-rtt-4k", "call-send-throughput", "call-throughput")
BATCH = 256   # messages per send call on the batched throughput path
NK, HOSTED = "nanokernel", "nanokernel-hosted"
PEERS: list[type[Transport]] = [PipeTransport, PipeRelayTransport, SocketpairTransport,
                                MpPipeTransport]
SMALL, BIG = 64, 4096
CALL_TIMEOUT_S = 10.0   # every call the bench init makes gives up after this
BOOT_LIMIT_S = 120.0    # the whole bench boot; the kernel is killed after that
ROUNDS, ROUNDS_QUICK = 8, 2   # fresh processes each round, every peer in every round
RTT_BENCHES = ("call-rtt", "call-rtt-4k")   # measured under every CPU placement
PIPE_TARGET, RELAY_TARGET, TAIL_TARGET = 1.0, 1.0, 4.0   # call-rtt p50 / peer's, p99 / p50

# What each peer's exchange involves, for the rows' extras (the nanokernel's are counted).
SHAPE = {"os.pipe": (2, 2), "os.pipe-relay": (3, 4), "socketpair": (2, 2), "mp.Pipe": (2, 2),
         "mp.Queue": (2, 2)}
# The batched throughput row's peers: the relay is not a sink; mp.Queue is the target's yardstick.
TPUT_PEERS: list[type[Transport]] = [PipeTransport, SocketpairTransport, MpPipeTransport,
                                     MpQueueTransport]


def counts(quick: bool) -> dict:
    """Operations per round; warm-ups last at least ``warmup_s`` (time for the scheduler to
    settle where it runs the processes: a pipe round trip takes ~6 µs while both ends
    share a CPU and ~45 µs once they are spread over two, which it does within ~0.2 s)."""
    if quick:
        return {"rtt": 1_000, "warmup": 200, "rtt4k": 500, "warmup4k": 100, "warmup_s": 0.2,
                "sends": 20_000, "warmup_sends": 50_000, "tput": 100 * BATCH}
    return {"rtt": 6_000, "warmup": 600, "rtt4k": 2_500, "warmup4k": 250, "warmup_s": 0.2,
            "sends": 60_000, "warmup_sends": 60_000, "tput": 1_000 * BATCH}


# --- inside the bench boot: the init --------------------------------------------------
def _routed(k) -> tuple[int, int]:
    s = k.stats()
    return s["messages_routed"], s["ring_crossings"]


def _timed_calls(k, p, text: str, n: int, warmup: int, warmup_s: float) -> dict:
    """``n`` pings after ``warmup`` (and ``warmup_s``): per-call times, and the kernel's
    counts per call."""
    ping = p.ping
    for _ in range(warmup):
        ping(text=text)
    until = time.monotonic() + warmup_s
    while time.monotonic() < until:
        ping(text=text)
    m0, c0 = _routed(k)
    m1, c1 = _routed(k)   # what asking for the counts costs, to take off
    samples = [0] * n
    clock = time.perf_counter_ns
    gc.disable()
    try:
        for i in range(n):
            t0 = clock()
            ping(text=text)
            samples[i] = clock() - t0
    finally:
        gc.enable()
    m2, c2 = _routed(k)
    if ping(text="check") != "check":
        raise RuntimeError("the echo server answered something else")
    return {"samples": samples, "messages": (m2 - m1) - (m1 - m0),
            "crossings": (c2 - c1) - (c1 - c0)}


def _timed_sends(k, p, n: int, warmup_s: float) -> dict:
    """``n`` one-way SENDs, then a CALL served after the last of them."""
    text = "s" * SMALL
    until = time.monotonic() + warmup_s
    while time.monotonic() < until:
        for _ in range(1000):
            p.send("count", text=text)
    p.counted(reset=True)
    m0, c0 = _routed(k)
    gc.disable()
    try:
        t0 = time.perf_counter()
        for _ in range(n):
            p.send("count", text=text)
        seen = p.counted()
        seconds = time.perf_counter() - t0
    finally:
        gc.enable()
    m1, c1 = _routed(k)
    if seen != n:
        raise RuntimeError(f"the server counted {seen} of {n} SENDs")
    return {"n": n, "seconds": seconds, "messages": m1 - m0, "crossings": c1 - c0}


def measure_target(k, ep: int, c: dict[str, int], rtt_only: bool = False) -> dict:
    from libipc import Proxy
    p = Proxy(ep, timeout=CALL_TIMEOUT_S)
    p.ping(text="ready?")   # served once the server has started
    result = {
        "rtt": _timed_calls(k, p, "x" * SMALL, c["rtt"], c["warmup"], c["warmup_s"]),
        "rtt4k": _timed_calls(k, p, "x" * BIG, c["rtt4k"], c["warmup4k"], c["warmup_s"]),
    }
    if not rtt_only:
        result["send"] = _timed_sends(k, p, c["sends"], c["warmup_s"])
    return result


def _wait_notify(rt, src: int, bit: int) -> None:
    """Wait for a NOTIFY with ``bit`` from ``src`` (the sink's "ready" or "done")."""
    from libipc.message import NOTIFY
    deadline = time.monotonic() + CALL_TIMEOUT_S * 3
    while True:
        msg = rt.transport.recv(1.0)
        if msg is not None and msg.kind == NOTIFY and msg.src == src and msg.id & bit:
            return
        if time.monotonic() > deadline:
            raise RuntimeError(f"no notification {bit:#x} from the sink")


def _timed_batches(k, n: int) -> dict:
    """``n`` SENDs with send_many to a batch sink; seconds until it says it has them."""
    from libipc.message import SEND, pack
    from libipc.runtime import current
    from nanokernel.bench.call_sink import DONE, READY
    rt = current()
    ep = k.spawn(argv=["-m", "nanokernel.bench.call_sink", str(n)], name="sink", acl=[])["ep"]
    body = pack(["count", {"text": "s" * SMALL}])
    bodies = [body] * BATCH
    _wait_notify(rt, ep, READY)   # the sink is attached: time only the messages
    m0, c0 = _routed(k)
    gc.disable()
    try:
        t0 = time.perf_counter()
        for _ in range(n // BATCH):
            rt.transport.send_many(ep, SEND, bodies, 0, CALL_TIMEOUT_S)
        _wait_notify(rt, ep, DONE)
        seconds = time.perf_counter() - t0
    finally:
        gc.enable()
    m1, c1 = _routed(k)
    k.kill(ep=ep)
    return {"n": n - n % BATCH, "seconds": seconds, "messages": m1 - m0, "crossings": c1 - c0}


def init_main(out: str, quick: bool, spec: dict | None = None) -> None:
    """The bench boot's init: measure a server process, then the same server hosted.

    ``spec`` (from the bench process; None: everything, nothing pinned): ``peers``,
    which of the two to measure; ``rtt_only``, the round trips only (no SENDs, no
    batches); ``client_cpus``/``server_cpus``, where init and the echo server run
    (the kernel was pinned before it started).  Each result records where the
    kernel, init and the server could run (Cpus_allowed_list) while it was measured."""
    from libipc import kernel
    spec = spec or {}
    if spec.get("client_cpus"):
        pin(0, spec["client_cpus"])
    k = kernel(timeout=CALL_TIMEOUT_S)
    c = counts(quick)
    kernel_pid = int(os.environ.get("NK_KERNEL_PID") or os.getppid())

    def process() -> dict:
        info = k.spawn(argv=["-m", "nanokernel.bench.call_echo"], name="echo", acl=["*"])
        if spec.get("server_cpus"):
            pin(info["pid"], spec["server_cpus"])
        return {**info, "pids": {"kernel": kernel_pid, "client": os.getpid(),
                                 "server": info["pid"]}}

    def hosted() -> dict:
        info = k.host(module="nanokernel.bench.call_echo", name="echo-hosted", acl=["*"])
        return {**info, "pids": {"kernel": kernel_pid, "client": os.getpid()}}

    starts = {NK: process, HOSTED: hosted}
    results: dict[str, dict] = {}
    for peer in spec.get("peers", starts):
        try:
            started = starts[peer]()
            results[peer] = measure_target(k, started["ep"], c, spec.get("rtt_only", False))
            results[peer]["cpus"] = {role: cpus_allowed(pid)
                                     for role, pid in started["pids"].items()}
        except Exception as exc:   # a failed peer is an error row, not a lost run
            results[peer] = {"error": f"{type(exc).__name__}: {exc}"[:300]}
    if not spec.get("rtt_only"):
        try:
            results[NK + "-batch"] = _timed_batches(k, c["tput"])
        except Exception as exc:
            results[NK + "-batch"] = {"error": f"{type(exc).__name__}: {exc}"[:300]}
    Path(out).write_text(json.dumps(results))
    k.halt(status=0)
    time.sleep(60)   # the halt SIGTERMs us


# --- the bench process ------------------------------------------------------------------
def boot_and_measure(quick: bool, limit_s: float = BOOT_LIMIT_S,
                     init: tuple[str, ...] = ("-m", "nanokernel.bench.call", "init"),
                     spec: dict | None = None,
                     kernel_cpus: frozenset[int] | None = None) -> dict:
    """Boot a kernel whose init is ``init_main``; its results, or RuntimeError.

    ``spec`` goes to init (see init_main); ``kernel_cpus`` pins the boot's top process
    before it runs, and so everything it starts (affinity is inherited)."""
    with tempfile.TemporaryDirectory(prefix="nk-bench-call-") as tmp:
        out, log = Path(tmp) / "result.json", Path(tmp) / "boot.log"
        env = {k: v for k, v in os.environ.items() if not k.startswith("NK_")}
        env["XDG_STATE_HOME"] = tmp   # nothing of this boot goes into the user's state
        argv = [sys.executable, "-m", "kernel.boot", "--log", str(log), *init, str(out),
                str(int(quick))]
        if spec is not None:
            argv.append(json.dumps(spec))
        cpus = set(kernel_cpus) if kernel_cpus else None
        proc = subprocess.Popen(argv, env=env, stdin=subprocess.DEVNULL, text=True,
                                stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                                preexec_fn=(lambda: os.sched_setaffinity(0, cpus))
                                if cpus else None)
        try:
            _, err = proc.communicate(timeout=limit_s)
            status = f"exited {proc.returncode}: {err.strip()[-300:]}"
        except subprocess.TimeoutExpired:
            # Its processes die with the kernel (PDEATHSIG) once they are connected;
            # kill those the kernel started too, in case one never got that far.
            started = boot_pids(proc.pid, with_kernel=False)
            proc.kill()
            for pid in started:
                with contextlib.suppress(OSError):
                    os.kill(pid, signal.SIGKILL)
            proc.communicate()
            status = f"gave no result within {limit_s:g} s (killed)"
        if not out.exists():
            tail = log.read_text()[-600:] if log.exists() else ""
            raise RuntimeError(f"bench boot {status} {tail}".strip())
        return json.loads(out.read_text())


class _Acc:
    """One (bench, peer, placement) cell, accumulated over the rounds."""

    def __init__(self, bench: str, peer: str, placement: str = FREE,
                 skipped: str | None = None, **extra) -> None:
        self.bench, self.peer, self.placement, self.extra = bench, peer, placement, extra
        self.samples: list[int] = []      # latency: every round's per-call times (ns)
        self.round_values: list[float] = []   # each round's p50 (µs) or ops/s
        self.count, self.seconds = 0, 0.0     # throughput: totals over the rounds
        self.error: str | None = None
        self.skipped = skipped                # not measured on purpose, and why

    @property
    def done(self) -> bool:
        """Nothing more to measure: failed or skipped."""
        return bool(self.error or self.skipped)

    def add_samples(self, samples: list[int]) -> None:
        self.samples += samples
        self.round_values.append(round(percentile(sorted(samples), 0.5) / 1000, 2))

    def add_run(self, count: int, seconds: float) -> None:
        self.count += count
        self.seconds += seconds
        self.round_values.append(round(count / seconds))

    def fail(self, error: str) -> None:
        if self.error is None:
            self.error = error
            progress(f"  {self.bench:<22} {self.placement:<8} {self.peer:<17} FAILED: {error}")

    def row(self) -> Row:
        where = {"placement": self.placement}
        if self.skipped:
            return skipped_row(self.bench, self.peer, self.skipped, **where,
                               processes=self.extra.get("processes"))
        if self.error:
            row = failed_row(self.bench, self.peer, self.error)
            row.extra.update(where)
            return row
        rounds = {"rounds": len(self.round_values)}
        if self.samples:
            row = latency_row(self.bench, self.peer, self.samples, **where, **self.extra,
                              **rounds, round_p50_us=self.round_values)
            row.ops_per_s = round(len(self.samples) * 1e9 / sum(self.samples))
            return row
        return throughput_row(self.bench, self.peer, self.count, self.seconds, **where,
                              **self.extra, **rounds, round_ops_per_s=self.round_values)


def _add_batches(accs: dict, r: dict) -> None:
    acc = accs["call-throughput", NK, FREE]
    if "error" in r:
        acc.fail(r["error"])
        return
    acc.add_run(r["n"], r["seconds"])
    _count_into(acc, r["messages"], r["crossings"], r["n"])


def _add_nanokernel(accs: dict, peer: str, placement: str, r: dict) -> None:
    if "error" in r:
        for bench in BENCHES:
            if (bench, peer, placement) in accs:
                accs[bench, peer, placement].fail(r["error"])
        return
    for bench, key in (("call-rtt", "rtt"), ("call-rtt-4k", "rtt4k"), ("call-send-throughput",
                                                                       "send")):
        if key not in r:
            continue
        m, acc = r[key], accs[bench, peer, placement]
        if "samples" in m:
            acc.add_samples(m["samples"])
            n = len(m["samples"])
        else:
            acc.add_run(m["n"], m["seconds"])
            n = m["n"]
        _count_into(acc, m["messages"], m["crossings"], n)
        acc.extra["cpus"] = r.get("cpus")


def _count_into(acc: _Acc, messages: int, crossings: int, n: int) -> None:
    """The kernel's counts per operation (the last round's: every round does the same)."""
    acc.extra["messages_per_op"] = round(messages / n, 2)
    acc.extra["crossings_per_op"] = round(crossings / n, 2)


def _add_peer(accs: dict, cls: type[Transport], c: dict, placement: Placement) -> None:
    where = placement.name

    def rtt(bench: str, n: int, warmup: int, size: int) -> None:
        acc, seen = accs[bench, cls.name, where], {}
        acc.add_samples(ipc.rtt_samples(cls, n, warmup, size, c["warmup_s"],
                                        cpus=placement.layout(SHAPE[cls.name][0]), seen=seen))
        acc.extra["cpus"] = seen

    jobs = (("call-rtt", lambda: rtt("call-rtt", c["rtt"], c["warmup"], SMALL)),
            ("call-rtt-4k", lambda: rtt("call-rtt-4k", c["rtt4k"], c["warmup4k"], BIG)),
            ("call-send-throughput", lambda: accs["call-send-throughput", cls.name,
                                                  where].add_run(
                c["sends"], ipc.sink_seconds(cls, c["sends"], warmup=c["warmup_sends"]))))
    if cls in TPUT_PEERS:
        batch = BATCH if cls.batches else 1
        jobs += (("call-throughput", lambda: accs["call-throughput", cls.name, where].add_run(
            c["tput"], ipc.sink_seconds(cls, c["tput"], batch=batch))),)
    for bench, job in jobs:
        acc = accs.get((bench, cls.name, where))
        if acc is not None and not acc.done:
            try:
                job()
            except BenchFailed as exc:
                acc.fail(str(exc))


def _cells(placements: list[Placement]) -> dict[tuple[str, str, str], _Acc]:
    """Every cell, in the order of the rows: per bench, per placement, per peer.  The
    round trips are measured under every placement, the throughput rows when free."""
    accs = {}
    for bench in BENCHES[:-1]:
        size = BIG if bench == "call-rtt-4k" else SMALL
        per_op = 1 if bench == "call-send-throughput" else 2   # a SEND; a request + response
        for placement in placements if bench in RTT_BENCHES else placements[:1]:
            shapes = [(NK, 3, {}), (HOSTED, 2, {})]
            shapes += [(cls.name, SHAPE[cls.name][0],
                        {"messages_per_op": per_op,
                         "crossings_per_op": SHAPE[cls.name][1] * per_op // 2})
                       for cls in PEERS]
            for peer, processes, extra in shapes:
                accs[bench, peer, placement.name] = _Acc(
                    bench, peer, placement.name, placement.skip_reason(processes), size=size,
                    processes=processes, **extra)
    accs["call-throughput", NK, FREE] = _Acc("call-throughput", NK, FREE, size=SMALL,
                                             processes=3, batch=BATCH)
    for cls in TPUT_PEERS:
        processes, crossings = SHAPE[cls.name]
        accs["call-throughput", cls.name, FREE] = _Acc(
            "call-throughput", cls.name, FREE, size=SMALL, messages_per_op=1,
            crossings_per_op=crossings // 2, processes=processes,
            batch=BATCH if cls.batches else 1)
    return accs


def boot_plan(accs: dict, placement: Placement) -> tuple[dict, frozenset[int] | None] | None:
    """What the bench boot of ``placement`` measures (init's spec) and where the kernel
    runs; None when there is nothing left to measure (both peers failed or skipped).

    The processes of a boot, in their placement's order: client (init), kernel,
    server — the hosted peer has the first two."""
    peers = [peer for peer in (NK, HOSTED) if not accs["call-rtt", peer, placement.name].done]
    if not peers:
        return None
    layout = placement.layout(3 if NK in peers else 2)
    spec = {"peers": peers, "rtt_only": placement.name != FREE}
    if layout is None:
        return spec, None
    spec["client_cpus"] = sorted(layout[0])
    if NK in peers:
        spec["server_cpus"] = sorted(layout[2])
    return spec, layout[1]


def run(quick: bool, cpus: list[int] | None = None) -> list[Row]:
    """Every row under every placement over ``cpus`` (default: the CPUs this process may
    use), ROUNDS times with fresh processes."""
    c, rounds = counts(quick), ROUNDS_QUICK if quick else ROUNDS
    placements = choose_placements(cpus)
    progress(f"   {rounds} rounds; each boots a kernel whose init calls an echo server "
             f"process, then the same server hosted in the kernel ({c['rtt']} calls, "
             f"{c['sends']} sends each), then measures the peers; round trips under each "
             f"placement: {', '.join(p.name for p in placements)} "
             f"(CPUs {format_cpus(placements[0].cpus)})")
    accs = _cells(placements)
    for acc in accs.values():
        if acc.skipped and acc.bench == "call-rtt":
            progress(f"   skipped: {acc.peer} {acc.placement} — {acc.skipped}")
    for i in range(rounds):
        for placement in placements:
            _round(accs, placement, quick, c)
            where = placement.name
            rtts = "  ".join(f"{peer} {acc.round_values[-1]:g}"
                             for peer in (NK, HOSTED, *(cls.name for cls in PEERS))
                             if not (acc := accs["call-rtt", peer, where]).done
                             and acc.round_values)
            progress(f"   round {i + 1}/{rounds} {where:<8} call-rtt p50 µs  {rtts}")
    rows = [acc.row() for acc in accs.values()]
    for row in rows:
        if not row.error and not row.skipped:
            progress(f"  {row.bench:<22} {row.placement:<8} {row.peer:<17} {row.summary()}")
    return rows


def _round(accs: dict, placement: Placement, quick: bool, c: dict) -> None:
    """One round under ``placement``: a bench boot (the nanokernel peers), then the others."""
    where = placement.name
    plan = boot_plan(accs, placement)
    if plan is not None:
        spec, kernel_cpus = plan
        try:
            nk = boot_and_measure(quick, spec=spec, kernel_cpus=kernel_cpus)
        except (RuntimeError, OSError, ValueError) as exc:
            nk = {peer: {"error": str(exc)[:400]} for peer in spec["peers"]}
            if where == FREE:
                nk[NK + "-batch"] = {"error": str(exc)[:400]}
        for peer in spec["peers"]:
            _add_nanokernel(accs, peer, where, nk.get(peer, {"error": "no result"}))
        if where == FREE:
            _add_batches(accs, nk.get(NK + "-batch", nk.get(NK, {"error": "no result"})))
    for cls in dict.fromkeys([*PEERS, *TPUT_PEERS]):
        _add_peer(accs, cls, c, placement)


def summary(rows: list[Row]) -> list[str]:
    """The routed call against a direct pipe and a pipe relay under each placement, and
    the targets, from this run's rows."""
    placements = list(dict.fromkeys(r.placement or FREE for r in rows if r.bench == "call-rtt"))

    def find(bench: str, peer: str, where: str = FREE) -> Row | None:
        return find_row(rows, bench, peer, where)

    def why_not(peer: str, where: str) -> str:
        """Why the call-rtt row of ``peer`` under ``where`` has no figure."""
        row = next((r for r in rows if r.bench == "call-rtt" and r.peer == peer
                    and (r.placement or FREE) == where), None)
        if row is None:
            return f"{peer} not measured"
        return f"skipped: {row.skipped}" if row.skipped else f"{peer} FAILED"

    lines = []
    for where in placements:
        call, pipe = find("call-rtt", NK, where), find("call-rtt", "os.pipe", where)
        relay, hosted = find("call-rtt", "os.pipe-relay", where), find("call-rtt", HOSTED, where)
        if call and pipe and relay:
            lines.append(f"a routed call costs {call.p50_us / pipe.p50_us:.2f}x a direct pipe "
                         f"round trip and {call.p50_us / relay.p50_us:.2f}x a pipe relay "
                         f"through a third process (p50 {call.p50_us:.1f} µs vs "
                         f"{pipe.p50_us:.1f} and {relay.p50_us:.1f} µs) [{where}]")
        if hosted and pipe:
            lines.append(f"a call to the same server hosted in the kernel costs "
                         f"{hosted.p50_us / pipe.p50_us:.2f}x a direct pipe round trip "
                         f"(p50 {hosted.p50_us:.1f} µs) [{where}]")
    sends, pipe_sends = find("call-send-throughput", NK), find("call-send-throughput", "os.pipe")
    if sends and pipe_sends:
        lines.append(f"one-way SENDs through the router: {sends.ops_per_s:,.0f}/s = "
                     f"{sends.ops_per_s / pipe_sends.ops_per_s:.2f}x a pipe's (the server "
                     f"unpacks and dispatches each SEND; the pipe's reader only counts bytes)")
    batched, queue = find("call-throughput", NK), find("call-throughput", "mp.Queue")
    if batched and queue:
        lines.append(f"batched SENDs through the router: {batched.ops_per_s:,.0f}/s = "
                     f"{batched.ops_per_s / queue.ops_per_s:.1f}x multiprocessing.Queue's")
    lines += _targets(placements, find, why_not)
    if batched and queue:
        ratio = batched.ops_per_s / queue.ops_per_s
        lines.append(f"target  call-throughput >= 3x mp.Queue's [free]: {ratio:.1f}x "
                     f"({_met(ratio >= 3)})")
    spreads = [f"{r.peer} [{r.placement or FREE}] {min(v):.0f}-{max(v):.0f}" for r in rows
               if r.bench == "call-rtt" and not r.error and not r.skipped
               and (v := r.extra.get("round_p50_us")) and max(v) > 1.5 * min(v)]
    if spreads:
        lines.append(f"call-rtt p50 of single rounds, µs: {', '.join(spreads)} (it depends on "
                     f"which processes share a CPU; see round_p50_us in --json)")
    return lines


def _met(ok: bool) -> str:
    return "met" if ok else "NOT met"


def _targets(placements: list[str], find, why_not) -> list[str]:
    """The routed null call's targets: p50 <= 1.0x os.pipe's (free), <= 1.0x
    os.pipe-relay's and p99 <= 4x p50 under every placement."""
    lines = []
    for where in placements:
        call = find("call-rtt", NK, where)
        checks = [("os.pipe", PIPE_TARGET)] if where == FREE else []
        checks.append(("os.pipe-relay", RELAY_TARGET))
        for peer, limit in checks:
            label = f"target  call-rtt p50 <= {limit:.1f}x {peer}'s [{where}]"
            ref = find("call-rtt", peer, where)
            if call and ref:
                ratio = call.p50_us / ref.p50_us
                lines.append(f"{label}: {ratio:.2f}x ({_met(ratio <= limit)}; p50 "
                             f"{call.p50_us:.1f} µs vs {ref.p50_us:.1f} µs)")
            else:
                lines.append(f"{label}: no figure ({why_not(NK if not call else peer, where)})")
        label = f"target  call-rtt p99 <= {TAIL_TARGET:g}x p50 [{where}]"
        if call:
            ratio = call.p99_us / call.p50_us
            lines.append(f"{label}: {ratio:.2f}x ({_met(ratio <= TAIL_TARGET)}; p99 "
                         f"{call.p99_us:.1f} µs, p50 {call.p50_us:.1f} µs)")
        else:
            lines.append(f"{label}: no figure ({why_not(NK, where)})")
    return lines


if __name__ == "__main__":
    if len(sys.argv) in (4, 5) and sys.argv[1] == "init":
        init_main(sys.argv[2], sys.argv[3] == "1",
                  json.loads(sys.argv[4]) if len(sys.argv) == 5 else None)
    else:
        print("usage: nanokernel bench call [--quick] [--json]", file=sys.stderr)
        sys.exit(2)
