"""Dispatch `nanokernel bench NAME ...` to the benchmark modules.

Adding a benchmark: write `nanokernel/bench/NAME.py` with

    TITLE = "one line saying what is compared with what"
    def run(quick: bool) -> list[Row]: ...   # rows from nanokernel.bench.stats
    def summary(rows) -> list[str]: ...      # optional: lines under the table

measuring the nanokernel and its peers in the same run, and add one line to
BENCHES below.  Modules are imported only when their benchmark runs, so a
broken or slow-to-import benchmark never affects the others.  Progress goes to
stderr through nanokernel.bench.report.progress; results are printed here.

Every bench names the machine it ran on (nanokernel.bench.machine): the table
starts with a ``machine: <CPU model>, N CPUs (M usable by the bench), Python X,
Linux R, DATE, load L1 L5 L15 at the start`` line, and with ``--json`` every row —
still one JSON object per line, one line per row — carries the same ``"machine":
{"cpu_model", "cpu_count", "cpus_usable", "python", "kernel", "date", "loadavg"}``
object (taken once per run), so a row read on its own still says where it was measured.

`nanokernel/bench/readme.py` (``make readme-bench``) runs benches through
``bench_text`` and writes their text into README.md between marker comments.
"""

from __future__ import annotations

import importlib
import io
import sys

from nanokernel.bench.machine import machine_info, machine_line
from nanokernel.bench.report import print_json, print_table, progress
from nanokernel.bench.stats import Row

# name -> module (imported lazily); the module's TITLE and run() do the rest.
BENCHES: dict[str, str] = {
    "ring": "nanokernel.bench.ipc",
    "fs": "nanokernel.bench.fs",
    "boot": "nanokernel.bench.boot",
    "compare": "nanokernel.bench.compare",
    "call": "nanokernel.bench.call",
    "ipc": "nanokernel.bench.pipes",
    "net": "nanokernel.bench.net",
}


def measure(name: str, *, quick: bool) -> tuple[object, list[Row]]:
    """Run one benchmark: its module and its rows."""
    module = importlib.import_module(BENCHES[name])
    progress(f"== bench {name}: {module.TITLE}{' (quick)' if quick else ''}")
    return module, module.run(quick)


def print_text(module, rows: list[Row], machine: dict, out=None) -> None:
    """The machine line, the table and the module's summary lines."""
    out = out or sys.stdout
    print(machine_line(machine), file=out)
    print_table(rows, out=out)
    for line in getattr(module, "summary", lambda rows: [])(rows):
        print(line, file=out)
    out.flush()


def bench_text(name: str, *, quick: bool, machine: dict | None = None) -> tuple[str, list[Row]]:
    """What ``nanokernel bench NAME`` prints (without --json), as a string, and the rows."""
    module, rows = measure(name, quick=quick)
    out = io.StringIO()
    print_text(module, rows, machine or machine_info(), out=out)
    return out.getvalue(), rows


def run_benches(names: list[str], *, quick: bool, as_json: bool) -> int:
    """Run the named benchmarks (all when none are named); 0 when every row was measured."""
    unknown = [n for n in names if n not in BENCHES]
    if unknown:
        print(f"bench: unknown benchmark {', '.join(unknown)} "
              f"(known: {', '.join(BENCHES)})", file=sys.stderr)
        return 2
    status = 0
    machine = machine_info()
    for name in dict.fromkeys(names or BENCHES):
        module, rows = measure(name, quick=quick)
        if as_json:
            for row in rows:
                row.extra["machine"] = machine
            print_json(rows)
        else:
            print_text(module, rows, machine)
        if any(row.error for row in rows):
            status = 1
    return status
