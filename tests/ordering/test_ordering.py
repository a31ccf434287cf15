"""Reproducible runs: ``boot --seed N`` and ``--record FILE`` / ``--replay FILE``
(kernel/ordering.py, kernel/recording.py, docs/labs.md "Deterministic runs").

The order compared is the trace's (one line per message the kernel routed):
sender, receiver, kind and op, without times.  Each run is a real boot.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

pytestmark = pytest.mark.timeout(240)

PROGRAMS = Path(__file__).resolve().parent / "programs"
RACERS = PROGRAMS / "racers.py"
# Two programs in the background race for the console.
RACE = f"run {RACERS} a 4 & run {RACERS} b 4 & wait"


def order(trace: Path) -> list[tuple]:
    return [(e["src_name"], e["dst_name"], e["kind"], e.get("op"))
            for e in map(json.loads, trace.read_text().splitlines())]


def lines_of(out: str, names=("a", "b")) -> list[str]:
    return [line for line in out.splitlines() if line in names]


def seeded(boot, tmp_path: Path, seed: int, commands: str, tag: str):
    trace = tmp_path / f"trace-{tag}.jsonl"
    r = boot("--seed", str(seed), "--trace", str(trace), "-c", commands)
    assert r.returncode == 0, r.output
    return r, order(trace)


class TestSeeded:
    def test_the_same_seed_gives_the_same_message_order(self, boot, tmp_path):
        r1, first = seeded(boot, tmp_path, 7, RACE, "1")
        r2, second = seeded(boot, tmp_path, 7, RACE, "2")
        assert len(first) > 100
        assert first == second
        assert lines_of(r1.stdout) == lines_of(r2.stdout)
        assert sorted(lines_of(r1.stdout)) == ["a"] * 4 + ["b"] * 4

    def test_another_seed_gives_another_order(self, boot, tmp_path):
        _, seven = seeded(boot, tmp_path, 7, RACE, "7")
        _, eight = seeded(boot, tmp_path, 8, RACE, "8")
        assert seven != eight   # (each is a function of its seed: this never flips)

    def test_the_clock_is_virtual_and_random_is_the_seeds(self, boot, tmp_path):
        reader = f"run {PROGRAMS / 'clock_reader.py'} 3"
        r1, _ = seeded(boot, tmp_path, 5, reader, "a")
        r2, _ = seeded(boot, tmp_path, 5, reader, "b")
        r3, _ = seeded(boot, tmp_path, 6, reader, "c")
        rows = [_rows(r.stdout) for r in (r1, r2, r3)]
        assert len(rows[0]) == 3
        times = [float(t) for t, _ in rows[0]]
        assert 946684800 < times[0] < times[1] < times[2] < 946684800 + 60   # 2000-01-01
        assert rows[0] == rows[1]
        assert [x for _, x in rows[0]] != [x for _, x in rows[2]]


def _rows(out: str) -> list[list[str]]:
    return [line.split() for line in out.splitlines() if line[:1].isdigit()]


class TestRecordReplay:
    def test_a_replay_delivers_in_the_recorded_order(self, boot, tmp_path):
        rec = tmp_path / "race.rec"
        r1 = boot("--record", str(rec), "--trace", str(tmp_path / "t1"), "-c", RACE)
        assert r1.returncode == 0, r1.output
        r2 = boot("--replay", str(rec), "--trace", str(tmp_path / "t2"), "-c", RACE)
        assert r2.returncode == 0, r2.output
        assert order(tmp_path / "t1") == order(tmp_path / "t2")
        assert lines_of(r1.stdout) == lines_of(r2.stdout)
        assert "as recorded" in r2.stderr and "diverged" not in r2.stderr

    def test_a_seeded_run_recorded_replays_too(self, boot, tmp_path):
        rec = tmp_path / "seeded.rec"
        r1 = boot("--seed", "3", "--record", str(rec), "-c", RACE)
        r2 = boot("--replay", str(rec), "-c", RACE)
        assert lines_of(r1.stdout) == lines_of(r2.stdout)
        assert "as recorded" in r2.stderr, r2.stderr

    def test_a_changed_program_is_reported_where_it_diverges(self, boot, tmp_path):
        rec = tmp_path / "race.rec"
        boot("--record", str(rec), "-c", RACE)
        changed = f"run {RACERS} a 4 clock & run {RACERS} b 4 & wait"
        r = boot("--replay", str(rec), "-c", changed)
        assert r.returncode == 0, r.output
        assert "diverged at delivery" in r.stderr, r.stderr
        assert "the recording has" in r.stderr
        assert sorted(lines_of(r.stdout)) == ["a"] * 4 + ["b"] * 4   # and it went on

    def test_a_recording_is_one_line_per_delivery_and_exit(self, boot, tmp_path):
        rec = tmp_path / "ls.rec"
        boot("--record", str(rec), "-c", "ls /")
        lines = [json.loads(line) for line in rec.read_text().splitlines()]
        assert lines[0]["format"] == "nanokernel-delivery-order"
        kinds = {e["kind"] for e in lines[1:]}
        assert {"CALL", "REPLY", "EXIT", "HALT"} <= kinds
        assert any(e["src_name"] == "shell" and e["dst_name"] == "fs" for e in lines[1:])


class TestRefused:
    @pytest.mark.parametrize("args, says", [
        (["--seed", "1", "--monolithic"], "need the microkernel mode"),
        (["--seed", "1", "--replay", "x"], "a replay's order is the recording's"),
        (["--seed", "x"], "invalid int value"),
    ])
    def test_bad_combinations_are_one_line(self, boot, args, says):
        r = boot(*args, "-c", "ls")
        assert r.returncode == 2
        assert says in r.stderr

    def test_a_file_that_is_not_a_recording(self, boot, tmp_path):
        bad = tmp_path / "trace.jsonl"
        bad.write_text('{"event": "message"}\n')
        r = boot("--replay", str(bad), "-c", "ls")
        assert r.returncode == 2
        assert r.stderr.strip() == (f"nanokernel boot: --replay {bad}: not a recording "
                                    f"(made by boot --record)")
        r = boot("--replay", str(tmp_path / "missing"), "-c", "ls")
        assert r.returncode == 2 and "No such file" in r.stderr
