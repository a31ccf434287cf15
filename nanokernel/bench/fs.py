"""`nanokernel bench fs`: file reads and writes through fs → block vs a host file.

Rows (each nanokernel row next to its peer, measured in the same run):

  fs-read-4k   4 KiB reads at random 4 KiB offsets of a 1 MiB file (p50, p99, ops/s)
  fs-write-4k  4 KiB overwrites at random offsets of that file   (p50, p99, ops/s)
  fs-read-1m   a whole 1 MiB file read with File.read()          (MB/s)

Peers: "host-open" does the same on a file in a temporary directory with
Python's open() (seek + read; seek + write + flush, so each write reaches
the OS as ours reach the fs server; open().read() for the whole file).

The nanokernel side boots a real system — kernel, init, naming, block on a
ramdisk, fs — with a generated boot.toml whose session program is this
module (`python -m nanokernel.bench.fs client OUT QUICK`); the client measures
with lookup("fs") / File, writes its numbers to OUT as JSON and exits,
which halts the system.  `messages_per_op` is the kernel's messages_routed
delta over the loop divided by the ops (client↔fs and fs↔block messages,
including the group commits a write causes); `vs_host` is our speed as a
fraction of the peer's.
"""

from __future__ import annotations

import json
import os
import random
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from nanokernel.bench.stats import Row, failed_row, percentile

TITLE = "file read/write through the fs and block servers vs a host file with open()"
FILE_SIZE = 1024 * 1024
KB4 = 4096
PEER_HOST = "host-open"
PEER_NK = "nanokernel"
RAMDISK = 16 * 1024 * 1024

CONFIG = """\
[servers.naming]
module = "servers.naming"
privileged = true
calls = []

[servers.block]
module = "servers.block"
calls = []

[servers.fs]
module = "servers.fs"
depends = ["block"]
public = true
calls = ["block"]

[servers.bench]
module = "nanokernel.bench.fs"
args = ["client", {out}, "{quick}"]
session = true
privileged = true
calls = ["*"]
depends = ["naming", "block", "fs"]
"""


def counts(quick: bool) -> dict[str, int]:
    return {"read": 300 if quick else 3000, "write": 200 if quick else 2000,
            "big": 5 if quick else 30}


# --- measuring -----------------------------------------------------------------
def _lat_stats(samples: list[int], seconds: float) -> dict[str, float]:
    values = sorted(samples)
    return {"p50_us": round(percentile(values, 0.5) / 1000, 2),
            "p99_us": round(percentile(values, 0.99) / 1000, 2),
            "ops_per_s": round(len(values) / seconds) if seconds > 0 else None,
            "n": len(values)}


def _timed(n: int, fn) -> dict[str, float]:
    samples = []
    t0 = time.perf_counter()
    for i in range(n):
        s = time.perf_counter_ns()
        fn(i)
        samples.append(time.perf_counter_ns() - s)
    return _lat_stats(samples, time.perf_counter() - t0)


