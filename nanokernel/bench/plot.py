"""Charts of bench rows: ``nanokernel bench [NAME...] --plot FILE.svg|png [--from RUN.jsonl]``.

One panel per block of the table (a bench, and its CPU placement when it has one): a
horizontal bar per peer, its figure as a multiple of the block's reference peer's —
``os.pipe`` as in the table when the block has it, else its first measured peer that is
not the nanokernel (the host's fs, a pyzmq socket), else its first measured row.  A
latency block compares p50 times (lower is better), a throughput block operations per
second (higher is better); each bar says its ratio and its own figure.  A block whose
ratios span more than ``LOG_SPREAD`` is drawn on a log scale, the others on a linear one
from 0.  Skipped and failed rows keep their line, with the reason instead of a bar.
The caption is the machine line of the run (CPU, CPUs, Python, kernel, date, load),
taken from the rows' ``machine`` object, so a chart of a saved run names where and
when it was measured, not where it was drawn.

matplotlib is the optional extra ``plot`` (``pip install 'nanokernel[plot]'``): it is
imported only here, and checked before any benchmark runs, so a missing matplotlib is
one line and exit status 2 instead of a traceback after minutes of measuring.

``--from RUN.jsonl`` runs nothing: it reads the rows of a saved ``--json`` run (``-`` for
stdin) and draws them (with ``--plot``) or prints their table (without).
"""

from __future__ import annotations

import json
import sys
import textwrap
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any

from nanokernel.bench.machine import machine_info, machine_line
from nanokernel.bench.report import REFERENCE_PEER, print_json, print_table, progress
from nanokernel.bench.stats import Row

FORMATS = (".svg", ".png")
MISSING = ("nanokernel bench: --plot needs matplotlib: pip install 'nanokernel[plot]' "
           "(or `make setup`, which installs the plot extra)")
LOG_SPREAD = 8.0        # largest / smallest ratio of a block above which its axis is log
ROW_FIELDS = ("bench", "peer", "p50_us", "p99_us", "ops_per_s")

NK_COLOR, REF_COLOR, PEER_COLOR = "#1f5fa8", "#8c8c8c", "#9cc3e6"


class PlotError(Exception):
    """A --plot/--from problem worth one line (and exit status 2)."""


# -- rows in, rows out ------------------------------------------------------------------

def row_from_json(obj: dict[str, Any]) -> Row:
    """A Row back from one ``--json`` line (its extra fields flattened, as Row.as_json)."""
    if not isinstance(obj.get("bench"), str) or not isinstance(obj.get("peer"), str):
        raise ValueError("not a bench row")

    def number(key: str) -> float | None:
        value = obj.get(key)
        return float(value) if isinstance(value, int | float) else None

    extra = {k: v for k, v in obj.items() if k not in ROW_FIELDS}
    return Row(obj["bench"], obj["peer"], p50_us=number("p50_us"), p99_us=number("p99_us"),
               ops_per_s=number("ops_per_s"), extra=extra)


def load_rows(lines: Iterable[str]) -> tuple[list[Row], int]:
    """The rows of a saved --json run, and how many non-empty lines were not rows."""
    rows, bad = [], 0
    for line in lines:
        if not line.strip():
            continue
        try:
            rows.append(row_from_json(json.loads(line)))
        except (ValueError, TypeError, AttributeError):
            bad += 1
    return rows, bad


def read_rows(source: str) -> list[Row]:
    """The rows of ``source`` (a file, or - for stdin); PlotError when it has none."""
    try:
        if source == "-":
            rows, bad = load_rows(sys.stdin)
        else:
            with Path(source).open(encoding="utf-8", errors="replace") as f:
                rows, bad = load_rows(f)
    except OSError as exc:
        raise PlotError(f"nanokernel bench: --from {source}: {exc.strerror}") from None
    if bad:
        progress(f"nanokernel bench: --from {source}: skipped {bad} line(s) that are not "
                 f"bench rows")
    if not rows:
        raise PlotError(f"nanokernel bench: --from {source}: no bench rows (a file written "
                        f"by `nanokernel bench --json`)")
    return rows


def machines(rows: list[Row]) -> list[dict]:
    """The distinct machine objects of the rows, in order."""
    out: list[dict] = []
    for row in rows:
        m = row.extra.get("machine")
        if isinstance(m, dict) and m not in out:
            out.append(m)
    return out


def caption(rows: list[Row]) -> str:
    """The machine line(s) of the run the rows come from."""
    lines = []
    for m in machines(rows):
        try:
            lines.append(machine_line(m))
        except (KeyError, TypeError, ValueError):
            continue
    return "\n".join(lines) or "machine: not recorded in these rows"


# -- what a panel shows -----------------------------------------------------------------

