"""Printing bench rows: JSON lines, or a table with the ratio to a reference peer."""

from __future__ import annotations

import sys
from collections.abc import Iterable

from kernel.bench.stats import Row

REFERENCE_PEER = "os.pipe"


def print_json(rows: Iterable[Row], out=sys.stdout) -> None:
    for row in rows:
        print(row.as_json(), file=out, flush=True)


def _fmt(value: float | None, digits: int = 1) -> str:
    if value is None:
        return "-"
    if value >= 100_000:
        return f"{value:,.0f}"
    return f"{value:.{digits}f}"


def _ratio(row: Row, ref: Row | None) -> str:
    """Time ratio for latencies (lower is better), speed ratio for throughput."""
    if ref is None:
        return "-"
    if row.p50_us is not None and ref.p50_us:
        return f"{row.p50_us / ref.p50_us:.2f}x time"
    if row.ops_per_s and ref.ops_per_s:
        return f"{row.ops_per_s / ref.ops_per_s:.2f}x speed"
    return "-"


def print_table(rows: list[Row], out=sys.stdout, reference: str = REFERENCE_PEER) -> None:
    """One block per bench; each row's ratio is against `reference` in the same block."""
    header = f"{'bench':<22} {'peer':<14} {'p50 µs':>9} {'p99 µs':>9} {'ops/s':>12}  vs {reference}"
    print(header, file=out)
    print("-" * len(header), file=out)
    benches = list(dict.fromkeys(r.bench for r in rows))
    for bench in benches:
        block = [r for r in rows if r.bench == bench]
        ref = next((r for r in block if r.peer == reference), None)
        for r in block:
            print(f"{r.bench:<22} {r.peer:<14} {_fmt(r.p50_us, 2):>9} {_fmt(r.p99_us, 2):>9} "
                  f"{_fmt(r.ops_per_s, 0):>12}  {_ratio(r, ref)}", file=out)
    out.flush()
