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


SEMMQ_CONFIG = """
[servers.naming]
module = "servers.naming"
privileged = true

[servers.console]
module = "servers.console"
console = true
public = true

[servers.devices]           # libipc.alarm: a signal that interrupts a waiting call
module = "servers.devices"
public = true
privileged = true

[servers.sem]
module = "servers.sem"
public = true
privileged = true

[servers.mq]
module = "servers.mq"
public = true
privileged = true

[servers.session]
path = "{session}"
args = ["{scenarios}", "{out}"]
session = true
privileged = true
calls = ["*"]
depends = ["sem", "mq", "devices"]
"""

SEMMQ_SCENARIOS = ("sem_api", "sem_fifo", "sem_dead", "sem_withdraw", "mq_api", "mq_multi",
                   "mq_dead", "mq_withdraw", "model", "sem_server_faults", "mq_server_faults")


@pytest.fixture(scope="session")
def semmq(tmp_path_factory):
    """{scenario: what it saw} for every scenario of programs/semmq_session.py, run
    one after the other in one boot (the server faults last); ``semmq["sem_api"]``."""
    from tests.conftest import isolated_env, run_boot
    tmp = tmp_path_factory.mktemp("semmq")
    out, config = tmp / "semmq.json", tmp / "semmq.toml"
    config.write_text(SEMMQ_CONFIG.format(session=PROGRAMS / "semmq_session.py",
                                          scenarios=",".join(SEMMQ_SCENARIOS), out=out))
    result = run_boot(tmp, isolated_env(tmp / "nkhome"), "--config", str(config), timeout=90)
    assert out.exists(), f"no result\n{result.output}\n{result.log}"
    data = json.loads(out.read_text())

    def scenario(name: str) -> dict:
        got = data[name]
        assert "session_error" not in got, got.get("traceback", "") + "\n" + result.log[-4000:]
        return got

    return scenario
