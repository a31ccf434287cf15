"""libipc/jsonlog.py against the structlog pipeline it replaces in user processes.

``structlog_line`` below runs an event through structlog itself, configured as
libipc configured it (merge_contextvars, add_log_level, TimeStamper iso/utc,
format_exc_info, JSONRenderer): the reference model.  Each case logs the same
call through both and the lines must be equal — key order included — but for
the timestamp, which is checked against datetime on its own.
"""

from __future__ import annotations

import contextvars
import datetime
import io
import json
import re
import subprocess
import sys
import threading

import pytest
import structlog

from libipc import jsonlog


def structlog_line(method: str, event: str, *args, bound=None, contextvars_kw=None, **kw):
    """The line structlog writes for ``log.bind(**bound).<method>(event, *args, **kw)``."""
    out = io.StringIO()

    def run():
        if contextvars_kw:
            structlog.contextvars.bind_contextvars(**contextvars_kw)
        log = structlog.wrap_logger(
            structlog.PrintLogger(out),
            processors=[
                structlog.contextvars.merge_contextvars,
                structlog.processors.add_log_level,
                structlog.processors.TimeStamper(fmt="iso", utc=True),
                structlog.processors.format_exc_info,
                structlog.processors.JSONRenderer(),
            ],
            wrapper_class=structlog.make_filtering_bound_logger(0),
        ).bind(**(bound or {}))
        getattr(log, method)(event, *args, **kw)

    contextvars.copy_context().run(run)   # structlog's contextvars do not leak out
    return out.getvalue()


def jsonlog_line(method: str, event: str, *args, bound=None, contextvars_kw=None, **kw):
    """The line libipc.jsonlog writes for the same call."""
    out = io.StringIO()

    def run():
        if contextvars_kw:
            jsonlog.bind_contextvars(**contextvars_kw)
        log = jsonlog.get_logger().bind(**(bound or {}))
        getattr(log, method)(event, *args, **kw)

    saved = jsonlog._stream
    jsonlog.configure(out)
    try:
        contextvars.copy_context().run(run)
    finally:
        jsonlog.configure(saved)
    return out.getvalue()


def without_timestamp(line: str) -> str:
    assert line.endswith("\n") and line.count("\n") == 1
    event = json.loads(line)
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d{6})?Z", event.pop("timestamp"))
    return json.dumps(event)


class Opaque:
    def __repr__(self) -> str:
        return "<opaque>"


class Custom:
    def __structlog__(self) -> str:
        return "custom!"


def raised() -> ValueError:
    try:
        raise ValueError("boom")
    except ValueError as exc:
        return exc


CASES = {
    "plain": ("info", "server_started", (), {"endpoint": 4098}),
    "bound": ("info", "registered", (), {"bound": {"server": "naming"}, "name": "fs"}),
    "contextvars": ("info", "booted", (), {"bound": {"server": "init"},
                                          "contextvars_kw": {"proc": "init", "pid": 42},
                                          "up": ["naming"], "seconds": 0.25}),
    "contextvars do not override": ("info", "x", (), {"contextvars_kw": {"proc": "init"},
                                                      "proc": "mine"}),
    "warning": ("warning", "send_failed", (), {"src": 3, "error": "no"}),
    "warn": ("warn", "w", (), {}),
    "error": ("error", "bad_boot_config", (), {"error": "line 3"}),
    "critical": ("critical", "kernel_panic", (), {"traceback": "tb"}),
    "fatal": ("fatal", "f", (), {}),
    "debug": ("debug", "d", (), {}),
    "msg": ("msg", "message", (), {"src": 1}),
    "interpolated": ("info", "%s up in %d", ("fs", 3), {}),
    "dict interpolated": ("info", "%(n)s", ({"n": "naming"},), {}),
    "repr fallback": ("info", "odd", (), {"value": Opaque(), "path": b"\x00"}),
    "__structlog__": ("info", "odd", (), {"value": Custom()}),
    "unicode": ("info", "console_line", (), {"text": "5 up — log: /tmp/x"}),
    "exc_info exception": ("error", "failed", (), {"exc_info": raised()}),
    "exc_info tuple": ("error", "failed", (), {"exc_info": (ValueError, raised(), None)}),
    "exc_info without exception": ("exception", "handler_crashed", (), {"src": 5}),
}


