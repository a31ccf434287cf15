"""End-to-end fixtures: boot the real system through the CLI, in a given mode.

``nk("ls /; cat /etc/motd")`` boots (``nanokernel boot --ramdisk -c …``) in
the test's mode and returns the BootResult.  The mode is a parameter: every
test runs in microkernel (process), hybrid and monolithic mode; narrow it with
NK_E2E_MODES=process (comma-separated).
"""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
MODE_FLAGS = {"process": [], "monolithic": ["--monolithic"], "hybrid": ["--hybrid"]}
MODES = [m for m in os.environ.get("NK_E2E_MODES", "process,hybrid,monolithic").split(",")
         if m]


@pytest.fixture(params=MODES)
def mode(request) -> str:
    return request.param


@pytest.fixture
def nk(boot, mode, monkeypatch):
    """Boot in ``mode`` from the repository root (so examples/… paths work)."""
    monkeypatch.chdir(REPO)

    def run(commands: str | None = None, *args: str, stdin: str | None = None,
            timeout: float = 60.0):
        argv = [*MODE_FLAGS[mode], *args]
        if commands is not None:
            argv += ["-c", commands]
        result = boot(*argv, stdin=stdin, timeout=timeout)
        leaked = log_lines(result.stdout)
        assert not leaked, f"log lines on the console (they belong in the boot log): {leaked}"
        return result

    return run


def log_lines(text: str) -> list[str]:
    """The lines of ``text`` that are log events (JSON with "event" and "level"): none
    may reach the console — every process logs to the boot's log file."""
    found = []
    for line in lines(text):
        start = line.find('{"')
        if start < 0:
            continue
        try:
            obj = json.loads(line[start:])
        except ValueError:
            continue
        if isinstance(obj, dict) and "event" in obj and "level" in obj:
            found.append(line)
    return found


def lines(text: str) -> list[str]:
    """Output lines with the prompt of a stdin-script session taken off."""
    out = []
    for line in text.splitlines():
        while line.startswith("nk:") and "$ " in line:
            line = line.split("$ ", 1)[1]
        out.append(line.rstrip())
    return out
