"""`nanokernel bench boot`: how long a boot takes and how much memory it holds.

Each run starts `nanokernel boot --ramdisk` with its stdin a pipe (so the
console reads it as a script and prints the shell's prompt), and measures:

* to_prompt — from starting the command to the first prompt on its stdout
  (interpreter start-up, the kernel, init, every server registered, the shell);
* halt — from closing stdin (end of input: the shell exits, init halts the
  system) to the boot's exit;
* rss — total resident memory of the boot right after the prompt: VmRSS of
  the kernel plus every process whose environment has NK_KERNEL_PID=<kernel>.

The peer is what one interpreter costs on the same machine: `python -c pass`
(time) and its RSS — a boot is about seven Python processes.
Targets (the performance issue): prompt < 0.5 s, RSS < 250 MB.
"""

from __future__ import annotations

import os
import select
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from nanokernel.bench.report import progress
from nanokernel.bench.stats import Row, failed_row, latency_row
from nanokernel.procfs import boot_pids, rss_kb

TITLE = "boot to the first prompt, halt, and RSS of the whole system, vs one python"
PROMPT = b"$ "
TARGET_PROMPT_S = 0.5
TARGET_RSS_MB = 250.0


def _env(root: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("NK_")}
    for var in ("HOME", "XDG_DATA_HOME", "XDG_STATE_HOME", "XDG_CONFIG_HOME"):
        (root / var).mkdir(exist_ok=True)
        env[var] = str(root / var)
    return env


def _read_until(fd: int, wanted: bytes, deadline: float) -> bool:
    seen = b""
    while wanted not in seen:
        left = deadline - time.monotonic()
        if left <= 0 or not select.select([fd], [], [], left)[0]:
            return False
        chunk = os.read(fd, 65536)
        if not chunk:
            return False
        seen = seen[-64:] + chunk
    return True


def one_boot(root: Path, timeout: float = 30.0) -> tuple[float, float, int, int]:
    """(seconds to prompt, seconds to halt, RSS in kB, processes) of one boot."""
    t0 = time.monotonic()
    proc = subprocess.Popen(
        [sys.executable, "-m", "nanokernel", "boot", "--ramdisk", "--log", str(root / "boot.log")],
        stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL,
        env=_env(root))
    try:
        if not _read_until(proc.stdout.fileno(), PROMPT, t0 + timeout):
            raise RuntimeError("no prompt (see the boot log)")
        to_prompt = time.monotonic() - t0
        pids = boot_pids(proc.pid)
        rss = sum(rss_kb(p) for p in pids)
        t1 = time.monotonic()
        proc.stdin.close()
        while _read_until(proc.stdout.fileno(), b"\0never\0", t1 + timeout):
            pass   # drain until the boot closes its stdout
        proc.wait(timeout=max(0.1, t1 + timeout - time.monotonic()))
        return to_prompt, time.monotonic() - t1, rss, len(pids)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()


def python_floor(runs: int) -> tuple[list[int], int]:
    """`python -c pass`: start-up times (ns) and one interpreter's RSS (kB)."""
    times = []
    for _ in range(runs):
        t0 = time.perf_counter_ns()
        subprocess.run([sys.executable, "-c", "pass"], check=True)
        times.append(time.perf_counter_ns() - t0)
    rss = subprocess.run([sys.executable, "-c", "import pathlib; print(next(l.split()[1] for l in "
                          "pathlib.Path('/proc/self/status').read_text().splitlines() "
                          "if l.startswith('VmRSS:')))"],
                         capture_output=True, text=True, check=True)
    return times, int(rss.stdout)


def run(quick: bool) -> list[Row]:
    runs = 3 if quick else 10
    prompts, halts, rss, procs = [], [], [], 0
    with tempfile.TemporaryDirectory(prefix="nk-bench-boot-") as tmp:
        for i in range(runs):
            root = Path(tmp) / str(i)
            root.mkdir()
            try:
                p, h, r, procs = one_boot(root)
            except (RuntimeError, subprocess.TimeoutExpired, OSError) as exc:
                return [failed_row("boot.to_prompt", "nanokernel", str(exc))]
            prompts.append(int(p * 1e9))
            halts.append(int(h * 1e9))
            rss.append(r)
            progress(f"boot {i + 1}/{runs}: prompt {p * 1000:.0f} ms, halt {h * 1000:.0f} ms,"
                     f" {r / 1024:.0f} MB in {procs} processes")
    floor, py_rss = python_floor(runs)
    rss_mb = sorted(r / 1024 for r in rss)
    return [
        latency_row("boot.to_prompt", "nanokernel", prompts, target_s=TARGET_PROMPT_S),
        latency_row("boot.to_prompt", "python -c pass", floor),
        latency_row("boot.halt", "nanokernel", halts),
        Row("boot.rss", "nanokernel", extra={
            "n": runs, "rss_mb_p50": round(rss_mb[len(rss_mb) // 2], 1),
            "rss_mb_max": round(rss_mb[-1], 1), "processes": procs,
            "target_mb": TARGET_RSS_MB}),
        Row("boot.rss", "python -c pass", extra={"rss_mb": round(py_rss / 1024, 1)}),
    ]


def summary(rows: list[Row]) -> list[str]:
    """Lines after the table: the targets and the RSS (which the table has no column for)."""
    by = {(r.bench, r.peer): r for r in rows}
    prompt, rss = by.get(("boot.to_prompt", "nanokernel")), by.get(("boot.rss", "nanokernel"))
    py = by.get(("boot.rss", "python -c pass"))
    if prompt is None or prompt.error or rss is None:
        return []
    p50_s = prompt.p50_us / 1e6
    mb = rss.extra["rss_mb_p50"]
    per = f" ({mb / py.extra['rss_mb']:.1f}x one python)" if py and py.extra.get("rss_mb") else ""
    return [
        f"boot to prompt p50 {p50_s:.2f} s — target < {TARGET_PROMPT_S:g} s: "
        f"{'met' if p50_s < TARGET_PROMPT_S else 'MISSED'}",
        f"RSS after boot p50 {mb:.0f} MB in {rss.extra['processes']} processes{per} — "
        f"target < {TARGET_RSS_MB:.0f} MB: {'met' if mb < TARGET_RSS_MB else 'MISSED'}",
    ]
