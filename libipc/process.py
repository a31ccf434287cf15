"""Start-up of a user process: what every program the kernel spawns does first.

* Ask Linux to SIGKILL us when the kernel process dies (``PR_SET_PDEATHSIG``),
  so a killed kernel never leaves orphans behind.
* Ignore SIGINT: Ctrl-C at the terminal belongs to the console (it cancels the
  line); the kernel decides about halting.  SIGTERM is the kernel's "halt now"
  and stays fatal unless a server installs its own handler (fs syncs first).
* Configure logging to write JSON lines to stdout, which the kernel points
  at the per-boot log file: libipc/jsonlog.py writes structlog's lines without
  importing structlog (~65 ms a process); structlog itself is configured the
  same way in a process that has imported it (the kernel).
"""

from __future__ import annotations

import ctypes
import faulthandler
import os
import signal
import sys
from typing import TextIO

from libipc import jsonlog

PR_SET_PDEATHSIG = 1
_started = False


def _die_with_kernel() -> None:
    try:
        libc = ctypes.CDLL(None, use_errno=True)
        libc.prctl(PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0)
    except OSError:
        return
    kernel_pid = int(os.environ.get("NK_KERNEL_PID", "0") or 0)
    if kernel_pid and os.getppid() != kernel_pid:
        os._exit(1)  # the kernel died before we could ask to follow it


def configure_logging(name: str, stream: TextIO | None = None, *,
                      bind: bool = True) -> None:
    """One JSON object per line on ``stream`` (stdout: the boot's log file).

    ``bind`` adds ``proc=name`` and ``pid`` to every line of this context (the
    kernel binds nothing: servers hosted in it log as themselves)."""
    jsonlog.configure(stream or sys.stdout)
    if bind:
        jsonlog.bind_contextvars(proc=name, pid=os.getpid())
    if "structlog" in sys.modules:   # imported already (the kernel uses it): same lines
        configure_structlog(name, stream, bind=bind)


def configure_structlog(name: str, stream: TextIO | None = None, *,
                        bind: bool = True) -> None:
    """structlog → the lines libipc.jsonlog writes, for code that logs with structlog."""
    import structlog
    structlog.configure(
        processors=[
            structlog.contextvars.merge_contextvars,
            structlog.processors.add_log_level,
            structlog.processors.TimeStamper(fmt="iso", utc=True),
            structlog.processors.format_exc_info,
            structlog.processors.JSONRenderer(),
        ],
        logger_factory=structlog.PrintLoggerFactory(stream or sys.stdout),
        cache_logger_on_first_use=bind,
    )
    if bind:
        structlog.contextvars.bind_contextvars(proc=name, pid=os.getpid())


def start_process() -> None:
    """Once per process, before touching the ring."""
    global _started
    if _started:
        return
    _started = True
    _die_with_kernel()
    if os.environ.get("NK_KEEP_SIGINT") != "1":
        signal.signal(signal.SIGINT, signal.SIG_IGN)
    else:   # an interactive kernel ignores SIGINT and exec keeps that: take Ctrl-C back
        signal.signal(signal.SIGINT, signal.default_int_handler)
    configure_logging(os.environ.get("NK_NAME", "?"))
    faulthandler.register(signal.SIGUSR1, all_threads=True)   # `kill -USR1 PID`: stacks → log
    if hasattr(sys.stdout, "reconfigure"):
        sys.stdout.reconfigure(line_buffering=True)
