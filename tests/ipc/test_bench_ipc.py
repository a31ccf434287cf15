"""`nanokernel bench ipc --quick --json`: every row is there and measured (no speed is
asserted: the machine is shared)."""

from __future__ import annotations

import json
import subprocess
import sys


def test_every_pipe_row_and_peer_is_measured(nk_env):
    r = subprocess.run([sys.executable, "-m", "nanokernel", "bench", "ipc", "--quick", "--json"],
                       env=nk_env, capture_output=True, text=True, timeout=300)
    assert 0 == r.returncode, r.stdout + r.stderr
    rows = [json.loads(line) for line in r.stdout.splitlines() if line.startswith("{")]
    got = {(row["bench"], row["peer"]) for row in rows}
    assert {(b, p) for b in ("pipe-throughput", "pipe-rtt")
            for p in ("nanokernel", "os.pipe", "os.mkfifo")} \
        | {("signal-rtt", "nanokernel"), ("signal-rtt", "os.kill")} == got
    for row in rows:
        assert row.get("error") is None, row
        assert "machine" in row
        if row["bench"] == "pipe-throughput":
            assert row["mb_per_s"] > 0 and row["write_bytes"] == 65536
        else:
            assert row["p50_us"] > 0 and row["p99_us"] >= row["p50_us"]
