"""Named pipes (FIFOs): an fs inode whose opens meet at the pipe server — between user
processes started separately, in one real boot (programs/fifo_session.py runs every
scenario in it; a scenario's failure is its own test's)."""

from __future__ import annotations

import json

import pytest

from tests.conftest import isolated_env, run_boot
from tests.ipc.conftest import CONFIG, PROGRAMS

FS_CONFIG = """
[servers.block]
module = "servers.block"
calls = ["console"]

[servers.fs]
module = "servers.fs"
depends = ["block"]
public = true
calls = ["block", "console"]
"""
SCENARIOS = ["two_programs", "open_waits", "nonblocking", "eof_and_fresh_pipe",
             "opener_killed", "server_killed"]   # (the last kills the pipe server)


@pytest.fixture(scope="module")
def fifos(tmp_path_factory) -> dict:
    """Every scenario's result (one boot for them all: a boot costs a second)."""
    tmp = tmp_path_factory.mktemp("fifo")
    out, config = tmp / "fifo.json", tmp / "fifo.toml"
    session = CONFIG.format(session=PROGRAMS / "fifo_session.py",
                            scenario=",".join(SCENARIOS), out=out)
    config.write_text(session.replace('depends = ["pipe"]', 'depends = ["pipe", "fs"]')
                      + FS_CONFIG)
    result = run_boot(tmp, isolated_env(tmp / "nkhome"), "--config", str(config),
                      timeout=90)
    assert out.exists(), f"no result\n{result.output}\n{result.log}"
    return {"results": json.loads(out.read_text()), "log": result.log}


@pytest.fixture
def scenario(fifos, request):
    def get(name: str) -> dict:
        data = fifos["results"].get(name)
        assert data is not None, f"{name} did not run\n{fifos['log']}"
        assert "session_error" not in data, data.get("traceback", "") + "\n" + fifos["log"]
        return data
    return get


class TestFifoSemantics:
    def test_two_programs_started_separately_talk_through_it(self, scenario):
        """A reader and a writer, neither given anything but the path: bytes exact."""
        d = scenario("two_programs")
        assert [0, 0] == d["status"]
        assert d["expected"] == d["got"]
        assert {"readers": 0, "writers": 0} == {k: d["after"][k] for k in ("readers",
                                                                          "writers")}

    def test_an_open_waits_for_the_other_side(self, scenario):
        """Reading waits for a writer and writing for a reader; the other's open answers
        both at once."""
        d = scenario("open_waits")
        assert (1, True) == (d["waiting_reader"]["waiting_readers"], d["reader_running"])
        assert d["opened_w"] < 5            # a reader waited: the write-open is answered
        assert 0 == d["reader_status"]      # ... and so was the reader's, with the bytes
        assert (1, True) == (d["waiting_writer"]["waiting_writers"], d["writer_running"])
        assert d["expected"] == d["read"]
        assert 0 == d["writer_status"]

    def test_nonblocking_opens(self, scenario):
        """NoReader for a write-open without reader; a read-open at once; then
        WouldBlock on an empty pipe, end of file once the writer closes."""
        d = scenario("nonblocking")
        assert "NoReader" == d["write_first"]
        assert d["read_open_s"] < 5
        assert "" == d["no_writer_read"]
        assert (1, 1) == (d["stat"]["readers"], d["stat"]["writers"])
        assert ("WouldBlock", "x", "") == (d["empty"], d["read"], d["eof"])
        assert {"readers": 0, "writers": 0, "waiting_readers": 0,
                "waiting_writers": 0} == d["closed"]

    def test_its_bytes_are_not_a_files(self, scenario):
        """r+ is InvalidArgument; fs's read and a File of it say it is a fifo; x: it
        exists."""
        d = scenario("nonblocking")
        assert ("InvalidArgument", "InvalidArgument") == (d["r_plus"], d["fs_read"])
        assert ("InvalidArgument", "InvalidArgument") == (d["file_read"], d["file_write"])
        assert "FileExists" == d["x_mode"]

    def test_end_of_file_when_the_last_writer_closes_and_a_fresh_pipe_after(self, scenario):
        d = scenario("eof_and_fresh_pipe")
        assert ["TextIOWrapper", "BufferedWriter", "PipeEnd"] == d["types"]
        assert ["w", "ab", "/f4"] == d["modes"]
        assert ("one\n", "two", "") == (d["one"], d["two"], d["eof"])
        assert (1, 1) == (d["two_open"]["readers"], d["two_open"]["writers"])
        assert "three" == d["three"]
        assert (0, 0) == (d["none_open"]["readers"], d["none_open"]["writers"])
        assert ["TextIOWrapper", True, "r"] == d["text_type"]
        assert "fresh é\n" == d["fresh"]     # not "stale…": that pipe is gone
        assert (0, 0) == (d["end"]["readers"], d["end"]["writers"])


class TestFifoFaults:
    def test_an_opener_killed_while_it_waits_is_dropped(self, scenario):
        d = scenario("opener_killed")
        assert 1 == d["before"]["waiting_readers"]
        assert -9 == d["status"]
        assert 0 == d["after"]["waiting_readers"]
        assert "NoReader" == d["nonblock"]   # the dead one is no reader
        assert 1 == d["again"]["waiting_readers"]
        assert 0 == d["reader_status"]

    def test_the_pipe_server_killed_while_an_open_waits(self, scenario):
        """ServerDied at once, not a hang; the restarted server opens the same FIFO."""
        d = scenario("server_killed")
        assert "ServerDied" == d["waited"]
        assert d["elapsed"] < 10
        assert 0 == d["killer"]
        assert "again" == d["again"]
