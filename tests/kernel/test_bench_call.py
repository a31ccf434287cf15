"""`nanokernel bench call`: the rows it prints, and that nothing it starts can hang it.

Shape and failure handling only, never the numbers: performance is measured
by the benchmark, not by timed tests.
"""

from __future__ import annotations

import json
import multiprocessing
import os
import subprocess
import sys
import time
from pathlib import Path

import pytest

from nanokernel.bench import call, ipc
from nanokernel.bench.stats import Row, failed_row
from nanokernel.bench.transports import PipeRelayTransport
from tests.conftest import wait_until

BENCHES = ["call-rtt", "call-rtt-4k", "call-send-throughput"]
PEERS = ["nanokernel", "nanokernel-hosted", "os.pipe", "os.pipe-relay", "socketpair", "mp.Pipe"]
TPUT_PEERS = ["nanokernel", "os.pipe", "socketpair", "mp.Pipe", "mp.Queue"]


@pytest.fixture(scope="module")
def rows() -> list[dict]:
    proc = subprocess.run([sys.executable, "-m", "nanokernel", "bench", "call", "--quick",
                           "--json"], capture_output=True, text=True, timeout=60,
                          stdin=subprocess.DEVNULL)
    assert 0 == proc.returncode, proc.stderr
    return [json.loads(line) for line in proc.stdout.splitlines()]


class TestOutput:
    def test_every_bench_and_peer_is_there(self, rows):
        """One JSON object per (bench, peer), benches in order, peers in order, no errors."""
        expected = [(b, p) for b in BENCHES for p in PEERS]
        expected += [("call-throughput", p) for p in TPUT_PEERS]
        assert expected == [(r["bench"], r["peer"]) for r in rows]
        assert [] == [r for r in rows if "error" in r]

    def test_batched_throughput_rows(self, rows):
        """call-throughput: a rate for each peer; the router's batches are one message
        per SEND and two ring crossings each."""
        by = {r["peer"]: r for r in rows if r["bench"] == "call-throughput"}
        assert all(r["ops_per_s"] > 0 for r in by.values())
        assert 1 == by["nanokernel"]["messages_per_op"]
        assert 2 == by["nanokernel"]["crossings_per_op"]
        assert 256 == by["nanokernel"]["batch"]

    def test_round_trip_rows_have_percentiles_and_a_rate(self, rows):
        """call-rtt and call-rtt-4k rows: 0 < p50 <= p99, ops/s > 0, the payload size."""
        for r in (r for r in rows if r["bench"] in ("call-rtt", "call-rtt-4k")):
            assert {"bench", "peer", "p50_us", "p99_us", "ops_per_s"} <= r.keys()
            assert 0 < r["p50_us"] <= r["p99_us"], r
            assert r["ops_per_s"] > 0, r
            assert r["size"] == (4096 if r["bench"] == "call-rtt-4k" else 64)

    def test_send_rows_have_a_rate(self, rows):
        for r in (r for r in rows if r["bench"] == "call-send-throughput"):
            assert r["ops_per_s"] > 0, r
            assert r["p50_us"] is None and r["p99_us"] is None

    def test_messages_and_crossings_per_op(self, rows):
        """A call is 2 messages and a SEND 1 — for the nanokernel as the kernel counted
        them; a process server costs 4 ring crossings per call, a hosted one 2."""
        by = {(r["bench"], r["peer"]): r for r in rows}
        for peer in PEERS:
            assert 2 == by["call-rtt", peer]["messages_per_op"]
            assert 1 == by["call-send-throughput", peer]["messages_per_op"]
        assert 4 == by["call-rtt", "nanokernel"]["crossings_per_op"]
        assert 2 == by["call-rtt", "nanokernel-hosted"]["crossings_per_op"]
        assert 4 == by["call-rtt", "os.pipe-relay"]["crossings_per_op"]
        assert 3 == by["call-rtt", "os.pipe-relay"]["processes"]


