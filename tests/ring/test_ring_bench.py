"""`nanokernel bench ring`: the rows it prints, and that a stuck or dead peer cannot hang it.

These tests check the shape of the output and the failure handling, never
the numbers: performance is measured by the benchmark, not by timed tests.
"""

from __future__ import annotations

import io
import json
import multiprocessing
import os
import subprocess
import sys
import time

import pytest

from nanokernel.bench import ipc
from nanokernel.bench.main import run_benches
from nanokernel.bench.report import print_table
from nanokernel.bench.stats import Row, failed_row
from nanokernel.bench.transports import ALL

PEERS = ["nanokernel", "os.pipe", "socketpair", "mp.Pipe", "mp.Queue"]


@pytest.fixture(scope="module")
def quick_json_rows() -> list[dict]:
    proc = subprocess.run([sys.executable, "-m", "nanokernel", "bench", "ring", "--quick",
                           "--json"], capture_output=True, text=True, timeout=90)
    assert 0 == proc.returncode, proc.stderr
    return [json.loads(line) for line in proc.stdout.splitlines()]


class TestOutput:
    def test_every_bench_and_peer_is_there(self, quick_json_rows):
        """--json prints one object per (bench, peer): rtt and single-message throughput for
        all five peers, batched throughput for those with a batch API."""
        pairs = [(r["bench"], r["peer"]) for r in quick_json_rows]
        expected = ([("ring-rtt", p) for p in PEERS] + [("ring-throughput", p) for p in PEERS]
                    + [("ring-throughput-batch", p) for p in ["nanokernel", "os.pipe",
                                                              "socketpair"]])
        assert expected == pairs

    def test_latency_rows_have_percentiles_and_no_rate(self, quick_json_rows):
        """Round-trip rows carry p50 <= p99 in µs and ops_per_s null."""
        for row in (r for r in quick_json_rows if r["bench"] == "ring-rtt"):
            assert {"bench", "peer", "p50_us", "p99_us", "ops_per_s"} <= row.keys()
            assert 0 < row["p50_us"] <= row["p99_us"]
            assert row["ops_per_s"] is None

    def test_throughput_rows_have_a_rate_and_no_percentiles(self, quick_json_rows):
        """Throughput rows carry ops_per_s and null percentiles."""
        for row in (r for r in quick_json_rows if r["bench"].startswith("ring-throughput")):
            assert row["ops_per_s"] > 0
            assert row["p50_us"] is None and row["p99_us"] is None

    def test_table_shows_ratios_to_os_pipe_and_failures(self):
        """The table mode prints each row with its ratio to os.pipe, and failures as such."""
        rows = [Row("ring-rtt", "nanokernel", p50_us=2.0, p99_us=3.0),
                Row("ring-rtt", "os.pipe", p50_us=40.0, p99_us=50.0),
                failed_row("ring-rtt", "mp.Queue", "mp.Queue: no answer within 60 s"),
                Row("ring-throughput", "nanokernel", ops_per_s=4e6),
                Row("ring-throughput", "os.pipe", ops_per_s=1e6)]
        out = io.StringIO()
        print_table(rows, out=out)
        text = out.getvalue()
        assert "vs os.pipe" in text
        assert "0.05x time" in text
        assert "4.00x speed" in text
        assert "FAILED: mp.Queue: no answer within 60 s" in text

    def test_unknown_bench_is_refused(self, capsys):
        """An unknown benchmark name is an error (status 2) naming the known ones."""
        assert 2 == run_benches(["nope"], quick=True, as_json=True)
        assert "ring" in capsys.readouterr().err


def stuck_child(t, count):
    time.sleep(60)


def dying_child(t, count):
    os._exit(3)


@pytest.mark.parametrize("cls", ALL, ids=[c.name for c in ALL])
class TestNoHang:
    def test_stuck_child_is_killed_at_the_deadline(self, cls, monkeypatch):
        """A child that never answers becomes an error row after LIMIT_S; nothing is left."""
        monkeypatch.setattr(ipc, "LIMIT_S", 1.0)
        t0 = time.monotonic()
        row = ipc._guarded("ring-rtt", cls.name,
                           lambda: ipc._measured(cls, stuck_child, 1, lambda t: t.recv()))
        assert time.monotonic() - t0 < 10
        assert "no answer within 1 s" in row.error
        assert [] == multiprocessing.active_children()

    def test_dead_child_is_reported_not_waited_for(self, cls, monkeypatch):
        """A child that dies is reported with its exit status well before the deadline."""
        monkeypatch.setattr(ipc, "LIMIT_S", 30.0)
        t0 = time.monotonic()
        row = ipc._guarded("ring-rtt", cls.name,
                           lambda: ipc._measured(cls, dying_child, 1, lambda t: t.recv()))
        assert time.monotonic() - t0 < 10
        assert "exited with status 3" in row.error
        assert [] == multiprocessing.active_children()
