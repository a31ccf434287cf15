"""The recovery tests boot naming, console, block and fs on a disk image with a session
program (programs/recovery_session.py) that kills servers under a worker's calls."""

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

[servers.block]
module = "servers.block"
calls = ["console"]

[servers.fs]
module = "servers.fs"
depends = ["block"]
public = true
calls = ["block", "console"]

[servers.session]
path = "{session}"
args = {args}
session = true
privileged = true
calls = ["*"]
depends = ["fs"]

[restart]                 # killed again and again on purpose: restart quickly, always
backoff = 0.02
backoff_max = 0.2
give_up = 1000
"""


@pytest.fixture
def recovery(boot, tmp_path):
    """``recovery(disk, "block_stream")`` → what the scenario saw (a dict)."""
    counter = iter(range(100))

    def run(disk: Path, scenario: str, *args: str, timeout: float = 90.0) -> dict:
        n = next(counter)
        out = tmp_path / f"{scenario}-{n}.json"
        config = tmp_path / f"{scenario}-{n}.toml"
        argv = [scenario, str(out), *args]
        config.write_text(CONFIG.format(session=PROGRAMS / "recovery_session.py",
                                        args=json.dumps(argv)))
        result = boot("--config", str(config), "--disk", str(disk), timeout=timeout,
                      ramdisk=False)
        assert out.exists(), f"no result\n{result.output}\n{result.log[-4000:]}"
        data = json.loads(out.read_text())
        assert "session_error" not in data, data.get("traceback", "") + result.log[-4000:]
        data["_log"] = result.log
        return data

    return run
