"""Where a boot's files go on the host: the per-user state directory and its logs.

``$XDG_STATE_HOME/nanokernel`` (default ``~/.local/state/nanokernel``) holds
one log file per boot, ``logs/boot-STAMP-PID.log``.  The kernel knows nothing
of this layout: the front end picks the log path and hands it to the kernel
(``kernel.boot.BootOptions.log_path``).
"""

from __future__ import annotations

import os
import time
from pathlib import Path


def state_dir() -> Path:
    """``$XDG_STATE_HOME/nanokernel`` (default ``~/.local/state/nanokernel``)."""
    base = os.environ.get("XDG_STATE_HOME") or str(Path.home() / ".local" / "state")
    return Path(base) / "nanokernel"


def default_log_path() -> Path:
    """A fresh per-boot log file's path in the state directory (the directory is made)."""
    logs = state_dir() / "logs"
    logs.mkdir(parents=True, exist_ok=True)
    stamp = time.strftime("%Y%m%d-%H%M%S")
    return logs / f"boot-{stamp}-{os.getpid()}.log"
