"""A server that starts while naming is down waits for the new naming (libipc/naming.py)
instead of dying at register — found by `nanokernel chaos`: block and net went down
for good after naming was killed while they restarted."""

from __future__ import annotations

import json

import pytest

from tests.servers.conftest import PROGRAMS

pytestmark = pytest.mark.timeout(90)

CONFIG = """
[servers.naming]
module = "servers.naming"
privileged = true

[servers.console]
module = "servers.console"
console = true
public = true

[servers.session]
path = "{session}"
args = ["{out}"]
session = true
privileged = true
calls = ["*"]
"""


def test_a_server_started_while_naming_is_down_registers_when_it_is_back(boot, tmp_path):
    out = tmp_path / "out.json"
    config = tmp_path / "boot.toml"
    config.write_text(CONFIG.format(session=PROGRAMS / "naming_gone.py", out=out))
    result = boot("--config", str(config), timeout=60)
    assert out.exists(), result.log
    data = json.loads(out.read_text())
    assert "session_error" not in data, data.get("traceback")
    assert data["naming_back"] is True
    assert data["exited"] is None, data          # before: exit 1, NoSuchEndpoint at register
    assert data["answer"] == "hi", data
