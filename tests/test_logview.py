"""nanokernel log: which boot's log, how a line is shown, --follow."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest

from nanokernel.logview import find_log, format_line
from tests.conftest import isolated_env, wait_until

REPO = Path(__file__).resolve().parents[1]
LOGVIEW = [sys.executable, "-m", "nanokernel.logview"]


def event(**fields) -> str:
    base = {"event": "spawned", "level": "info", "timestamp": "2026-12-01T22:40:32.062849Z",
            "proc": "kernel"}
    return json.dumps({**base, **fields}) + "\n"


@pytest.fixture
def logs(tmp_path):
    """Three boots' logs in a state directory of their own (oldest first)."""
    env = isolated_env(tmp_path / "home")
    directory = Path(env["XDG_STATE_HOME"]) / "nanokernel" / "logs"
    directory.mkdir(parents=True)
    paths = []
    for i, stamp in enumerate(("20261201-100000-11", "20261201-110000-22",
                               "20261201-120000-33")):
        path = directory / f"boot-{stamp}.log"
        path.write_text(event(name=f"boot{i}"))
        os.utime(path, (1_000_000 + i, 1_000_000 + i))
        paths.append(path)
    return env, directory, paths


class TestFindLog:
    def test_latest_nth_name_and_path(self, logs, tmp_path):
        _, directory, paths = logs
        assert find_log(None, directory) == paths[-1]
        assert find_log("-1", directory) == paths[-1]
        assert find_log("-3", directory) == paths[0]
        assert find_log("110000", directory) == paths[1]
        assert find_log("boot-20261201-100000-11", directory) == paths[0]
        other = tmp_path / "x.log"
        other.write_text("")
        assert find_log(str(other), directory) == other
        for bad in ("-4", "nope"):
            with pytest.raises(ValueError):
                find_log(bad, directory)
        with pytest.raises(ValueError, match="no boot logs"):
            find_log(None, tmp_path / "empty")


class TestFormat:
    def test_a_line(self):
        line = format_line(event(proc="fs", pid=12, event="mounted", blocks=4096,
                                 path="/a b", servers=["x", "y"], level="warning"))
        assert line.split()[1:4] == ["fs", "warning", "mounted"]
        assert line.endswith('blocks=4096 path="/a b" servers=["x","y"]')
        assert "pid=" not in line   # (each line of a process has its own pid)
        assert "pid=5" in format_line(event(pid=5))   # the kernel's pid field is a child's
        assert format_line("Traceback (most recent call last):") == \
            "Traceback (most recent call last):"
        assert format_line("\n") is None
        assert "\x1b[33m" in format_line(event(level="warning"), colour=True)
        shown = format_line(event(level="error", exception="Traceback\n  boom"))
        assert shown.splitlines()[1:] == ["    Traceback", "      boom"]


class TestCommand:
    def test_latest_and_filters(self, logs):
        env, _, paths = logs
        with paths[-1].open("a") as f:
            f.write(event(proc="fs", event="sync_done", level="info"))
            f.write(event(proc="fs", event="disk_full", level="error"))
        out = subprocess.run([*LOGVIEW], env=env, capture_output=True, text=True, cwd=REPO)
        assert 0 == out.returncode, out.stderr
        assert [line.split()[3] for line in out.stdout.splitlines()] == [
            "spawned", "sync_done", "disk_full"]
        out = subprocess.run([*LOGVIEW, "--level", "error"], env=env, capture_output=True,
                             text=True, cwd=REPO)
        assert [line.split()[3] for line in out.stdout.splitlines()] == ["disk_full"]
        out = subprocess.run([*LOGVIEW, "--proc", "kernel", "-3"], env=env,
                             capture_output=True, text=True, cwd=REPO)
        assert "name=boot0" in out.stdout and len(out.stdout.splitlines()) == 1
        out = subprocess.run([*LOGVIEW, "nope"], env=env, capture_output=True, text=True,
                             cwd=REPO)
        assert 2 == out.returncode and "nope" in out.stderr

    def test_follow_until_ctrl_c(self, logs, tmp_path):
        env, _, paths = logs
        out_path = tmp_path / "out"
        with out_path.open("w") as out:
            # (SIGINT back to its default first: a test run started in the background by
            # a non-interactive shell hands its children SIGINT ignored)
            proc = subprocess.Popen([*LOGVIEW, "--follow"], env=env, stdout=out,
                                    stderr=subprocess.PIPE, cwd=REPO,
                                    preexec_fn=lambda: signal.signal(signal.SIGINT,
                                                                     signal.SIG_DFL))
        try:
            wait_until(lambda: "name=boot2" in out_path.read_text(), 20, what="the log")
            with paths[-1].open("a") as f:
                f.write(event(event="later", level="info"))
            wait_until(lambda: "later" in out_path.read_text(), 20, what="a new line")
            proc.send_signal(signal.SIGINT)
            assert 0 == proc.wait(10)
        finally:
            if proc.poll() is None:
                proc.kill()
                proc.wait()
