"""End-to-end fixtures: boot the real system through the CLI, in a given mode.

``nk("ls /; cat /etc/motd")`` boots (``nanokernel boot --ramdisk -c …``) in
the test's mode and returns the BootResult.  The mode is a parameter: every
test runs in microkernel (process), hybrid and monolithic mode; narrow it with
NK_E2E_MODES=process (comma-separated).
"""

from __future__ import annotations

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
        return boot(*argv, stdin=stdin, timeout=timeout)

    return run


def lines(text: str) -> list[str]:
    """Output lines with the prompt of a stdin-script session taken off."""
    out = []
    for line in text.splitlines():
        while line.startswith("nk:") and "$ " in line:
            line = line.split("$ ", 1)[1]
        out.append(line.rstrip())
    return out
