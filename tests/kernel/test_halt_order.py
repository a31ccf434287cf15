"""Halt stops servers youngest-first by their first start, so a restarted
block is still stopped after fs (fs flushes through it on SIGTERM)."""

from __future__ import annotations

import json
from pathlib import Path

from tests.conftest import isolated_env, run_boot

AWAIT = Path(__file__).resolve().parents[1] / "e2e" / "programs" / "await_restart.py"


def test_fs_stops_before_a_restarted_block(tmp_path):
    """block is killed and back (waited for as a condition) before fs writes through it."""
    r = run_boot(tmp_path, isolated_env(tmp_path / "home"),
                 "-c", f"kill block; run {AWAIT} block; echo x > /a; ls /")
    assert 0 == r.returncode, r.output
    assert "a" in r.stdout.split(), r.output
    events = [json.loads(line) for line in r.log.splitlines() if line.startswith("{")]
    starts = [e for e in events if e.get("event") == "started" and e.get("server") == "block"]
    assert 2 <= len(starts), "block was not restarted before the write"
    halting = next(i for i, e in enumerate(events) if e.get("event") == "halting")
    exits = [e["name"] for e in events[halting:] if e.get("event") == "exited"]
    assert exits.index("fs") < exits.index("block")
    assert "init" == exits[0] or "shell" == exits[0]