class TestSameLinesAsStructlog:
    @pytest.mark.parametrize("case", CASES)
    def test_case(self, case):
        """Each call writes the line structlog's pipeline writes, key order included (the
        keys merged from contextvars: in any order, structlog's follows their hashes)."""
        method, event, args, kw = CASES[case]
        merged = set(kw.get("contextvars_kw", ())) - set(kw) - set(kw.get("bound", ()))

        def shape(line):
            items = list(json.loads(without_timestamp(line)).items())
            return ([i for i in items if i[0] not in merged],
                    sorted(json.dumps(i) for i in items if i[0] in merged))

        expected = shape(structlog_line(method, event, *args, **kw))
        assert expected == shape(jsonlog_line(method, event, *args, **kw))

    def test_exception_in_handler(self):
        """log.exception inside ``except`` renders the traceback into "exception"."""
        def both():
            try:
                {}["missing"]
            except KeyError:
                return (structlog_line("exception", "handler_crashed", src=1),
                        jsonlog_line("exception", "handler_crashed", src=1))
        theirs, ours = both()
        assert "KeyError: 'missing'" in json.loads(ours)["exception"]
        # the frames' lines differ only by the line that called each logger
        strip = re.compile(r'File "[^"]+", line \d+, in \w+\n[^\n]*\n')
        assert strip.sub("", without_timestamp(theirs)) == strip.sub("", without_timestamp(ours))


class TestTimestamp:
    @pytest.mark.parametrize("ns", [0, 1_764_590_000_123_456_789, 1_764_590_000_000_000_999,
                                    1_764_590_000_000_001_000, 253_402_300_799_999_999_000])
    def test_as_datetime_isoformat(self, ns):
        """The timestamp is datetime's isoformat in UTC with Z, microseconds floored."""
        when = datetime.datetime(1970, 1, 1, tzinfo=datetime.UTC) + datetime.timedelta(
            microseconds=ns // 1000)
        assert when.isoformat().replace("+00:00", "Z") == jsonlog.timestamp(ns)

    def test_now(self):
        """Without an argument it is now."""
        before = datetime.datetime.now(tz=datetime.UTC)
        stamp = datetime.datetime.fromisoformat(jsonlog.timestamp().replace("Z", "+00:00"))
        assert before - datetime.timedelta(seconds=1) <= stamp <= before + datetime.timedelta(
            seconds=5)


class TestContext:
    def test_new_thread_starts_without_context(self):
        """bind_contextvars is context-local, as structlog's is: a new thread lacks it."""
        out = io.StringIO()
        saved = jsonlog._stream
        jsonlog.configure(out)

        def run():
            jsonlog.bind_contextvars(proc="console")
            thread = threading.Thread(target=lambda: jsonlog.get_logger().info("there"))
            thread.start()
            thread.join()
            jsonlog.get_logger().info("here")

        try:
            contextvars.copy_context().run(run)
        finally:
            jsonlog.configure(saved)
        there, here = (json.loads(line) for line in out.getvalue().splitlines())
        assert "proc" not in there
        assert "console" == here["proc"]

    def test_bind_unbind(self):
        """bind/new/unbind/try_unbind make new loggers; the old one keeps its context."""
        log = jsonlog.get_logger(a=1)
        assert {"a": 1, "b": 2} == log.bind(b=2)._context
        assert {"a": 1} == log._context
        assert {"c": 3} == log.new(c=3)._context
        assert {} == log.unbind("a")._context
        assert {"a": 1} == log.try_unbind("zz")._context
        with pytest.raises(KeyError):
            log.unbind("zz")

    def test_stdout_followed(self, monkeypatch):
        """Configured on sys.stdout, lines go to whatever sys.stdout is when they are written."""
        saved = jsonlog._stream
        jsonlog.configure(jsonlog._STDOUT)
        out = io.StringIO()
        monkeypatch.setattr("sys.stdout", out)
        try:
            jsonlog.get_logger().info("hello")
        finally:
            jsonlog.configure(saved)
        assert "hello" == json.loads(out.getvalue())["event"]


class TestImports:
    @pytest.mark.parametrize("module", ["libipc.server", "libipc.program", "servers.init",
                                        "servers.naming", "servers.console", "servers.devices",
                                        "servers.block", "servers.fs.server",
                                        "servers.shell.main"])
    def test_user_processes_do_not_import_structlog(self, module):
        """Every process logs through jsonlog: none pays for importing structlog."""
        code = f"import sys, {module}; print('structlog' in sys.modules)"
        out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                             check=True, timeout=60)
        assert "False" == out.stdout.strip()
