"""Dispatch `nanokernel bench NAME ...` to the benchmark modules.

Adding a benchmark: write `nanokernel/bench/NAME.py` with

    TITLE = "one line saying what is compared with what"
    def run(quick: bool) -> list[Row]: ...   # rows from nanokernel.bench.stats
    def summary(rows) -> list[str]: ...      # optional: lines under the table

measuring the nanokernel and its peers in the same run, and add one line to
BENCHES below.  Modules are imported only when their benchmark runs, so a
broken or slow-to-import benchmark never affects the others.  Progress goes to
stderr through nanokernel.bench.report.progress; results are printed here.
"""

from __future__ import annotations

import importlib
import sys

from nanokernel.bench.report import print_json, print_table, progress

# name -> module (imported lazily); the module's TITLE and run() do the rest.
BENCHES: dict[str, str] = {
    "ring": "nanokernel.bench.ipc",
    "fs": "nanokernel.bench.fs",
    "boot": "nanokernel.bench.boot",
    "compare": "nanokernel.bench.compare",
    "call": "nanokernel.bench.call",
}


def run_benches(names: list[str], *, quick: bool, as_json: bool) -> int:
    """Run the named benchmarks (all when none are named); 0 when every row was measured."""
    unknown = [n for n in names if n not in BENCHES]
    if unknown:
        print(f"bench: unknown benchmark {', '.join(unknown)} "
              f"(known: {', '.join(BENCHES)})", file=sys.stderr)
        return 2
    status = 0
    for name in dict.fromkeys(names or BENCHES):
        module = importlib.import_module(BENCHES[name])
        progress(f"== bench {name}: {module.TITLE}{' (quick)' if quick else ''}")
        rows = module.run(quick)
        if as_json:
            print_json(rows)
        else:
            print_table(rows)
            for line in getattr(module, "summary", lambda rows: [])(rows):
                print(line)
        if any(row.error for row in rows):
            status = 1
    return status
