"""The log of a nanokernel process: one JSON object per line, structlog's pipeline inlined.

Every user process logs from its first milliseconds (``server_started``), and
importing structlog costs ~65 ms of CPU (it pulls in asyncio, logging, its dev
renderer…) — paid by each of a boot's processes, on a machine with two CPUs.
This module writes the same lines with what a process has imported anyway.

The pipeline is the one libipc configured structlog with, step for step:

    bound context + keywords + "event"          (structlog's BoundLogger)
    → process context, without overriding      (merge_contextvars)
    → "level": the method name; exception → error, warn → warning   (add_log_level)
    → "timestamp": ISO 8601, UTC, ``Z``          (TimeStamper(fmt="iso", utc=True))
    → ``exc_info`` → "exception": traceback text (format_exc_info)
    → ``json.dumps``, unknown objects as ``obj.__structlog__()`` or ``repr``
    → one write of the line, flushed, under a lock   (PrintLogger)

so a reader of the boot log (tests, ``nanokernel`` tools) cannot tell them
apart.  The API is the part of structlog's that servers use: ``get_logger``,
``bind``/``new``/``unbind``/``try_unbind``, ``debug``…``critical``,
``exception``, ``msg``, ``log``, and ``bind_contextvars``.  The context bound
with ``bind_contextvars`` is context-local, as structlog's is: a new thread
starts without it (the console binds it again in its server thread).

Interface rules: call ``configure`` once at start-up (libipc.process does);
loggers may be made before it — they look the stream up when they write.
"""

from __future__ import annotations

import json
import sys
import threading
import time
from contextvars import ContextVar
from typing import Any, TextIO

_STDOUT = sys.stdout   # a logger "on stdout" follows sys.stdout, as structlog's PrintLogger
_stream: TextIO | None = None
_lock = threading.Lock()
_context: ContextVar[dict[str, Any] | None] = ContextVar("nk_log_context", default=None)

LEVEL_NAMES = {50: "critical", 40: "error", 30: "warning", 20: "info", 10: "debug",
               0: "notset"}


def configure(stream: TextIO | None = None) -> None:
    """Write every logger's lines to ``stream`` (default: sys.stdout, looked up per line)."""
    global _stream
    _stream = stream


def bind_contextvars(**kw: Any) -> None:
    """Add ``kw`` to every line this context (thread) logs from now on."""
    context = _context.get()
    _context.set({**context, **kw} if context else kw)


def clear_contextvars() -> None:
    """Forget what ``bind_contextvars`` bound in this context."""
    _context.set(None)


def get_logger(**initial: Any) -> BoundLogger:
    """A logger whose every line carries ``initial``."""
    return BoundLogger(initial)


def timestamp(ns: int | None = None) -> str:
    """``datetime.now(UTC).isoformat()`` with ``Z`` (microseconds, floored; none if 0),
    from the time module: datetime is one more import for every process."""
    us = (time.time_ns() if ns is None else ns) // 1000
    secs, us = divmod(us, 1_000_000)
    t = time.gmtime(secs)
    text = (f"{t.tm_year:04d}-{t.tm_mon:02d}-{t.tm_mday:02d}"
            f"T{t.tm_hour:02d}:{t.tm_min:02d}:{t.tm_sec:02d}")
    return f"{text}.{us:06d}Z" if us else f"{text}Z"


def _fallback(obj: Any) -> Any:
    try:
        return obj.__structlog__()
    except AttributeError:
        return repr(obj)


def _exc_info(value: Any) -> tuple[Any, Any, Any] | None:
    if isinstance(value, BaseException):
        return (type(value), value, value.__traceback__)
    if (isinstance(value, tuple) and len(value) == 3 and isinstance(value[0], type)
            and issubclass(value[0], BaseException) and isinstance(value[1], BaseException)
            and (value[2] is None or hasattr(value[2], "tb_frame"))):
        return value
    if value:
        info = sys.exc_info()
        return None if info == (None, None, None) else info
    return None


def _format_exception(info: tuple[Any, Any, Any]) -> str:
    import traceback
    text = "".join(traceback.format_exception(info[0], info[1], info[2]))
    return text[:-1] if text.endswith("\n") else text


def render(context: dict[str, Any], level: str, event: Any, kw: dict[str, Any]) -> str:
    """The JSON line (without its newline) of one event."""
    event_dict = {**context, **kw} if kw else dict(context)
    if event is not None:
        event_dict["event"] = event
    bound = _context.get()
    if bound:
        for key, value in bound.items():
            event_dict.setdefault(key, value)
    event_dict["level"] = level
    event_dict["timestamp"] = timestamp()
    if "exc_info" in event_dict:
        info = _exc_info(event_dict.pop("exc_info"))
        if info:
            event_dict["exception"] = _format_exception(info)
    return json.dumps(event_dict, default=_fallback)


def _interpolate(event: Any, args: tuple[Any, ...]) -> Any:
    if not args:
        return event
    if len(args) == 1 and isinstance(args[0], dict) and args[0]:
        return event % args[0]
    return event % args


class BoundLogger:
    """An immutable context and the log methods; ``bind`` makes a new one."""

    __slots__ = ("_context",)

    def __init__(self, context: dict[str, Any] | None = None) -> None:
        self._context = context or {}

    def __repr__(self) -> str:
        return f"<BoundLogger(context={self._context!r})>"

    def bind(self, **kw: Any) -> BoundLogger:
        return BoundLogger({**self._context, **kw})

    def new(self, **kw: Any) -> BoundLogger:
        return BoundLogger(kw)

    def unbind(self, *keys: str) -> BoundLogger:
        context = dict(self._context)
        for key in keys:
            del context[key]
        return BoundLogger(context)

    def try_unbind(self, *keys: str) -> BoundLogger:
        context = dict(self._context)
        for key in keys:
            context.pop(key, None)
        return BoundLogger(context)

    def _emit(self, level: str, event: Any, args: tuple[Any, ...], kw: dict[str, Any]) -> None:
        line = render(self._context, level, _interpolate(event, args), kw) + "\n"
        stream = _stream
        if stream is None or stream is _STDOUT:
            stream = sys.stdout
        with _lock:
            stream.write(line)
            stream.flush()

    def debug(self, event: Any = None, *args: Any, **kw: Any) -> None:
        self._emit("debug", event, args, kw)

    def info(self, event: Any = None, *args: Any, **kw: Any) -> None:
        self._emit("info", event, args, kw)

    msg = info

    def warning(self, event: Any = None, *args: Any, **kw: Any) -> None:
        self._emit("warning", event, args, kw)

    warn = warning

    def error(self, event: Any = None, *args: Any, **kw: Any) -> None:
        self._emit("error", event, args, kw)

    def critical(self, event: Any = None, *args: Any, **kw: Any) -> None:
        self._emit("critical", event, args, kw)

    fatal = critical

    def exception(self, event: Any = None, *args: Any, **kw: Any) -> None:
        kw.setdefault("exc_info", True)
        self._emit("error", event, args, kw)

    def log(self, level: int, event: Any = None, *args: Any, **kw: Any) -> None:
        self._emit(LEVEL_NAMES[level], event, args, kw)
