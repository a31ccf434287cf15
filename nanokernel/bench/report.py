"""Printing bench rows: JSON lines, or a table with the ratio to a reference peer.

Results go to stdout; progress goes to stderr, so `--json` output stays
machine-readable while a long run still shows what it is doing.
"""

from __future__ import annotations

import sys
from collections.abc import Iterable

from nanokernel.bench.stats import Row

REFERENCE_PEER = "os.pipe"


def progress(message: str) -> None:
    """One line of progress on stderr."""
    print(message, file=sys.stderr, flush=True)


def print_json(rows: Iterable[Row], out=None) -> None:
    out = out or sys.stdout
    for row in rows:
        print(row.as_json(), file=out, flush=True)


def _fmt(value: float | None, digits: int = 1) -> str:
    if value is None:
        return "-"
    if value >= 100_000:
        return f"{value:,.0f}"
    return f"{value:.{digits}f}"


def ratio(row: Row, ref: Row | None) -> str:
    """Latency as a fraction of the reference's time; throughput as a multiple of its speed."""
    if ref is None or row.error or row.skipped:
        return "-"
    if row.p50_us is not None and ref.p50_us:
        return f"{row.p50_us / ref.p50_us:.2f}x time"
    if row.ops_per_s and ref.ops_per_s:
        return f"{row.ops_per_s / ref.ops_per_s:.2f}x speed"
    return "-"


def print_table(rows: list[Row], out=None, reference: str = REFERENCE_PEER) -> None:
    """One block per bench (and CPU placement, when the rows have one: then a placement
    column too); each row's ratio is against `reference` in the same block."""
    out = out or sys.stdout
    w = max([11, *(len(r.peer) for r in rows)])   # the peer column fits the longest name
    placed = any(r.placement for r in rows)
    pw = max([9, *(len(r.placement or "") for r in rows)]) if placed else 0

    def lead(r: Row) -> str:
        where = f" {r.placement or '-':<{pw}}" if placed else ""
        return f"{r.bench:<22}{where} {r.peer:<{w}}"

    where = f" {'placement':<{pw}}" if placed else ""
    header = (f"{'bench':<22}{where} {'peer':<{w}} {'p50 µs':>9} {'p99 µs':>9} {'ops/s':>12}"
              f"  vs {reference}")
    print(header, file=out)
    for block_key in dict.fromkeys((r.bench, r.placement) for r in rows):
        print("-" * len(header), file=out)
        block = [r for r in rows if (r.bench, r.placement) == block_key]
        ref = next((r for r in block if r.peer == reference and not r.error and not r.skipped),
                   None)
        for r in block:
            if r.error or r.skipped:
                print(f"{lead(r)} {r.summary()}", file=out)
                continue
            print(f"{lead(r)} {_fmt(r.p50_us, 2):>9} {_fmt(r.p99_us, 2):>9} "
                  f"{_fmt(r.ops_per_s, 0):>12}  {ratio(r, ref)}", file=out)
    out.flush()