@dataclass
class Bar:
    peer: str
    ratio: float | None      # None: no figure (skipped, failed, not measured)
    figure: str              # its own figure ("71.0 µs", "185,976/s") or why there is none
    nanokernel: bool
    reference: bool


@dataclass
class Panel:
    title: str
    subtitle: str
    bars: list[Bar]

    @property
    def log(self) -> bool:
        ratios = [b.ratio for b in self.bars if b.ratio]
        return bool(ratios) and max(ratios) / min(ratios) > LOG_SPREAD


def _measured(row: Row) -> bool:
    return not row.error and not row.skipped and bool(row.p50_us or row.ops_per_s)


def _reference(block: list[Row], latency: bool) -> Row | None:
    measured = [r for r in block if _measured(r) and (r.p50_us if latency else r.ops_per_s)]
    return (next((r for r in measured if r.peer == REFERENCE_PEER), None)
            or next((r for r in measured if not r.peer.startswith("nanokernel")), None)
            or (measured[0] if measured else None))


def _figure(row: Row, latency: bool) -> str:
    if row.error:
        return f"failed: {row.error}"
    if row.skipped:
        return f"skipped: {row.skipped}"
    if latency:
        return f"{row.p50_us:,.1f} µs" if row.p50_us else "no p50"
    return f"{row.ops_per_s:,.0f}/s" if row.ops_per_s else "no ops/s"


def panels(rows: list[Row]) -> list[Panel]:
    """One panel per (bench, placement) block, in the order of the rows."""
    out = []
    for key in dict.fromkeys((r.bench, r.placement) for r in rows):
        block = [r for r in rows if (r.bench, r.placement) == key]
        latency = any(r.p50_us for r in block if _measured(r))
        ref = _reference(block, latency)
        bars = []
        for r in block:
            value = (r.p50_us if latency else r.ops_per_s) if _measured(r) else None
            base = (ref.p50_us if latency else ref.ops_per_s) if ref is not None else None
            bars.append(Bar(r.peer, value / base if value and base else None,
                            _figure(r, latency), r.peer.startswith("nanokernel"), r is ref))
        bench, placement = key
        title = f"{bench} [{placement}]" if placement else bench
        if ref is None:
            subtitle = "nothing measured"
        elif latency:
            subtitle = f"p50 time as a multiple of {ref.peer}'s (lower is better)"
        else:
            subtitle = f"ops/s as a multiple of {ref.peer}'s (higher is better)"
        out.append(Panel(title, subtitle, bars))
    return out


# -- drawing ----------------------------------------------------------------------------

def check_plot_path(path: str) -> Path:
    """The --plot file, checked before anything is measured: PlotError if it cannot be
    written or matplotlib is missing."""
    target = Path(path)
    if target.suffix.lower() not in FORMATS:
        raise PlotError(f"nanokernel bench: --plot {path}: the file must end in .svg or .png")
    if not target.resolve().parent.is_dir():
        raise PlotError(f"nanokernel bench: --plot {path}: no directory "
                        f"{target.resolve().parent}")
    try:
        import matplotlib  # noqa: F401  (the plot extra)
    except ImportError:
        raise PlotError(MISSING) from None
    return target


def _ratio_text(ratio: float) -> str:
    return f"{ratio:.2f}x" if ratio < 100 else f"{ratio:,.0f}x"


def _draw(ax: Any, panel: Panel) -> None:
    from matplotlib.ticker import FuncFormatter, LogLocator, NullFormatter

    bars = panel.bars
    ys = list(range(len(bars)))
    ratios = [b.ratio for b in bars if b.ratio]
    ax.set_title(f"{panel.title}\n{panel.subtitle}", fontsize=9, loc="left")
    ax.set_yticks(ys, [b.peer for b in bars], fontsize=8)
    ax.tick_params(axis="x", labelsize=7)
    if not ratios:
        ax.set_xlim(0, 1)
        ax.set_xticks([])
        base, right = 0.0, 1.0
    elif panel.log:
        ax.set_xscale("log")
        base = min(min(ratios), 1.0) / 1.8
        right = max(max(ratios), 1.0) * 4.0
        ax.set_xlim(base, right)
        ax.xaxis.set_major_locator(LogLocator(base=10, subs=(1.0, 2.0, 5.0)))
        ax.xaxis.set_minor_formatter(NullFormatter())
    else:
        base, right = 0.0, max(max(ratios), 1.0) * 1.45
        ax.set_xlim(base, right)
    if ratios:
        ax.axvline(1.0, color="#444444", linewidth=0.8, linestyle=":")
        ax.xaxis.set_major_formatter(FuncFormatter(lambda x, _pos: f"{x:g}x"))
    for y, b in zip(ys, bars, strict=True):
        if b.ratio is None:
            reason = textwrap.shorten(b.figure, 70, placeholder="…")
            ax.text(base if not panel.log else base * 1.1, y, "  " + reason, va="center",
                    fontsize=7, color="#a03030" if reason.startswith("failed") else "#666666",
                    style="italic")
            continue
        color = REF_COLOR if b.reference else NK_COLOR if b.nanokernel else PEER_COLOR
        ax.barh(y, b.ratio - base, left=base, color=color, height=0.62)
        label = f" {_ratio_text(b.ratio)}  {b.figure}" + ("  (reference)" if b.reference else "")
        ax.text(b.ratio, y, label, va="center", fontsize=7)
    ax.set_ylim(len(bars) - 0.5, -0.5)   # the first row on top; rows without a bar too
    ax.grid(axis="x", color="#dddddd", linewidth=0.5)
    ax.set_axisbelow(True)
    for side in ("top", "right"):
        ax.spines[side].set_visible(False)


