"""init boots the configured servers, restarts them, gives up on crash loops,
and the session's exit halts the system with its status."""

from __future__ import annotations

import importlib.util

import pytest

CRASHER = """
[servers.crasher]
path = "{echo}"
args = ["crash"]
"""
FAST = "backoff = 0.05\ngive_up = 3"


class TestBoot:
    def test_every_configured_server_runs_and_is_registered(self, session):
        """naming, console, devices and echo are up and registered; the banner is shown."""
        data, res = session("registered")
        assert ["console", "devices", "echo", "naming"] == data["names"]
        assert {"console", "devices", "echo", "init", "naming", "session"} == set(data["ps"])
        states = {r["name"]: r["state"] for r in data["status"]}
        assert {"naming": "running", "console": "running", "devices": "running",
                "echo": "running", "session": "running"} == states
        assert "hi" == data["echo"]
        assert "nanokernel: 4 servers up in" in res.stdout
        assert 0 == res.returncode

    def test_server_placed_in_the_kernel_is_hosted_there(self, boot, tmp_path):
        """placement = "kernel": devices runs inside the kernel process and still serves."""
        import json

        from tests.servers.conftest import write_config
        config = write_config(tmp_path, "registered")
        config.write_text(config.read_text().replace(
            'module = "servers.devices"', 'module = "servers.devices"\nplacement = "kernel"'))
        res = boot("--config", str(config))
        data = json.loads((tmp_path / "registered.json").read_text())
        assert res.kernel_pid == data["pids"]["devices"]
        assert res.kernel_pid != data["pids"]["echo"]
        assert ["console", "devices", "echo", "naming"] == data["names"]
        assert 0 == res.returncode

    def test_session_exit_status_is_the_boot_status(self, session, boot, tmp_path):
        """When the session program exits with 7, the system halts with 7."""
        from tests.servers.conftest import write_config
        res = boot("--config", str(write_config(tmp_path, "exit_status")))
        assert 7 == res.returncode


class TestReincarnation:
    def test_killed_server_is_back_within_a_second(self, session):
        """SIGKILL: the caller in flight gets ServerDied, echo re-registers, calls work."""
        data, res = session("kill")
        assert "ServerDied" == data["in_flight"]
        assert data["back_after"] < 5.0   # (the 0.1 s backoff and a start: seconds at most,
        #  however loaded the machine — a bound, not a speed)
        assert data["new_ep"] != data["old_ep"]
        assert "again" == data["ping"]
        assert 1 == data["restarts"]
        assert 1 == data["ps_restarts"]
        assert "echo was killed by SIGKILL, restarting in 0.1 s — see" in res.stdout

    def test_restarted_naming_gets_the_running_servers_names_back(self, session):
        """SIGKILL naming: init restarts it and restores the names of running servers."""
        data, res = session("kill_naming")
        assert sorted(data["before"]) == sorted(data["after"])
        assert data["before"]["naming"] != data["after"]["naming"]
        assert data["before"]["echo"] == data["after"]["echo"]
        assert data["back_after"] < 5.0   # (the 0.1 s backoff and a start: seconds at most,
        #  however loaded the machine — a bound, not a speed)
        assert "via new naming" == data["echo"]
        assert "PermissionDenied" == data["restore_refused"]
        assert "naming was killed by SIGKILL, restarting in 0.1 s" in res.stdout

    def test_crash_loop_is_given_up_and_the_rest_stays_up(self, session, tmp_path):
        """A server that crashes before it ever registered is tried give_up times, then
        left down with one clear line."""
        from tests.servers.conftest import PROGRAMS
        data, res = session("crashloop", extra=CRASHER.format(echo=PROGRAMS / "echo.py"),
                            restart=FAST)
        crasher = data["status"]["crasher"]
        assert "failed" == crasher["state"]
        assert 2 == crasher["restarts"]
        assert 3 == crasher["status"]
        assert "still here" == data["ping"]
        assert "crasher" not in data["names"]
        assert "crasher exited with 3, restarting in 0.05 s" in res.stdout
        assert "crasher exited with 3, restarting in 0.1 s" in res.stdout
        assert "crasher keeps crashing (3 times in" in res.stdout
        assert ") and never registered; giving up — see" in res.stdout
        assert "exited with 3" == crasher["last_failure"]["what"]
        assert crasher["served"] is False
        assert "4 of 5 servers up" in res.stdout
        assert 0 == res.returncode

    def test_dependant_of_a_failed_server_is_not_started(self, session):
        """A server depending on one given up on is reported and skipped."""
        from tests.servers.conftest import PROGRAMS
        extra = CRASHER.format(echo=PROGRAMS / "echo.py") + (
            '[servers.needy]\npath = "{}"\ndepends = ["crasher"]\n'.format(PROGRAMS / "echo.py"))
        data, res = session("crashloop", extra=extra, restart=FAST)
        assert "failed" == data["status"]["needy"]["state"]
        assert "needy not started: crasher is down" in res.stdout


class TestStartStop:
    def test_shell_can_start_and_stop_a_server(self, session):
        """start replies once registered; stop replies at the exit and frees the name."""
        data, _ = session("start_stop")
        assert "extra" == data["started"]["name"]
        assert data["started"]["ep"] > 0 and data["started"]["pid"] > 0
        assert "x" == data["ping"]
        assert {"state": "running", "policy": "never"} == {
            k: data["extra_row"][k] for k in ("state", "policy")}
        assert data["stopped"] is None
        assert "stopped" == data["state_after"]
        assert "ServerDied" == data["crash_start"]
        assert "InvalidArgument" == data["missing"]
        assert "InvalidArgument" == data["dup"]
        assert "InvalidArgument" == data["stop_unknown"]


@pytest.mark.skipif(importlib.util.find_spec("servers.shell") is None,
                    reason="servers.shell (the shell) is not written yet")
class TestDefaultConfig:
    def test_default_boot_reaches_the_shell(self, boot):
        """The packaged boot.toml starts all nine servers and the shell runs -c."""
        res = boot("-c", "echo hello-from-shell")
        assert "nanokernel: 9 servers up in" in res.stdout, res.output + res.log
        assert "hello-from-shell" in res.stdout
        assert 0 == res.returncode

    def test_a_session_with_a_narrow_acl_still_starts(self, boot, tmp_path):
        """A session whose calls name only the servers it uses (not init) boots: init
        grants it the one call it makes at start, `booted`."""
        from pathlib import Path
        text = (Path(__file__).resolve().parents[2] / "servers" / "boot.toml").read_text()
        narrow = text.replace('calls = ["*"]', 'calls = ["console", "fs", "devices"]')
        assert narrow != text
        config = tmp_path / "narrow.toml"
        config.write_text(narrow)
        res = boot("--config", str(config), "-c", "echo narrow-session")
        assert "narrow-session" in res.stdout, res.output + res.log
        assert 0 == res.returncode
