"""Rows and summary statistics shared by every benchmark.

A Row is one measured line: a workload (`bench`) run by one implementation
(`peer`).  Latency rows carry p50/p99 in microseconds, throughput rows
operations per second; the other fields stay None (JSON null).  Anything
else worth keeping (message size, batch, sample count, an error) goes in
`extra` and is flattened into the JSON object.  A row that was not measured on
purpose (a CPU placement this machine has too few CPUs for) carries `skipped`
with the reason instead of numbers; unlike `error` it does not fail the run.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field


@dataclass
class Row:
    bench: str
    peer: str
    p50_us: float | None = None
    p99_us: float | None = None
    ops_per_s: float | None = None
    extra: dict = field(default_factory=dict)

    @property
    def error(self) -> str | None:
        return self.extra.get("error")

    @property
    def skipped(self) -> str | None:
        return self.extra.get("skipped")

    @property
    def placement(self) -> str | None:
        return self.extra.get("placement")

    def as_json(self) -> str:
        data = asdict(self)
        data.update(data.pop("extra"))
        return json.dumps(data)

    def summary(self) -> str:
        """A short human line: the numbers this row has."""
        if self.error:
            return f"FAILED: {self.error}"
        if self.skipped:
            return f"SKIPPED: {self.skipped}"
        parts = []
        if self.p50_us is not None:
            parts.append(f"p50 {self.p50_us:.2f} µs  p99 {self.p99_us:.2f} µs")
        if self.ops_per_s is not None:
            parts.append(f"{self.ops_per_s:,.0f} ops/s")
        return "  ".join(parts)


def percentile(sorted_values: list[float], q: float) -> float:
    """The q-quantile (0..1) of already sorted values, nearest-rank."""
    if not sorted_values:
        return float("nan")
    index = min(len(sorted_values) - 1, max(0, round(q * (len(sorted_values) - 1))))
    return sorted_values[index]


def latency_row(bench: str, peer: str, samples_ns: list[int], **extra) -> Row:
    """A row from per-operation latencies in nanoseconds (ops_per_s stays null)."""
    values = sorted(samples_ns)
    return Row(bench, peer,
               p50_us=round(percentile(values, 0.50) / 1000, 2),
               p99_us=round(percentile(values, 0.99) / 1000, 2),
               extra={"n": len(values), **extra})


def throughput_row(bench: str, peer: str, count: int, seconds: float, **extra) -> Row:
    """A row from `count` operations that took `seconds` in all (latencies stay null)."""
    return Row(bench, peer, ops_per_s=round(count / seconds) if seconds > 0 else None,
               extra={"n": count, **extra})


def failed_row(bench: str, peer: str, error: str) -> Row:
    """A row for a measurement that did not finish; every number is null."""
    return Row(bench, peer, extra={"error": error})


def skipped_row(bench: str, peer: str, reason: str, **extra) -> Row:
    """A row deliberately not measured (every number null), and why."""
    return Row(bench, peer, extra={**extra, "skipped": reason})


def find_row(rows: list[Row], bench: str, peer: str, placement: str | None = None) -> Row | None:
    """The measured (not failed, not skipped) row of ``bench`` by ``peer`` — under
    ``placement`` when given (a row without one counts as "free") — if the run has one."""
    return next((r for r in rows if r.bench == bench and r.peer == peer and not r.error
                 and not r.skipped
                 and (placement is None or (r.placement or "free") == placement)), None)
