"""`nanokernel bench ipc --quick --json`: every row is there and measured (no speed is
asserted: the machine is shared)."""

from __future__ import annotations

import json
import subprocess
import sys

PIPE_BENCHES = ("pipe-throughput", "pipe-rtt")
PIPE_PEERS = ("nanokernel", "nanokernel-calls", "os.pipe", "os.mkfifo")
PLACEMENTS = ("free", "one-cpu", "split")
SEMMQ_ROWS = {("sem-pingpong", p) for p in ("nanokernel", "posix_ipc.Semaphore",
                                             "multiprocessing.Semaphore")} \
    | {("mq-throughput", p) for p in ("nanokernel", "posix_ipc.MessageQueue",
                                      "multiprocessing.Queue")}


def test_every_pipe_row_and_peer_is_measured(nk_env):
    """Each pipe row under each CPU placement (split may be skipped, with its reason, on
    a machine with one CPU), the signal, shm, socket, semaphore and queue rows (posix_ipc's
    may be skipped, with its reason, where it is not installed), and the numbers each row
    must have."""
    r = subprocess.run([sys.executable, "-m", "nanokernel", "bench", "ipc", "--quick", "--json"],
                       env=nk_env, capture_output=True, text=True, timeout=300)
    assert 0 == r.returncode, r.stdout + r.stderr
    rows = [json.loads(line) for line in r.stdout.splitlines() if line.startswith("{")]
    pipes = {(row["bench"], row["peer"], row.get("placement")) for row in rows
             if row["bench"] in PIPE_BENCHES}
    assert {(b, p, where) for b in PIPE_BENCHES for p in PIPE_PEERS
            for where in PLACEMENTS} == pipes
    assert {("signal-rtt", "nanokernel"), ("signal-rtt", "os.kill"),
            ("shm-bulk", "nanokernel"), ("shm-bulk", "nanokernel-copy-in"),
            ("shm-bulk", "os.pipe"),
            ("fs-read-64m", "nanokernel"), ("fs-read-64m", "host-open"),
            ("socket-throughput", "nanokernel"), ("socket-throughput", "socketpair"),
            ("socket-rtt", "nanokernel"), ("socket-rtt", "socketpair")} | SEMMQ_ROWS \
        <= {(row["bench"], row["peer"]) for row in rows}
    for row in rows:
        assert row.get("error") is None, row
        assert "machine" in row
        if row.get("skipped") and row["peer"].startswith("posix_ipc."):
            assert "posix_ipc is not installed" in row["skipped"], row
        elif row.get("skipped"):
            assert "split" == row["placement"], row
        elif row["bench"] in ("pipe-throughput", "socket-throughput"):
            assert row["mb_per_s"] > 0 and row["write_bytes"] == 65536
        elif row["bench"] in ("shm-bulk", "fs-read-64m"):
            assert row["mb_per_s"] > 0 and row["bytes"] == 64 << 20
        elif row["bench"] in ("pipe-rtt", "signal-rtt", "socket-rtt"):
            assert row["p50_us"] > 0 and row["p99_us"] >= row["p50_us"]
        elif row["bench"] == "sem-pingpong":
            assert row["p50_us"] > 0 and row["p99_us"] >= row["p50_us"]
            assert row["ops_per_s"] > 0
        elif row["bench"] == "mq-throughput":
            assert row["ops_per_s"] > 0 and 64 == row["size"]