def _offsets(n: int) -> list[int]:
    rng = random.Random(7)
    return [rng.randrange(FILE_SIZE // KB4) * KB4 for _ in range(n)]


def measure_host(quick: bool) -> dict[str, dict]:
    """The peer: the same workload on a host file with Python's open()."""
    c = counts(quick)
    data = os.urandom(FILE_SIZE)
    block = os.urandom(KB4)
    with tempfile.TemporaryDirectory(prefix="nk-bench-fs-") as tmp:
        path = Path(tmp) / "file.bin"
        path.write_bytes(data)
        out: dict[str, dict] = {}
        with open(path, "r+b") as f:
            reads = _offsets(c["read"])
            out["read4k"] = _timed(len(reads), lambda i: (f.seek(reads[i]), f.read(KB4)))
            writes = _offsets(c["write"])
            out["write4k"] = _timed(len(writes), lambda i: (f.seek(writes[i]), f.write(block),
                                                           f.flush()))
        t0 = time.perf_counter()
        for _ in range(c["big"]):
            with open(path, "rb") as f:
                assert len(f.read()) == FILE_SIZE
        out["read1m"] = {"seconds": time.perf_counter() - t0, "n": c["big"]}
    return out


def measure_nanokernel(quick: bool) -> dict[str, dict]:
    """Runs inside the booted system (the session program): the same workload via fs."""
    from libipc import File, kernel, lookup
    c = counts(quick)
    fs = lookup("fs")
    k = kernel()
    path = "/home/bench.bin"
    with File(path, "wb") as f:
        f.write(os.urandom(FILE_SIZE))
    fs.sync()

    def routed() -> int:
        return k.stats()["messages_routed"]

    out: dict[str, dict] = {}
    reads = _offsets(c["read"])
    before = routed()
    out["read4k"] = _timed(len(reads), lambda i: fs.read(path=path, offset=reads[i], size=KB4))
    out["read4k"]["messages"] = routed() - before - 2   # the stats call is 2 messages
    writes = _offsets(c["write"])
    block = os.urandom(KB4)
    before = routed()
    out["write4k"] = _timed(len(writes), lambda i: fs.write(path=path, offset=writes[i],
                                                           data=block))
    fs.sync()   # count the commits the writes caused, too
    out["write4k"]["messages"] = routed() - before - 2
    before = routed()
    t0 = time.perf_counter()
    for _ in range(c["big"]):
        with File(path, "rb") as f:
            assert len(f.read()) == FILE_SIZE
    out["read1m"] = {"seconds": time.perf_counter() - t0, "n": c["big"],
                     "messages": routed() - before - 2}
    return out


# --- booting ---------------------------------------------------------------------
def boot_and_measure(quick: bool, timeout: float = 300.0) -> dict[str, dict]:
    """Boot a ramdisk system whose session program is `client`; return its numbers."""
    with tempfile.TemporaryDirectory(prefix="nk-bench-fs-boot-") as tmp:
        out = Path(tmp) / "result.json"
        config = Path(tmp) / "boot.toml"
        config.write_text(CONFIG.format(out=json.dumps(str(out)), quick=int(quick)))
        log = Path(tmp) / "boot.log"
        env = dict(os.environ)
        env.setdefault("XDG_STATE_HOME", tmp)
        argv = [sys.executable, "-m", "nanokernel", "boot", "--ramdisk", "--config",
                str(config), "--log", str(log)]
        proc = subprocess.run(argv, env=env, stdin=subprocess.DEVNULL, capture_output=True,
                              text=True, timeout=timeout)
        if not out.exists():
            tail = log.read_text()[-1500:] if log.exists() else ""
            raise RuntimeError(f"boot exited {proc.returncode} without results: "
                               f"{proc.stderr.strip()[-500:]} {tail}")
        result = json.loads(out.read_text())
        if "error" in result:
            raise RuntimeError(result["error"])
        return result


# --- rows --------------------------------------------------------------------------
def _row(bench: str, peer: str, m: dict, **extra) -> Row:
    return Row(bench, peer, p50_us=m.get("p50_us"), p99_us=m.get("p99_us"),
               ops_per_s=m.get("ops_per_s"), extra={"n": m["n"], **extra})


def make_rows(host: dict, nk: dict) -> list[Row]:
    rows = []
    for bench, key in (("fs-read-4k", "read4k"), ("fs-write-4k", "write4k")):
        h, n = host[key], nk[key]
        rows.append(_row(bench, PEER_HOST, h))
        rows.append(_row(bench, PEER_NK, n, messages_per_op=round(n["messages"] / n["n"], 2),
                         vs_host=round(n["ops_per_s"] / h["ops_per_s"], 4)))
    h, n = host["read1m"], nk["read1m"]
    h_mb = h["n"] * FILE_SIZE / h["seconds"] / 1e6
    n_mb = n["n"] * FILE_SIZE / n["seconds"] / 1e6
    rows.append(Row("fs-read-1m", PEER_HOST, ops_per_s=round(h["n"] / h["seconds"], 1),
                    extra={"n": h["n"], "mb_per_s": round(h_mb, 1)}))
    rows.append(Row("fs-read-1m", PEER_NK, ops_per_s=round(n["n"] / n["seconds"], 1),
                    extra={"n": n["n"], "mb_per_s": round(n_mb, 1),
                           "messages_per_op": round(n["messages"] / n["n"], 1),
                           "vs_host": round(n_mb / h_mb, 4)}))
    return rows


def run(quick: bool) -> list[Row]:
    from nanokernel.bench.report import progress
    progress("   host file with open() ...")
    host = measure_host(quick)
    progress("   booting a ramdisk system, measuring through fs ...")
    try:
        nk = boot_and_measure(quick)
    except Exception as exc:   # a failed boot is a failed row, not a crash
        return [failed_row(b, PEER_NK, f"{type(exc).__name__}: {exc}"[:300])
                for b in ("fs-read-4k", "fs-write-4k", "fs-read-1m")]
    return make_rows(host, nk)


def summary(rows: list[Row]) -> list[str]:
    """Lines under the table: ratio to the host file and messages per operation."""
    lines = []
    for r in rows:
        if r.peer == PEER_NK and not r.error:
            speed = (f"{r.extra['mb_per_s']} MB/s" if "mb_per_s" in r.extra
                     else f"{r.ops_per_s:,} ops/s")
            lines.append(f"{r.bench}: {speed} = {r.extra['vs_host']:.3f}x the host file's "
                         f"speed, {r.extra['messages_per_op']} messages per operation")
    return lines


def client(out: str, quick: bool) -> int:
    """The session program of the bench boot: measure, write JSON, exit."""
    try:
        result = measure_nanokernel(quick)
    except BaseException as exc:
        import traceback
        result = {"error": f"{type(exc).__name__}: {exc}\n{traceback.format_exc()[-800:]}"}
    Path(out).write_text(json.dumps(result))
    return 0 if "error" not in result else 1


if __name__ == "__main__":
    if len(sys.argv) == 4 and sys.argv[1] == "client":
        sys.exit(client(sys.argv[2], sys.argv[3] == "1"))
    print("usage: nanokernel bench fs [--quick] [--json]", file=sys.stderr)
    sys.exit(2)
