"""Halt stops servers youngest-first by their first start, so a restarted
block is still stopped after fs (fs flushes through it on SIGTERM)."""

from __future__ import annotations

import json

from tests.conftest import isolated_env, run_boot


def test_fs_stops_before_a_restarted_block(tmp_path):
    r = run_boot(tmp_path, isolated_env(tmp_path / "home"),
                 "-c", "kill block; sleep 0.5; echo x > /a; ls /")
    assert 0 == r.returncode, r.output
    events = [json.loads(line) for line in r.log.splitlines() if line.startswith("{")]
    halting = next(i for i, e in enumerate(events) if e.get("event") == "halting")
    exits = [e["name"] for e in events[halting:] if e.get("event") == "exited"]
    assert exits.index("fs") < exits.index("block")
    assert "init" == exits[0] or "shell" == exits[0]
