"""Rendering a trace: `nanokernel trace FILE [--format text|mermaid|svg]`.

The kernel writes one JSON object per routed message (kernel/trace.py):
``t`` (epoch seconds), ``src``/``src_name``, ``dst``/``dst_name``, ``kind``
(CALL, REPLY, ERROR, SEND, NOTIFY, CANCEL), ``id``, ``size`` (bytes with the
header), ``op`` on CALL/SEND, ``latency_us`` on REPLY/ERROR, ``note``.
Rendering is a separate step (structlog's rule: data first), in two forms:

* text — one line per message: time since the first message, who → whom,
  kind, op (a reply shows the op of the call it answers), size, latency;
* mermaid — a ``sequenceDiagram`` (paste it into any Mermaid viewer, or a
  ```mermaid block on GitHub);
* svg — the same diagram drawn as one self-contained SVG file (nanokernel/trace_svg.py),
  ``--limit N`` messages from ``--offset M`` (default: the first 300).

A process is shown by its name; when one name had several endpoints in the
trace (a server that restarted), as ``name@endpoint``.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Iterable
from pathlib import Path

from libipc.trace_event import Event  # (re-exported: trace_svg and the tests take it here)

ARROWS = {"CALL": "->>", "REPLY": "-->>", "ERROR": "--x", "SEND": "-)", "NOTIFY": "--)",
          "CANCEL": "-x"}


def load(lines: Iterable[str]) -> tuple[list[Event], int]:
    """Parse trace lines; returns the events and how many lines were not events."""
    events, bad = [], 0
    for line in lines:
        if not line.strip():
            continue
        try:
            events.append(Event.from_json(json.loads(line)))
        except (ValueError, KeyError, TypeError):
            bad += 1
    return events, bad


def answer_ops(events: list[Event]) -> None:
    """Give each REPLY/ERROR the op of the CALL it answers (same id, reversed ends)."""
    calls: dict[tuple[int, int, int], str] = {}
    for e in events:
        if e.kind == "CALL" and e.op:
            calls[(e.src, e.dst, e.id)] = e.op
        elif e.kind in ("REPLY", "ERROR") and e.op is None:
            e.op = calls.pop((e.dst, e.src, e.id), None)


def labels(events: list[Event]) -> dict[int, str]:
    """endpoint → display name (name@ep when a name had several endpoints)."""
    by_name: dict[str, set[int]] = {}
    for e in events:
        by_name.setdefault(e.src_name, set()).add(e.src)
        by_name.setdefault(e.dst_name, set()).add(e.dst)
    out: dict[int, str] = {}
    for name, eps in by_name.items():
        for ep in eps:
            out[ep] = name if len(eps) == 1 else f"{name}@{ep}"
    return out


def render_text(events: list[Event]) -> list[str]:
    if not events:
        return []
    names = labels(events)
    t0 = events[0].t
    width = max(8, *(len(n) for n in names.values()))
    lines = [f"{'ms':>10}  {'from':<{width}}   {'to':<{width}}  {'kind':<6} {'op':<14}"
             f" {'bytes':>6} {'latency':>11}  note"]
    for e in events:
        latency = f"{e.latency_us:,.1f} µs" if e.latency_us is not None else ""
        op = e.op or (f"bits {e.id:#x}" if e.kind == "NOTIFY" else "")
        lines.append(f"{(e.t - t0) * 1000:>10.3f}  {names[e.src]:<{width}} → "
                     f"{names[e.dst]:<{width}}  {e.kind:<6} {op:<14} {e.size:>6} "
                     f"{latency:>11}  {e.note or ''}".rstrip())
    return lines


def _mermaid_text(text: str) -> str:
    return text.replace(";", ",").replace("#", "").replace("\n", " ")


def render_mermaid(events: list[Event]) -> list[str]:
    names = labels(events)
    lines = ["sequenceDiagram"]
    seen: list[int] = []
    for e in events:
        for ep in (e.src, e.dst):
            if ep not in seen:
                seen.append(ep)
                lines.append(f"    participant p{ep} as {_mermaid_text(names[ep])}")
    for e in events:
        arrow = ARROWS.get(e.kind, "->>")
        if e.kind == "CALL":
            text = f"{e.op or '?'} ({e.size} B)"
        elif e.kind in ("REPLY", "ERROR"):
            what = "error" if e.kind == "ERROR" else "reply"
            text = f"{e.op or ''} {what} ({e.size} B".strip()
            if e.latency_us is not None:
                text += f", {e.latency_us:,.1f} µs"
            text += ")"
        elif e.kind == "NOTIFY":
            text = f"notify bits {e.id:#x}"
        else:
            text = f"{e.kind.lower()} {e.op or ''}".strip()
        if e.note:
            text += f" [{e.note}]"
        lines.append(f"    p{e.src}{arrow}p{e.dst}: {_mermaid_text(text)}")
    return lines


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="nanokernel trace",
        description="Render a trace file (boot --trace FILE) as a table or a sequence diagram.")
    parser.add_argument("file", metavar="FILE", help="trace file (JSON lines), - for stdin")
    parser.add_argument("--format", choices=("text", "mermaid", "svg"), default="text",
                        help="text: one line per message (default); mermaid: sequenceDiagram; "
                             "svg: the sequence diagram as an SVG file (> trace.svg)")
    parser.add_argument("--limit", metavar="N", type=int, default=None,
                        help="show N messages (0: all; default: all, 300 for svg)")
    parser.add_argument("--offset", metavar="M", type=int, default=0,
                        help="start after the first M messages (default 0)")
    parser.add_argument("--no-kernel", action="store_true",
                        help="leave out messages to and from the kernel (endpoint 0)")
    args = parser.parse_args(argv)
    try:
        if args.file == "-":
            events, bad = load(sys.stdin)
        else:
            with Path(args.file).open(encoding="utf-8", errors="replace") as f:
                events, bad = load(f)
    except OSError as exc:
        print(f"nanokernel trace: {args.file}: {exc.strerror}", file=sys.stderr)
        return 2
    if args.no_kernel:
        events = [e for e in events if e.src != 0 and e.dst != 0]
    answer_ops(events)   # before paging: a reply's call may be on the page before
    if args.format == "svg":
        from nanokernel.trace_svg import DEFAULT_LIMIT, render_svg
        limit = DEFAULT_LIMIT if args.limit is None else (args.limit or None)
        title = f"nanokernel trace {Path(args.file).name if args.file != '-' else ''}"
        sys.stdout.write(render_svg(events, limit=limit, offset=args.offset,
                                    title=title.strip()))
    else:
        if args.offset or args.limit:
            events = events[max(0, args.offset):][:args.limit or None]
        render = render_text if args.format == "text" else render_mermaid
        for line in render(events):
            print(line)
    if bad:
        print(f"nanokernel trace: skipped {bad} line(s) that are not trace events",
              file=sys.stderr)
    return 0
