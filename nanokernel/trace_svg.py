"""A trace as an SVG sequence diagram: `nanokernel trace FILE --format svg > trace.svg`.

Hand-written SVG, one self-contained file: no script, no stylesheet or font to fetch,
so it opens in any browser offline (and in an image viewer).  Drawn like the mermaid
form of nanokernel/trace_render.py:

* one lifeline per participant (a process, named as in the text form: ``name``, or
  ``name@endpoint`` when a name had several endpoints), boxes on top and at the bottom,
  in the order they first appear;
* one arrow per message, top to bottom in trace order, labelled with its kind's words
  (the op and size of a CALL, ``op reply`` and the latency of a REPLY/ERROR, the bits of
  a NOTIFY) and the time since the first message shown in the left margin.  CALL and
  SEND are solid (a SEND's head is open), REPLY dashed, ERROR dashed and red, NOTIFY
  dotted, CANCEL ends in a cross; a message to itself is a loop.  Hovering an arrow
  shows all its fields (its ``<title>``).

Each arrow is a ``<g class="msg KIND">``, each lifeline a ``<g class="participant">``
with a ``data-name``: a test (or a script) can count them.  A long trace is cut into
pages: ``limit`` messages from ``offset`` (the command's ``--limit N``, default
``DEFAULT_LIMIT``, and ``--offset M``), the diagram saying which ones it shows.
"""

from __future__ import annotations

import datetime
from xml.sax.saxutils import escape, quoteattr

from nanokernel.trace_render import Event, labels

DEFAULT_LIMIT = 300

CHAR_W = 7.0          # px per character at FONT_SIZE in a monospace font (an estimate)
FONT_SIZE = 11
FONT = "ui-monospace, SFMono-Regular, Menlo, Consolas, 'DejaVu Sans Mono', monospace"
TIME_W = 84           # the left margin: the time of each message
ROW_H = 26            # px per message
BOX_H = 26            # participant boxes
MIN_SPACING, MAX_SPACING = 130, 380
TOP = 62              # the title and the note above the boxes

# kind -> (colour, dash pattern or "", arrow head marker)
STYLES: dict[str, tuple[str, str, str]] = {
    "CALL": ("#1f4e8c", "", "head-call"),
    "REPLY": ("#2e7d32", "6 4", "head-reply"),
    "ERROR": ("#c62828", "6 4", "head-error"),
    "SEND": ("#6a1b9a", "", "open-send"),
    "NOTIFY": ("#e65100", "2 3", "open-notify"),
    "CANCEL": ("#616161", "", "cross-cancel"),
}
OTHER = ("#424242", "", "head-other")


def message_label(e: Event) -> str:
    """The words on an arrow (the mermaid form's)."""
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
    return text


def _tooltip(e: Event, names: dict[int, str], t0: float) -> str:
    parts = [f"+{(e.t - t0) * 1000:.3f} ms", f"{names[e.src]} ({e.src}) → "
             f"{names[e.dst]} ({e.dst})", e.kind, f"id {e.id}", f"{e.size} B"]
    if e.op:
        parts.append(f"op {e.op}")
    if e.latency_us is not None:
        parts.append(f"latency {e.latency_us:,.1f} µs")
    if e.note:
        parts.append(e.note)
    return ", ".join(parts)


def _markers() -> list[str]:
    out = ["<defs>"]
    for colour, _dash, marker in [*STYLES.values(), OTHER]:
        if marker.startswith("head"):
            shape = f'<path d="M0,0 L10,5 L0,10 z" fill="{colour}"/>'
        elif marker.startswith("open"):
            shape = f'<path d="M0,0 L10,5 L0,10" fill="none" stroke="{colour}" stroke-width="1.5"/>'
        else:
            shape = (f'<path d="M1,1 L9,9 M1,9 L9,1" fill="none" stroke="{colour}" '
                     f'stroke-width="1.8"/>')
        out.append(f'<marker id="{marker}" viewBox="0 0 10 10" refX="9" refY="5" '
                   f'markerWidth="8" markerHeight="8" orient="auto-start-reverse">{shape}</marker>')
    out.append("</defs>")
    return out


def _text_width(text: str) -> float:
    return len(text) * CHAR_W


def page(events: list[Event], limit: int | None, offset: int) -> list[Event]:
    """The events a diagram of ``limit`` messages from ``offset`` shows."""
    offset = max(0, offset)
    return events[offset:] if limit is None else events[offset:offset + max(0, limit)]


