"""`nanokernel bench call`: the rows it prints, and that nothing it starts can hang it.

Shape and failure handling only, never the numbers: performance is measured
by the benchmark, not by timed tests.
"""

from __future__ import annotations

import io
import json
import multiprocessing
import os
import subprocess
import sys
import time
from pathlib import Path

import pytest

from nanokernel.bench import call, ipc, machine, main
from nanokernel.bench.placement import choose_placements, format_cpus
from nanokernel.bench.report import print_table
from nanokernel.bench.stats import Row, failed_row, skipped_row
from nanokernel.bench.transports import PipeRelayTransport
from tests.conftest import wait_until

BENCHES = ["call-rtt", "call-rtt-4k", "call-send-throughput"]
PEERS = ["nanokernel", "nanokernel-hosted", "os.pipe", "os.pipe-relay", "socketpair", "mp.Pipe"]
TPUT_PEERS = ["nanokernel", "os.pipe", "socketpair", "mp.Pipe", "mp.Queue"]
PLACEMENTS = ["free", "one-cpu", "split"]
RTT = ["call-rtt", "call-rtt-4k"]


@pytest.fixture(scope="module")
def rows() -> list[dict]:
    proc = subprocess.run([sys.executable, "-m", "nanokernel", "bench", "call", "--quick",
                           "--json"], capture_output=True, text=True, timeout=120,
                          stdin=subprocess.DEVNULL)
    assert 0 == proc.returncode, proc.stderr
    return [json.loads(line) for line in proc.stdout.splitlines()]


