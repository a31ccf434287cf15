"""One message of a trace, as the kernel writes it (kernel/trace.py: one JSON line
each) and everyone reads it: the shell's live trace (servers/shell/tracefollow.py)
and the host's renderers (nanokernel/trace_render.py, trace_svg.py).  Here, in
libipc, because a server and the front end both read it and neither may import
the other."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any


@dataclass
class Event:
    t: float
    src: int
    src_name: str
    dst: int
    dst_name: str
    kind: str
    id: int
    size: int
    op: str | None = None
    latency_us: float | None = None
    note: str | None = None

    @classmethod
    def from_json(cls, obj: dict[str, Any]) -> Event:
        return cls(t=float(obj["t"]), src=int(obj["src"]), src_name=str(obj["src_name"]),
                   dst=int(obj["dst"]), dst_name=str(obj["dst_name"]), kind=str(obj["kind"]),
                   id=int(obj.get("id", 0)), size=int(obj.get("size", 0)), op=obj.get("op"),
                   latency_us=obj.get("latency_us"), note=obj.get("note"))
