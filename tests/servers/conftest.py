"""Helpers for the core-server tests: a boot configuration per test, written
into tmp_path, whose session program (programs/session.py) runs one scenario
and writes what it saw as JSON."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

PROGRAMS = Path(__file__).resolve().parent / "programs"

BASE = """
[servers.naming]
module = "servers.naming"
privileged = true

[servers.console]
module = "servers.console"
console = true
public = true

[servers.devices]
module = "servers.devices"
public = true
privileged = true

[servers.echo]
path = "{echo}"
public = true
calls = ["@public"]
{extra}
[servers.session]
path = "{session}"
args = ["{scenario}", "{out}"]
session = true
privileged = true
calls = ["*"]

[restart]
{restart}
"""


def write_config(tmp_path: Path, scenario: str, extra: str = "", restart: str = "") -> Path:
    out = tmp_path / f"{scenario}.json"
    text = BASE.format(echo=PROGRAMS / "echo.py", session=PROGRAMS / "session.py",
                       scenario=scenario, out=out, extra=extra, restart=restart)
    path = tmp_path / f"{scenario}.toml"
    path.write_text(text)
    return path


@pytest.fixture
def session(boot, tmp_path):
    """``session("kill", extra=..., restart=..., stdin=...)`` → (result dict, BootResult)."""

    def run(scenario: str, extra: str = "", restart: str = "", stdin: str | None = None,
            timeout: float = 30.0):
        config = write_config(tmp_path, scenario, extra, restart)
        result = boot("--config", str(config), stdin=stdin, timeout=timeout)
        out = tmp_path / f"{scenario}.json"
        assert out.exists(), (f"no result (status {result.returncode})\nstdout:\n"
                              f"{result.stdout}\nstderr:\n{result.stderr}\nlog:\n{result.log}")
        data = json.loads(out.read_text())
        assert "session_error" not in data, data.get("traceback", "") + "\n" + result.log
        return data, result

    return run