class TestOutput:
    def test_every_bench_and_peer_is_there(self, rows):
        """One JSON object per (bench, placement, peer), in order, no errors: the round
        trips under every placement, the throughput rows under "free"."""
        expected = [(b, w, p) for b in RTT for w in PLACEMENTS for p in PEERS]
        expected += [("call-send-throughput", "free", p) for p in PEERS]
        expected += [("call-throughput", "free", p) for p in TPUT_PEERS]
        assert expected == [(r["bench"], r["placement"], r["peer"]) for r in rows]
        assert [] == [r for r in rows if "error" in r]

    def test_split_is_measured_or_skipped_with_a_reason(self, rows):
        """split: a row per peer either way; skipped exactly when the shape has more
        processes than the bench may use CPUs, and then with that reason."""
        have = len(os.sched_getaffinity(0))
        for r in (r for r in rows if r["placement"] == "split"):
            if r["processes"] > have:
                assert f"split needs {r['processes']} CPUs" in r["skipped"], r
                assert r["p50_us"] is None, r
            else:
                assert "skipped" not in r and r["p50_us"] > 0, r

    def test_one_cpu_pins_every_process_of_the_boot_and_of_the_peers(self, rows):
        """Under one-cpu, each process of the measured boot (kernel, init, server) and of
        each peer (parent, child, relay) could run on one and the same CPU, as /proc read
        it while they ran; under free, on every CPU the bench may use."""
        mine = os.sched_getaffinity(0)
        for r in (r for r in rows if r["bench"] in RTT):
            cpus = r["cpus"] if "skipped" not in r else None
            if cpus is None:
                continue
            assert len(cpus) == r["processes"], r
            if r["placement"] == "one-cpu":
                assert {str(min(mine))} == set(cpus.values()), r
            elif r["placement"] == "free":
                assert {_cpu_list(mine)} == set(cpus.values()), r
            else:   # split: one CPU each, all different
                assert len(set(cpus.values())) == len(cpus), r
                assert all("," not in c and "-" not in c for c in cpus.values()), r

    def test_every_row_names_its_machine(self, rows):
        for r in rows:
            m = r["machine"]
            assert m["cpu_count"] >= 1 and 1 <= m["cpus_usable"] <= m["cpu_count"], m
            assert m["cpu_model"] and m["python"] and m["kernel"] and m["date"], m
        assert 1 == len({json.dumps(r["machine"], sort_keys=True) for r in rows})

    def test_batched_throughput_rows(self, rows):
        """call-throughput: a rate for each peer; the router's batches are one message
        per SEND and two ring crossings each."""
        by = {r["peer"]: r for r in rows if r["bench"] == "call-throughput"}
        assert {"free"} == {r["placement"] for r in by.values()}
        assert all(r["ops_per_s"] > 0 for r in by.values())
        assert 1 == by["nanokernel"]["messages_per_op"]
        assert 2 == by["nanokernel"]["crossings_per_op"]
        assert 256 == by["nanokernel"]["batch"]

    def test_round_trip_rows_have_percentiles_and_a_rate(self, rows):
        """call-rtt and call-rtt-4k rows: 0 < p50 <= p99, ops/s > 0, the payload size."""
        for r in (r for r in rows if r["bench"] in RTT and "skipped" not in r):
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
        by = {(r["bench"], r["peer"]): r for r in rows if r["placement"] == "free"}
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
        assert lines[0].endswith("[free]")   # a row without a placement is free

    def test_failed_rows_give_no_ratio(self):
        rows = [failed_row("call-rtt", "nanokernel", "boom"),
                Row("call-rtt", "os.pipe", p50_us=15.0, p99_us=20.0)]
        lines = call.summary(rows)
        assert not [line for line in lines if "costs" in line]
        assert all("no figure (nanokernel FAILED)" in line for line in lines), lines

    def test_targets_per_placement(self):
        """p50 against os.pipe when free, against the relay and p99/p50 under each
        placement, met or NOT met with the figures; a skipped placement says so."""
        def rtt(peer, where, p50, p99):
            return Row("call-rtt", peer, p50_us=p50, p99_us=p99, extra={"placement": where})

        rows = [rtt("nanokernel", "free", 30.0, 60.0), rtt("os.pipe", "free", 40.0, 50.0),
                rtt("os.pipe-relay", "free", 60.0, 80.0),
                rtt("nanokernel", "one-cpu", 30.0, 150.0), rtt("os.pipe", "one-cpu", 5.0, 6.0),
                rtt("os.pipe-relay", "one-cpu", 20.0, 30.0),
                skipped_row("call-rtt", "nanokernel", "split needs 3 CPUs", placement="split"),
                rtt("os.pipe", "split", 20.0, 30.0),
                skipped_row("call-rtt", "os.pipe-relay", "split needs 3 CPUs",
                            placement="split")]
        targets = [line for line in call.summary(rows) if line.startswith("target")]
        assert targets == [
            "target  call-rtt p50 <= 1.0x os.pipe's [free]: 0.75x (met; p50 30.0 µs vs "
            "40.0 µs)",
            "target  call-rtt p50 <= 1.0x os.pipe-relay's [free]: 0.50x (met; p50 30.0 µs vs "
            "60.0 µs)",
            "target  call-rtt p99 <= 4x p50 [free]: 2.00x (met; p99 60.0 µs, p50 30.0 µs)",
            "target  call-rtt p50 <= 1.0x os.pipe-relay's [one-cpu]: 1.50x (NOT met; p50 "
            "30.0 µs vs 20.0 µs)",
            "target  call-rtt p99 <= 4x p50 [one-cpu]: 5.00x (NOT met; p99 150.0 µs, p50 "
            "30.0 µs)",
            "target  call-rtt p50 <= 1.0x os.pipe-relay's [split]: no figure (skipped: split "
            "needs 3 CPUs)",
            "target  call-rtt p99 <= 4x p50 [split]: no figure (skipped: split needs 3 CPUs)",
        ]


