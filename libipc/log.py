"""The boot log's JSON lines, without structlog: what a process logs with at start-up.

``get_logger().bind(server="fs").info("mounted", disk=path)`` writes one line

    {"server": "fs", "disk": "...", "event": "mounted", "proc": "fs", "pid": 42,
     "level": "info", "timestamp": "2026-12-01T08:53:35.486633Z"}

— the same keys, in the same order, as the structlog set-up it replaces
(merge_contextvars, add_log_level, TimeStamper(iso, utc), format_exc_info,
JSONRenderer), so ``nanokernel log`` and the tests read either.  Why: importing
structlog costs ~40 ms (it pulls in asyncio, ssl, logging …) in every one of the
boot's seven interpreters; this module imports json, sys and time only.

``configure(stream, **context)`` (libipc.process.configure_logging does it)
sets where lines go and what every line carries (proc, pid).  Until then lines
go to stdout, without context.
"""

from __future__ import annotations

import json
import sys
import time
from typing import Any, TextIO

_stream: TextIO | None = None
_context: dict[str, Any] = {}


def configure(stream: TextIO | None = None, **context: Any) -> None:
    """Lines go to ``stream`` (default: sys.stdout at each write), carrying ``context``."""
    global _stream
    _stream = stream
    _context.clear()
    _context.update(context)


def _timestamp() -> str:
    now = time.time()
    secs = int(now)
    micros = int((now - secs) * 1e6)
    return time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(secs)) + f".{micros:06d}Z"


def _fallback(obj: Any) -> Any:
    return repr(obj)


class BoundLogger:
    """A logger with bound key-values; the methods of structlog's BoundLogger used here."""

    __slots__ = ("_bound",)

    def __init__(self, bound: dict[str, Any] | None = None) -> None:
        self._bound = bound or {}

    def bind(self, **kw: Any) -> BoundLogger:
        return BoundLogger({**self._bound, **kw})

    def new(self, **kw: Any) -> BoundLogger:
        return BoundLogger(dict(kw))

    def unbind(self, *keys: str) -> BoundLogger:
        return BoundLogger({k: v for k, v in self._bound.items() if k not in keys})

    def _log(self, level: str, event: Any, kw: dict[str, Any], exc_info: Any = None) -> None:
        line = {**self._bound, **kw}
        line["event"] = event
        for key, value in _context.items():
            line.setdefault(key, value)
        line["level"] = level
        line["timestamp"] = _timestamp()
        exc_info = line.pop("exc_info", exc_info)
        if exc_info:
            import traceback
            if exc_info is True:
                exc_info = sys.exc_info()
            elif isinstance(exc_info, BaseException):
                exc_info = (type(exc_info), exc_info, exc_info.__traceback__)
            if exc_info[0] is not None:
                line["exception"] = "".join(traceback.format_exception(*exc_info)).rstrip()
        stream = _stream or sys.stdout
        try:
            stream.write(json.dumps(line, default=_fallback) + "\n")
            stream.flush()
        except (OSError, ValueError):
            pass   # the log is gone (closed at exit): nothing to tell anyone

    def debug(self, event: Any = None, **kw: Any) -> None:
        self._log("debug", event, kw)

    def info(self, event: Any = None, **kw: Any) -> None:
        self._log("info", event, kw)

    msg = info

    def warning(self, event: Any = None, **kw: Any) -> None:
        self._log("warning", event, kw)

    warn = warning

    def error(self, event: Any = None, **kw: Any) -> None:
        self._log("error", event, kw)

    def critical(self, event: Any = None, **kw: Any) -> None:
        self._log("critical", event, kw)

    def exception(self, event: Any = None, **kw: Any) -> None:
        self._log("error", event, kw, exc_info=True)


def get_logger(**bound: Any) -> BoundLogger:
    return BoundLogger(dict(bound))
