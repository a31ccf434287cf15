"""`nanokernel bench compare`: the same workload in microkernel, hybrid and
monolithic mode, in one run.

Each mode is a real boot (`nanokernel boot --ramdisk [--hybrid|--monolithic]`)
whose shell runs compare_client.py as a user program; the client times each
operation and counts, per operation, the messages the kernel routed, the ring
crossings and the context switches of all the system's processes.
"""

from __future__ import annotations

import json
import subprocess
import sys
import tempfile
from pathlib import Path

from nanokernel.bench.report import progress
from nanokernel.bench.stats import Row, latency_row

TITLE = "one workload in microkernel, hybrid and monolithic mode"
MODES = {"microkernel": [], "hybrid": ["--hybrid"], "monolithic": ["--monolithic"]}
CLIENT = Path(__file__).with_name("compare_client.py")


def run_mode(mode: str, flags: list[str], n: int, tmp: Path) -> dict:
    out = tmp / f"{mode}.json"
    cmd = [sys.executable, "-m", "nanokernel", "boot", "--ramdisk", *flags,
           "--log", str(tmp / f"{mode}.log"), "-c", f"run {CLIENT} {out} {n}"]
    proc = subprocess.run(cmd, capture_output=True, text=True, timeout=600,
                          stdin=subprocess.DEVNULL)
    if proc.returncode != 0 or not out.exists():
        raise RuntimeError(f"{mode} boot failed ({proc.returncode}): "
                           f"{(proc.stdout + proc.stderr).strip()[-300:]}")
    return json.loads(out.read_text())


def run(quick: bool) -> list[Row]:
    n = 40 if quick else 200
    rows: list[Row] = []
    with tempfile.TemporaryDirectory(prefix="nk-compare-") as tmp:
        for mode, flags in MODES.items():
            progress(f"   booting in {mode} mode, {n} iterations per operation")
            try:
                results = run_mode(mode, flags, n, Path(tmp))
            except (RuntimeError, subprocess.TimeoutExpired) as exc:
                rows.append(Row("compare", "nanokernel", extra={"mode": mode,
                                                                "error": str(exc)}))
                continue
            for op, r in results.items():
                if op == "mode":
                    continue
                rows.append(latency_row(
                    f"compare-{op}", "nanokernel", r["times_ns"], mode=mode,
                    messages_per_op=round(r["messages_per_op"], 2),
                    crossings_per_op=round(r["crossings_per_op"], 2),
                    ctx_switches_per_op=round(r["ctx_switches_per_op"], 2)))
    return rows


def summary(rows: list[Row]) -> list[str]:
    """Per operation: each mode's p50 and counts, and microkernel / monolithic."""
    by = {(r.bench, r.extra.get("mode")): r for r in rows if not r.error}
    ops = list(dict.fromkeys(r.bench for r in rows if not r.error))
    lines = ["", f"{'operation':<16}" + "".join(f"{m + ' p50 µs':>18}" for m in MODES)
             + f"{'micro/mono':>12}   messages (µ/h/m)   crossings (µ/h/m)   ctx sw (µ/h/m)"]
    for op in ops:
        cells = [by.get((op, m)) for m in MODES]
        p50 = "".join(f"{c.p50_us:>18.1f}" if c else f"{'-':>18}" for c in cells)
        micro, mono = cells[0], cells[2]
        ratio = f"{micro.p50_us / mono.p50_us:>11.2f}x" if micro and mono else f"{'-':>12}"

        def trio(key: str, cells=cells) -> str:
            return "/".join(f"{c.extra[key]:g}" if c else "-" for c in cells)

        lines.append(f"{op.removeprefix('compare-'):<16}{p50}{ratio}   "
                     f"{trio('messages_per_op'):<19}{trio('crossings_per_op'):<20}"
                     f"{trio('ctx_switches_per_op')}")
    return lines