class TestPlacements:
    def test_free_one_cpu_and_split_from_the_cpus_given(self):
        free, one, split = choose_placements([3, 1, 2])
        assert ["free", "one-cpu", "split"] == [free.name, one.name, split.name]
        assert free.layout(3) is None
        assert [{1}, {1}, {1}] == one.layout(3)
        assert [{1}, {2}, {3}] == split.layout(3)

    def test_split_is_skipped_with_a_reason_when_cpus_are_too_few(self):
        """Two CPUs: two-process shapes split, three-process shapes are skipped; one CPU:
        every shape is; one-cpu and free never are."""
        _, one, split = choose_placements({0, 1})
        assert split.skip_reason(2) is None and [{0}, {1}] == split.layout(2)
        assert "split needs 3 CPUs (one per process), this bench may use 2 (0-1)" == \
            split.skip_reason(3)
        with pytest.raises(ValueError, match="needs 3 CPUs"):
            split.layout(3)
        free, one, split = choose_placements({5})
        assert "split needs 2 CPUs" in split.skip_reason(2)
        assert one.skip_reason(3) is None and free.skip_reason(3) is None

    def test_too_few_cpus_give_skipped_rows_not_missing_ones(self, monkeypatch):
        """run() on one CPU: every split cell is a skipped row with its reason; nothing
        is measured for them (the peers and the boot are not even started)."""
        boots, peers = [], []
        monkeypatch.setattr(call, "boot_and_measure",
                            lambda quick, **kw: boots.append(kw) or {})
        monkeypatch.setattr(call, "_add_peer", lambda accs, cls, c, p: peers.append(p.name))
        monkeypatch.setattr(call, "ROUNDS_QUICK", 1)
        rows = call.run(quick=True, cpus=[0])
        split = [r for r in rows if r.placement == "split"]
        assert [(b, p) for b in RTT for p in PEERS] == [(r.bench, r.peer) for r in split]
        assert all("split needs" in r.skipped and "may use 1 (0)" in r.skipped for r in split)
        assert [False, True] == [kw["spec"]["rtt_only"] for kw in boots]   # free, one-cpu
        assert [None, frozenset({0})] == [kw["kernel_cpus"] for kw in boots]
        assert any("split" in line and "no figure (skipped" in line
                   for line in call.summary(rows))

    def test_boot_plan_puts_client_kernel_and_server_on_their_cpus(self):
        """With three CPUs, split pins init, the kernel and the server on one each."""
        placements = choose_placements([0, 1, 2])
        accs = call._cells(placements)
        spec, kernel_cpus = call.boot_plan(accs, placements[2])
        assert {"peers": ["nanokernel", "nanokernel-hosted"], "rtt_only": True,
                "client_cpus": [0], "server_cpus": [2]} == spec
        assert {1} == kernel_cpus
        spec, kernel_cpus = call.boot_plan(accs, placements[0])
        assert kernel_cpus is None and not spec["rtt_only"] and "client_cpus" not in spec

    def test_a_one_cpu_peer_runs_pinned(self):
        """The relay peer under one-cpu: parent, relay and child each on that CPU while
        they exchange messages (/proc/PID/status Cpus_allowed_list); the bench process
        gets its own affinity back afterwards."""
        before = os.sched_getaffinity(0)
        cpu = max(before)
        one = next(p for p in choose_placements([cpu]) if p.name == "one-cpu")
        seen = {}
        samples = ipc.rtt_samples(PipeRelayTransport, 20, 5, cpus=one.layout(3), seen=seen)
        assert 20 == len(samples)
        assert {"parent": str(cpu), "child": str(cpu), "relay": str(cpu)} == seen
        assert before == os.sched_getaffinity(0)
        assert [] == multiprocessing.active_children()

    def test_a_one_cpu_boot_is_pinned_all_through(self, tmp_path):
        """boot_and_measure(kernel_cpus=...): the kernel, and init started by it, may run
        only there (affinity is inherited: pinning the top process is enough)."""
        cpu = max(os.sched_getaffinity(0))
        init = tmp_path / "affinity_init.py"
        init.write_text(
            "import json, os, sys\n"
            "from nanokernel.bench.placement import cpus_allowed\n"
            "k = int(os.environ['NK_KERNEL_PID'])\n"
            "open(sys.argv[1], 'w').write(json.dumps({'kernel': cpus_allowed(k), "
            "'init': cpus_allowed(os.getpid())}))\n"
            "os.kill(k, 15)\n")
        seen = call.boot_and_measure(True, limit_s=30, init=(str(init),),
                                     kernel_cpus=frozenset({cpu}))
        assert {"kernel": str(cpu), "init": str(cpu)} == seen

    def test_table_has_a_placement_column_and_shows_skips(self):
        rows = [Row("call-rtt", "os.pipe", p50_us=10.0, p99_us=20.0,
                    extra={"placement": "free"}),
                Row("call-rtt", "nanokernel", p50_us=20.0, p99_us=30.0,
                    extra={"placement": "one-cpu"}),
                Row("call-rtt", "os.pipe", p50_us=5.0, p99_us=6.0,
                    extra={"placement": "one-cpu"}),
                skipped_row("call-rtt", "os.pipe-relay", "split needs 3 CPUs",
                            placement="split")]
        out = io.StringIO()
        print_table(rows, out=out)
        lines = out.getvalue().splitlines()
        assert lines[0].split()[:3] == ["bench", "placement", "peer"]
        assert any(line.split()[:3] == ["call-rtt", "one-cpu", "nanokernel"]
                   and line.endswith("4.00x time") for line in lines)   # vs its own os.pipe
        assert any("split" in line and "SKIPPED: split needs 3 CPUs" in line for line in lines)


