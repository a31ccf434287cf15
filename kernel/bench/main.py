"""Dispatch `nanokernel bench NAME ...` to the benchmark modules."""

from __future__ import annotations

import sys

from kernel.bench import ipc
from kernel.bench.report import print_json, print_table

BENCHES = {
    "ring": ("shared-memory ring vs os.pipe, socketpair, multiprocessing", ipc.run),
}


def run_benches(names: list[str], *, quick: bool, as_json: bool) -> int:
    unknown = [n for n in names if n not in BENCHES]
    if unknown:
        print(f"bench: unknown benchmark {', '.join(unknown)} "
              f"(known: {', '.join(BENCHES)})", file=sys.stderr)
        return 2
    for name in names or list(BENCHES):
        title, run = BENCHES[name]
        if not as_json:
            print(f"== {name}: {title}", file=sys.stderr, flush=True)
        rows = run(quick)
        if as_json:
            print_json(rows)
        else:
            print_table(rows)
    return 0
