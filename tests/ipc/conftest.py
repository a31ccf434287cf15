"""The pipe tests boot a small system — naming, console, pipe — whose session
program (programs/pipe_session.py) runs one scenario and writes JSON."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

PROGRAMS = Path(__file__).resolve().parent / "programs"

CONFIG = """
[servers.naming]
module = "servers.naming"
privileged = true

[servers.console]
module = "servers.console"
console = true
public = true

[servers.pipe]
module = "servers.pipe"
public = true
privileged = true

[servers.session]
path = "{session}"
args = ["{scenario}", "{out}"]
session = true
privileged = true
calls = ["*"]
depends = ["pipe"]
"""


FS_SERVERS = """
[servers.block]
module = "servers.block"
calls = ["console"]

[servers.fs]
module = "servers.fs"
depends = ["block"]
public = true
calls = ["block", "console"]
"""


def scenario_runner(boot, tmp_path, session: str, fs: bool = False, disk=None):
    """``run(scenario)`` boots the small system (with fs and block when ``fs``; on the
    image ``disk`` when given, else a ramdisk) and returns what the scenario wrote."""
    def run(scenario: str, timeout: float = 60.0, extra: str = "") -> dict:
        out = tmp_path / f"{scenario}.json"
        config = tmp_path / f"{scenario}.toml"
        text = CONFIG.format(session=PROGRAMS / session, scenario=scenario, out=out)
        if fs:
            text = text.replace('depends = ["pipe"]', 'depends = ["pipe", "fs"]') + FS_SERVERS
        config.write_text(text + extra)
        args = ("--config", str(config)) + (("--disk", str(disk)) if disk else ())
        result = boot(*args, timeout=timeout, ramdisk=disk is None)
        assert out.exists(), f"no result\n{result.output}\n{result.log}"
        data = json.loads(out.read_text())
        assert "session_error" not in data, data.get("traceback", "") + "\n" + result.log
        return data

    return run


@pytest.fixture
def pipes(boot, tmp_path):
    """``pipes("bulk")`` → what the scenario saw (a dict)."""
    return scenario_runner(boot, tmp_path, "pipe_session.py")


@pytest.fixture
def signals(boot, tmp_path):
    """``signals("defaults")`` → what programs/signal_session.py's scenario saw."""
    return scenario_runner(boot, tmp_path, "signal_session.py")


@pytest.fixture
def shm(boot, tmp_path):
    """``shm("basic")`` → what programs/shm_session.py's scenario saw."""
    return scenario_runner(boot, tmp_path, "shm_session.py")