def _cpu_list(cpus) -> str:
    return format_cpus(cpus)


class TestNoHang:
    def test_a_failed_boot_is_an_error_row_and_is_not_retried(self, monkeypatch):
        """Both nanokernel peers get error rows; later rounds do not boot again."""
        boots = []

        def broken(quick, **kw):
            boots.append(quick)
            raise RuntimeError("bench boot exited 1")

        monkeypatch.setattr(call, "boot_and_measure", broken)
        monkeypatch.setattr(call, "PEERS", [])
        monkeypatch.setattr(call, "TPUT_PEERS", [])
        rows = call.run(quick=True, cpus=[0, 1])
        nk = ("nanokernel", "nanokernel-hosted")
        assert [(b, w, p) for b in RTT for w in PLACEMENTS for p in nk] + \
            [("call-send-throughput", "free", p) for p in nk] + \
            [("call-throughput", "free", "nanokernel")] == \
            [(r.bench, r.placement, r.peer) for r in rows]
        measured = [r for r in rows if not r.skipped]   # split on 2 CPUs: the hosted one
        assert all("exited 1" in r.error for r in measured)
        assert 3 == len(boots)   # one per placement, in the first round only

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


class TestMachine:
    def test_cpu_model_from_cpuinfo_or_platform(self, monkeypatch):
        assert "AMD EPYC 7B13" == machine.cpu_model("processor\t: 0\nmodel name\t: AMD  EPYC "
                                                    "7B13\n\nprocessor\t: 1\n")
        monkeypatch.setattr(machine.platform, "processor", lambda: "aarch64")
        assert "aarch64" == machine.cpu_model("processor\t: 0\nBogoMIPS\t: 50.00\n")

    def test_every_bench_prints_its_machine_first(self, monkeypatch, capsys):
        """The table starts with the machine line; --json rows carry the machine."""
        class Fake:
            @staticmethod
            def summary(rows):
                return ["a summary line"]

        rows = [Row("x-rtt", "os.pipe", p50_us=1.0, p99_us=2.0)]
        monkeypatch.setattr(main, "measure", lambda name, quick: (Fake, rows))
        monkeypatch.setattr(machine.os, "getloadavg", lambda: (0.5, 0.25, 0.125))
        assert 0 == main.run_benches(["ring"], quick=True, as_json=False)
        out = capsys.readouterr().out.splitlines()
        info = machine.machine_info()
        assert out[0] == machine.machine_line(info)
        assert out[0].startswith(f"machine: {info['cpu_model']}, {os.cpu_count()} CPUs")
        assert f"Python {info['python']}" in out[0] and info["date"] in out[0]
        assert out[0].endswith(", load 0.50 0.25 0.12 at the start")
        assert "a summary line" == out[-1]
        assert 0 == main.run_benches(["ring"], quick=True, as_json=True)
        (line,) = capsys.readouterr().out.splitlines()
        assert info == json.loads(line)["machine"]
