"""A boot of its own for a bench that measures inside the system.

The nanokernel side of an IPC bench row is measured by a session program that runs
inside a small boot — naming, console and the servers it needs — so that boot time
is not counted; it writes its results as JSON to the file named by its first
argument.  ``run_session`` makes that boot and returns what the session wrote.
"""

from __future__ import annotations

import json
import subprocess
import sys
import tempfile
from pathlib import Path

from nanokernel.bench.placement import pinned

BASE = """
[servers.naming]
module = "servers.naming"
privileged = true

[servers.console]
module = "servers.console"
console = true
public = true
"""
# Each server a bench boots is public (user processes call it) and privileged (it
# watches exits, or signals its clients).
SERVER = """
[servers.{name}]
module = "servers.{name}"
public = true
privileged = true
calls = {calls}
"""
SESSION = """
[servers.session]
path = "{session}"
args = {args}
session = true
privileged = true
calls = ["*"]
depends = {depends}
"""


class SessionFailed(Exception):
    """The boot or its session gave no result: the message says why (for the row)."""


def run_session(session: str, args: list, servers: tuple[str, ...] = (),
                timeout: float = 300.0, cpus: frozenset[int] | None = None,
                boot_args: tuple[str, ...] = (), calls: dict[str, list[str]] | None = None
                ) -> dict:
    """Boot naming, console, ``servers`` and the session file ``session`` (of this
    directory) with ``[OUT.json, *args]``; its JSON.  ``cpus``: pin the whole boot;
    ``boot_args``: more for ``nanokernel boot`` (``--disk IMAGE``); ``calls``: whom a
    server may call (``{"fs": ["block"]}``; none by default)."""
    with tempfile.TemporaryDirectory(prefix="nk-bench-") as tmp:
        out, config = Path(tmp) / "result.json", Path(tmp) / "boot.toml"
        path = Path(__file__).resolve().parent / session
        allowed = calls or {}
        config.write_text(BASE + "".join(SERVER.format(name=s, calls=json.dumps(allowed.get(s, [])))
                                          for s in servers)
                          + SESSION.format(session=path,
                                           args=json.dumps([str(out), *map(str, args)]),
                                           depends=json.dumps(list(servers))))
        disk = () if "--disk" in boot_args else ("--ramdisk",)   # (never the user's image)
        cmd = [sys.executable, "-m", "nanokernel", "boot", "--config", str(config),
               "--log", str(Path(tmp) / "boot.log"), *disk, *boot_args]
        try:
            with pinned(cpus):
                subprocess.run(cmd, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                               stderr=subprocess.DEVNULL, timeout=timeout, check=False)
            return json.loads(out.read_text())
        except (OSError, ValueError, subprocess.TimeoutExpired) as exc:
            raise SessionFailed(f"{type(exc).__name__}: {exc}"[:300]) from None
