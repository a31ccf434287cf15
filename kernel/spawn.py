"""Starting a user process: a real OS process that shares only its channel.

The child gets the channel's memfd and its end of the descriptor link through
``pass_fds`` (and nothing else of the kernel's), its identity in the
environment, and stdout/stderr pointed at the per-boot log file.  Only a
process spawned with ``console=True`` (the console server) inherits the
kernel's terminal.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from libipc import fdlink
from libipc.channel import Channel
from libipc.errors import InvalidArgument


def python_argv(argv: list[str]) -> list[str]:
    """``["-m", "servers.naming"]`` or ``["path/x.py", ...]`` → a full command line."""
    if not argv or not all(isinstance(a, str) for a in argv):
        raise InvalidArgument("spawn: argv must be a non-empty list of strings")
    if argv[0] != "-m":
        script = Path(argv[0])
        if not script.is_file():
            raise InvalidArgument(f"spawn: no such program file: {argv[0]}")
    return [sys.executable, *argv]


def start(argv: list[str], channel: Channel, *, endpoint: int, name: str, log_fd: int | None,
          console: bool, env: dict[str, str] | None = None,
          fd_link: int | None = None) -> subprocess.Popen:
    """Fork/exec one process; it attaches to ``channel`` through ``NK_RING_FD`` and
    takes granted descriptors from ``fd_link`` (libipc/fdlink.py) through NK_FD_LINK."""
    child_env = dict(os.environ)
    child_env.update(env or {})
    # Not unbuffered: write-through stdout would split print()'s text and newline
    # into two writes, and lines of different processes would interleave in the
    # shared log.  libipc line-buffers stdout instead (one write per line).
    child_env.pop("PYTHONUNBUFFERED", None)
    child_env.update({
        "NK_RING_FD": str(channel.fd), "NK_ENDPOINT": str(endpoint), "NK_NAME": name,
        "NK_KERNEL_PID": str(os.getpid()),
    })
    passed = (channel.fd,) if fd_link is None else (channel.fd, fd_link)
    if fd_link is not None:
        child_env[fdlink.ENV] = str(fd_link)
    if console:
        child_env["NK_KEEP_SIGINT"] = "1"
        stdio = {"stdin": None, "stdout": None, "stderr": log_fd}
    else:
        child_env.pop("NK_KEEP_SIGINT", None)
        stdio = {"stdin": subprocess.DEVNULL, "stdout": log_fd, "stderr": log_fd}
    return subprocess.Popen(python_argv(argv), pass_fds=passed, env=child_env,
                            close_fds=True, **stdio)