class TestSummary:
    def test_one_line_against_the_pipe_and_the_relay(self):
        rows = [Row("call-rtt", "nanokernel", p50_us=30.0, p99_us=60.0),
                Row("call-rtt", "os.pipe", p50_us=15.0, p99_us=20.0),
                Row("call-rtt", "os.pipe-relay", p50_us=60.0, p99_us=80.0)]
        lines = call.summary(rows)
        assert lines[0].startswith("a routed call costs 2.00x a direct pipe round trip and "
                                   "0.50x a pipe relay through a third process")

    def test_failed_rows_give_no_ratio(self):
        rows = [failed_row("call-rtt", "nanokernel", "boom"),
                Row("call-rtt", "os.pipe", p50_us=15.0, p99_us=20.0)]
        assert [] == call.summary(rows)


class TestNoHang:
    def test_a_failed_boot_is_an_error_row_and_is_not_retried(self, monkeypatch):
        """Both nanokernel peers get error rows; later rounds do not boot again."""
        boots = []

        def broken(quick):
            boots.append(quick)
            raise RuntimeError("bench boot exited 1")

        monkeypatch.setattr(call, "boot_and_measure", broken)
        monkeypatch.setattr(call, "PEERS", [])
        monkeypatch.setattr(call, "TPUT_PEERS", [])
        rows = call.run(quick=True)
        assert [(b, p) for b in BENCHES for p in ("nanokernel", "nanokernel-hosted")] + \
            [("call-throughput", "nanokernel")] == [(r.bench, r.peer) for r in rows]
        assert all("exited 1" in r.error for r in rows)
        assert 1 == len(boots)

    def test_a_stuck_init_is_killed_at_the_deadline(self, tmp_path):
        """An init that never answers: RuntimeError after the limit, its process gone."""
        pidfile = tmp_path / "pid"
        init = tmp_path / "stuck_init.py"
        init.write_text(f"import os, time\nopen({str(pidfile)!r}, 'w').write(str(os.getpid()))"
                        "\ntime.sleep(60)\n")
        t0 = time.monotonic()
        with pytest.raises(RuntimeError, match="no result within 2 s"):
            call.boot_and_measure(True, limit_s=2, init=(str(init),))
        assert time.monotonic() - t0 < 10
        proc = Path(f"/proc/{pidfile.read_text()}")

        def gone() -> bool:   # SIGKILL was sent; the process may take a moment to die
            try:
                return "Z" in (proc / "stat").read_text().rsplit(")", 1)[1][:3]
            except OSError:
                return True

        wait_until(gone, 5, what="the stuck init to die")

    def test_relay_stuck_child_is_killed_at_the_deadline(self, monkeypatch):
        monkeypatch.setattr(ipc, "LIMIT_S", 1.0)
        t0 = time.monotonic()
        row = ipc._guarded("call-rtt", "os.pipe-relay", lambda: ipc._measured(
            PipeRelayTransport, _stuck_child, 1, lambda t: t.recv()))
        assert time.monotonic() - t0 < 10
        assert "no answer within 1 s" in row.error
        assert [] == multiprocessing.active_children()   # the relay is reaped too

    def test_relay_dead_child_is_reported_not_waited_for(self, monkeypatch):
        monkeypatch.setattr(ipc, "LIMIT_S", 30.0)
        t0 = time.monotonic()
        row = ipc._guarded("call-rtt", "os.pipe-relay", lambda: ipc._measured(
            PipeRelayTransport, _dying_child, 1, lambda t: t.recv()))
        assert time.monotonic() - t0 < 10
        assert "exited with status 3" in row.error
        assert [] == multiprocessing.active_children()

    def test_relay_carries_4k_messages_both_ways(self):
        samples = ipc.rtt_samples(PipeRelayTransport, 50, 5, size=4096, min_warmup_s=0.01)
        assert 50 == len(samples) and min(samples) > 0
        assert [] == multiprocessing.active_children()


def _stuck_child(t, count):
    time.sleep(60)


def _dying_child(t, count):
    os._exit(3)
