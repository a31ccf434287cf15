"""Start-up of a user process: what every program the kernel spawns does first.

* Ask Linux to SIGKILL us when the kernel process dies (``PR_SET_PDEATHSIG``),
  so a killed kernel never leaves orphans behind.
* Ignore SIGINT: Ctrl-C at the terminal belongs to the console (it cancels the
  line); the kernel decides about halting.  SIGTERM is the kernel's "halt now"
  and stays fatal unless a server installs its own handler (fs syncs first).
* Configure structlog to write JSON lines to stdout, which the kernel points
  at the per-boot log file.
"""

from __future__ import annotations

import ctypes
import faulthandler
import os
import signal
import sys
from typing import TextIO

import structlog

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
    """structlog → one JSON object per line on ``stream`` (stdout: the boot's log file)."""
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
