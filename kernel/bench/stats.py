"""Rows and summary statistics shared by every benchmark."""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field


@dataclass
class Row:
    """One measured line: a workload (`bench`) run by one implementation (`peer`)."""

    bench: str
    peer: str
    p50_us: float | None = None
    p99_us: float | None = None
    ops_per_s: float | None = None
    extra: dict = field(default_factory=dict)

    def as_json(self) -> str:
        data = asdict(self)
        data.update(data.pop("extra"))
        return json.dumps(data)


def percentile(sorted_values: list[float], q: float) -> float:
    """The q-quantile (0..1) of already sorted values, nearest-rank."""
    if not sorted_values:
        return float("nan")
    index = min(len(sorted_values) - 1, max(0, round(q * (len(sorted_values) - 1))))
    return sorted_values[index]


def latency_row(bench: str, peer: str, samples_ns: list[int], **extra) -> Row:
    """A row from per-operation latencies in nanoseconds."""
    values = sorted(samples_ns)
    total_s = sum(values) / 1e9
    return Row(bench, peer,
               p50_us=round(percentile(values, 0.50) / 1000, 2),
               p99_us=round(percentile(values, 0.99) / 1000, 2),
               ops_per_s=round(len(values) / total_s) if total_s else None,
               extra=extra)


def throughput_row(bench: str, peer: str, count: int, seconds: float, **extra) -> Row:
    """A row from `count` operations that took `seconds` in all."""
    return Row(bench, peer, ops_per_s=round(count / seconds) if seconds > 0 else None, extra=extra)