def draw(rows: list[Row], path: Path | str, *, title: str | None = None) -> Path:
    """Draw the rows' panels into ``path`` (.svg or .png, by its suffix)."""
    import matplotlib
    from matplotlib.figure import Figure

    path = Path(path)
    fmt = path.suffix.lower().lstrip(".")
    if "." + fmt not in FORMATS:
        raise PlotError(f"nanokernel bench: --plot {path}: the file must end in .svg or .png")
    shown = panels(rows)
    if not shown:
        raise PlotError("nanokernel bench: --plot: no rows to draw")
    ncols = 1 if len(shown) == 1 else 2
    grid = [shown[i:i + ncols] for i in range(0, len(shown), ncols)]
    heights = [0.95 + 0.27 * max(len(p.bars) for p in line) for line in grid]
    text = caption(rows)
    width = 7.5 * ncols
    with matplotlib.rc_context({"svg.hashsalt": "nanokernel", "svg.fonttype": "path"}):
        fig = Figure(figsize=(width, sum(heights) + 0.9 + 0.18 * text.count("\n")),
                     layout="constrained")
        axes = fig.subplots(len(grid), ncols, squeeze=False,
                            gridspec_kw={"height_ratios": heights})
        for i, line in enumerate(grid):
            for j in range(ncols):
                if j < len(line):
                    _draw(axes[i][j], line[j])
                else:
                    axes[i][j].set_visible(False)
        fig.suptitle(title or "nanokernel bench: each peer as a multiple of the block's "
                     "reference, measured in the same run", fontsize=11)
        wrapped = "\n".join(textwrap.fill(line, int(width * 17)) for line in text.splitlines())
        fig.supxlabel(wrapped, fontsize=7.5, color="#333333")
        metadata = {"Date": None} if fmt == "svg" else None
        fig.savefig(path, format=fmt, dpi=120, metadata=metadata)
    return path


# -- the command ------------------------------------------------------------------------

def _measure(names: list[str], *, quick: bool, as_json: bool,
             out: IO[str]) -> tuple[int, list[Row]]:
    """What run_benches does (print each bench's rows as they come), keeping the rows."""
    from nanokernel.bench.main import BENCHES, measure, print_text

    unknown = [n for n in names if n not in BENCHES]
    if unknown:
        raise PlotError(f"bench: unknown benchmark {', '.join(unknown)} "
                        f"(known: {', '.join(BENCHES)})")
    status, kept = 0, []
    machine = machine_info()
    for name in dict.fromkeys(names or BENCHES):
        module, rows = measure(name, quick=quick)
        for row in rows:
            row.extra["machine"] = machine
        if as_json:
            print_json(rows, out=out)
        else:
            print_text(module, rows, machine, out=out)
        if any(row.error for row in rows):
            status = 1
        kept += rows
    return status, kept


def bench_command(names: list[str], *, quick: bool, as_json: bool, plot: str | None,
                  from_file: str | None, out: IO[str] | None = None) -> int:
    """``nanokernel bench`` with --plot and/or --from: 0 done, 1 a row failed, 2 usage."""
    out = out or sys.stdout
    try:
        target = check_plot_path(plot) if plot else None
        if from_file is not None:
            if names:
                raise PlotError("nanokernel bench: --from draws a saved run: name no "
                                "benchmark to run with it")
            status, rows = 0, read_rows(from_file)
            if target is None:   # the saved run's table (or its rows, with --json)
                if as_json:
                    print_json(rows, out=out)
                else:
                    print(caption(rows), file=out)
                    print_table(rows, out=out)
        else:
            status, rows = _measure(names, quick=quick, as_json=as_json, out=out)
        if target is not None:
            draw(rows, target)
            progress(f"plot: {len(panels(rows))} panel(s) → {target}")
    except PlotError as exc:
        print(exc, file=sys.stderr)
        return 2
    return status

