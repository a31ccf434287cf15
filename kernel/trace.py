"""Message tracing: one structlog JSON event per routed message, when on.

Off by default and free when off: the router checks one boolean before
building any event.  Rendering (text table, mermaid diagram) is separate, in
nanokernel/trace_render.py.
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import IO, Any

from libipc.message import KIND_NAMES


class Tracer:
    def __init__(self, path: Path | None) -> None:
        self.path = path
        self.enabled = False
        self._file: IO[str] | None = None
        self._log: Any = None
        self.t0 = time.monotonic()
        # endpoints whose messages are not traced: the process that reads the trace
        # and prints it (and the console it prints to) — else the trace feeds itself
        self.exclude: frozenset[int] = frozenset()

    def turn(self, on: bool, path: Path | None = None,
             exclude: frozenset[int] | None = None) -> Path | None:
        """Switch tracing; events append to ``path`` (or the boot's trace file),
        leaving out messages from or to an endpoint of ``exclude`` (when given)."""
        if exclude is not None:
            self.exclude = exclude
        if path is not None and path != self.path:
            self._close()
            self.path = path
        if on and self.path is None:
            return None
        if on and self._file is None:
            self._file = open(self.path, "a", buffering=1)  # noqa: SIM115 (lives with the tracer)
            import structlog  # only when tracing is on: ~65 ms the boot need not pay
            self._log = structlog.wrap_logger(
                structlog.PrintLogger(self._file),
                processors=[structlog.processors.JSONRenderer()])
        self.enabled = on
        return self.path

    def message(self, *, src: int, src_name: str, dst: int, dst_name: str, kind: int,
                msg_id: int, size: int, op: str | None = None,
                latency_us: float | None = None, note: str | None = None) -> None:
        if self.exclude and (src in self.exclude or dst in self.exclude):
            return
        event: dict[str, Any] = {
            "t": round(time.time(), 6), "src": src, "src_name": src_name, "dst": dst,
            "dst_name": dst_name, "kind": KIND_NAMES.get(kind, str(kind)), "id": msg_id,
            "size": size,
        }
        if op is not None:
            event["op"] = op
        if latency_us is not None:
            event["latency_us"] = round(latency_us, 1)
        if note is not None:
            event["note"] = note
        self._log.msg("message", **event)

    def _close(self) -> None:
        if self._file is not None:
            self._file.close()
        self._file = None
        self.enabled = False

    def close(self) -> None:
        self._close()