def render_svg(events: list[Event], *, limit: int | None = DEFAULT_LIMIT, offset: int = 0,
               title: str = "nanokernel trace") -> str:
    """The SVG document (a string) of ``limit`` messages of ``events`` from ``offset``
    (None: all of them); ``title`` goes on top."""
    shown = page(events, limit, offset)
    names = labels(shown)
    order: list[int] = []
    for e in shown:
        for ep in (e.src, e.dst):
            if ep not in order:
                order.append(ep)
    column = {ep: i for i, ep in enumerate(order)}
    texts = [message_label(e) for e in shown]

    box_w = max([90.0, *(_text_width(names[ep]) + 18 for ep in order)])
    spacing = max(MIN_SPACING, box_w + 16)
    for e, text in zip(shown, texts, strict=True):
        gap = abs(column[e.src] - column[e.dst])
        if gap:
            spacing = max(spacing, (_text_width(text) + 40) / gap)
    spacing = min(spacing, MAX_SPACING)
    self_room = max([0.0, *(_text_width(t) + 50 for e, t in zip(shown, texts, strict=True)
                            if e.src == e.dst and column[e.src] == len(order) - 1)])

    def x(ep: int) -> float:
        return TIME_W + 20 + box_w / 2 + column[ep] * spacing

    first_row = TOP + BOX_H + 30
    bottom_box = first_row + max(len(shown), 1) * ROW_H + 8
    header = _header(events, shown, offset, limit, len(order), title)
    width = max(TIME_W + 40 + box_w + max(len(order) - 1, 0) * spacing + self_room,
                _text_width(max(header, key=len)) * 1.05 + 40)
    height = bottom_box + BOX_H + 20

    out = ['<?xml version="1.0" encoding="UTF-8"?>',
           f'<svg xmlns="http://www.w3.org/2000/svg" width="{width:.0f}" height="{height:.0f}" '
           f'viewBox="0 0 {width:.0f} {height:.0f}" font-family={quoteattr(FONT)} '
           f'font-size="{FONT_SIZE}">',
           f"<title>{escape(title)}</title>",
           *_markers(),
           f'<rect width="{width:.0f}" height="{height:.0f}" fill="#ffffff"/>']
    for i, line in enumerate(header):
        weight = ' font-weight="bold" font-size="13"' if i == 0 else ' fill="#555555"'
        out.append(f'<text class="header" x="12" y="{20 + 16 * i}"{weight}>{escape(line)}</text>')
    if not shown:
        out.append(f'<text x="12" y="{first_row}" fill="#555555">no messages to show</text>')
    out.append(f'<text x="{TIME_W - 8}" y="{TOP + BOX_H + 14}" text-anchor="end" '
               f'fill="#777777">ms</text>')

    for ep in order:   # lifelines under the boxes
        name = names[ep]
        cx = x(ep)
        out.append(f'<g class="participant" data-name={quoteattr(name)} data-endpoint="{ep}">')
        out.append(f'<line class="lifeline" x1="{cx:.1f}" y1="{TOP + BOX_H}" x2="{cx:.1f}" '
                   f'y2="{bottom_box}" stroke="#9e9e9e" stroke-dasharray="4 4"/>')
        for y in (TOP, bottom_box):
            out.append(f'<rect x="{cx - box_w / 2:.1f}" y="{y}" width="{box_w:.1f}" '
                       f'height="{BOX_H}" rx="4" fill="#eef3fb" stroke="#1f4e8c"/>')
            out.append(f'<text x="{cx:.1f}" y="{y + BOX_H / 2 + 4}" text-anchor="middle" '
                       f'font-weight="bold">{escape(name)}</text>')
        out.append("</g>")

    t0 = shown[0].t if shown else 0.0
    for i, (e, text) in enumerate(zip(shown, texts, strict=True)):
        y = first_row + i * ROW_H + ROW_H * 0.55
        colour, dash, marker = STYLES.get(e.kind, OTHER)
        dash_attr = f' stroke-dasharray="{dash}"' if dash else ""
        out.append(f'<g class="msg {escape(e.kind.lower())}" data-kind={quoteattr(e.kind)} '
                   f'data-src="{e.src}" data-dst="{e.dst}" data-index="{offset + i}">')
        out.append(f"<title>{escape(_tooltip(e, names, t0))}</title>")
        out.append(f'<text x="{TIME_W - 8}" y="{y + 4:.1f}" text-anchor="end" fill="#777777">'
                   f'{(e.t - t0) * 1000:.3f}</text>')
        x1, x2 = x(e.src), x(e.dst)
        if e.src == e.dst:   # a loop on its own lifeline
            out.append(f'<path class="arrow" d="M{x1:.1f},{y - 6:.1f} h28 v12 h-26" fill="none" '
                       f'stroke="{colour}" stroke-width="1.4"{dash_attr} '
                       f'marker-end="url(#{marker})"/>')
            out.append(f'<text x="{x1 + 34:.1f}" y="{y + 4:.1f}" fill="{colour}">'
                       f'{escape(text)}</text>')
        else:
            end = x2 - 2 if x2 > x1 else x2 + 2
            out.append(f'<line class="arrow" x1="{x1:.1f}" y1="{y:.1f}" x2="{end:.1f}" '
                       f'y2="{y:.1f}" stroke="{colour}" stroke-width="1.4"{dash_attr} '
                       f'marker-end="url(#{marker})"/>')
            out.append(f'<text x="{(x1 + x2) / 2:.1f}" y="{y - 4:.1f}" text-anchor="middle" '
                       f'fill="{colour}">{escape(text)}</text>')
        out.append("</g>")
    out.append("</svg>")
    return "\n".join(out) + "\n"


def _header(events: list[Event], shown: list[Event], offset: int, limit: int | None,
            participants: int, title: str) -> list[str]:
    lines = [title]
    if shown:
        when = datetime.datetime.fromtimestamp(shown[0].t, datetime.UTC)
        span = (shown[-1].t - shown[0].t) * 1000
        lines.append(f"{when:%Y-%m-%d %H:%M:%S} UTC, {span:,.1f} ms, {participants} "
                     f"participants; solid: call/send, dashed: reply (red: error), "
                     f"dotted: notify")
    total = len(events)
    if len(shown) < total:
        first = min(offset, total) + 1 if shown else min(offset, total)
        lines.append(f"messages {first}–{min(offset, total) + len(shown)} of {total} "
                     f"(--limit N shows N, --offset M starts at message M + 1)"
                     + (f"; the next page: --offset {offset + len(shown)}"
                        if offset + len(shown) < total else ""))
    else:
        lines.append(f"all {total} messages")
    return lines
