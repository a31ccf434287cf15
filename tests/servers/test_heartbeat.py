"""init's restart policy in real boots: heartbeats find a hung server, a server
that served is restarted however often it dies, intensity gives up, and
``status`` shows the policy and the last failure."""

from __future__ import annotations

import re

import pytest

from tests.servers.conftest import PROGRAMS

BEAT = 0.2   # echo's heartbeat period in these boots (the default is 2 s)
FAST = "backoff = 0.05\nbackoff_max = 0.2\ngive_up = 3"

pytestmark = pytest.mark.timeout(60)


class TestHeartbeats:
    def test_a_stopped_server_is_killed_and_restarted_within_two_periods(self, session):
        """SIGSTOP echo: no answer for 2 periods, init kills it; it is back and serves."""
        data, res = session("hung", extra=f"heartbeat = {BEAT}\n", restart=FAST)
        assert data["back_after"] < 5.0, data   # (found in 2 periods, then a start: a
        #  bound, not a speed — a loaded machine takes a second or more to start echo)
        assert data["new_ep"] != data["old_ep"]
        assert "after the hang" == data["ping"]
        assert data["old_gone"]
        row = data["row"]
        assert 1 == row["restarts"]
        assert row["last_failure"]["what"].startswith("missed heartbeats (")
        assert "SIGKILL" == row["last_failure"]["signal"]
        late = r"(0\.[4-9]|[1-9]\.\d)"   # two periods, or more when init's timer runs late
        assert re.search(rf"echo did not answer heartbeats for {late} s \(period {BEAT:g} s\); "
                         "killing it", res.stdout), res.stdout
        assert re.search(rf"echo hung \(no heartbeat answer in {late} s\) and was killed, "
                         "restarting in", res.stdout), res.stdout

    def test_a_server_waiting_in_a_call_is_not_hung(self, session):
        """echo waits in a call to echo2 (held forever) for many periods: it answers its
        pings from the wait and is left alone."""
        # 0.5 s: a period of 0.2 s would let a stall of init under load pass for a hang
        extra = (f"heartbeat = 0.5\n[servers.echo2]\npath = \"{PROGRAMS / 'echo.py'}\"\n"
                 "public = true\n")
        data, res = session("waiting_is_not_hung", extra=extra, restart=FAST)
        assert {"restarts": 0, "state": "running", "waiting": True, "last_failure": None} \
            == data
        assert "heartbeats" not in res.stdout


class TestRestartPolicy:
    def test_a_server_that_served_is_restarted_however_often_it_is_killed(self, session):
        """Killed 10 times, each time as soon as it is back, with give_up = 3: still
        restarted each time (give_up is for servers that never registered)."""
        data, res = session("killed_often", extra="heartbeat = 0\n", restart=FAST)
        assert {"restarts": 10, "state": "running", "served": True} == {
            k: data[k] for k in ("restarts", "state", "served")}
        assert "still served" == data["ping"]
        assert "killed by SIGKILL" == data["last_failure"]["what"]
        assert "giving up" not in res.stdout
        assert 10 == res.stdout.count("echo was killed by SIGKILL, restarting in")

    def test_intensity_gives_up_after_too_many_restarts_in_its_period(self, session):
        """intensity = 2 in 30 s: the third kill is given up on, with one clear line."""
        data, res = session("intensity", extra="intensity = 2\nintensity_period = 30\n",
                            restart=FAST)
        row = data["row"]
        assert {"state": "failed", "restarts": 2, "intensity": 2,
                "intensity_period": 30.0} == {k: row[k] for k in
                                              ("state", "restarts", "intensity",
                                               "intensity_period")}
        assert "echo" not in data["names"]
        assert ("echo was killed by SIGKILL: more than 2 restarts in 30 s (its intensity); "
                "giving up — see") in res.stdout

    def test_status_rows_show_each_servers_policy(self, session):
        """status: restart policy, heartbeat period (0: not pinged), intensity, backoff."""
        data, _ = session("registered", extra="heartbeat = 0.5\nintensity = 4\n")
        rows = {r["name"]: r for r in data["status"]}
        assert {"policy": "always", "heartbeat": 0.5, "intensity": 4,
                "intensity_period": 60.0, "backoff": 0.1, "backoff_max": 5.0,
                "last_failure": None, "served": True} == {
            k: rows["echo"][k] for k in ("policy", "heartbeat", "intensity",
                                         "intensity_period", "backoff", "backoff_max",
                                         "last_failure", "served")}
        assert 2.0 == rows["devices"]["heartbeat"]
        assert 0.0 == rows["session"]["heartbeat"]   # the session is never pinged
        assert "never" == rows["session"]["policy"]


class TestDefaultServers:
    def test_a_hung_fs_is_restarted_and_serves_files_again(self, boot, tmp_path):
        """The packaged boot.toml with fs's heartbeat at 0.3 s: fs SIGSTOPped is killed
        and restarted, a synced file is still there and new writes work; status says so."""
        from pathlib import Path
        text = (Path(__file__).resolve().parents[2] / "servers" / "boot.toml").read_text()
        config = tmp_path / "boot.toml"
        config.write_text(text.replace('[servers.fs]\n', '[servers.fs]\nheartbeat = 0.3\n'))
        res = boot("--config", str(config), "-c",
                   f"echo before > /home/a; call fs sync; run {PROGRAMS / 'hang.py'} fs; "
                   "cat /home/a; echo after > /home/b; cat /home/b; status fs")
        assert 0 == res.returncode, res.output
        assert re.search(r"fs did not answer heartbeats for (0\.[6-9]|1\.\d) s \(period 0\.3 s\); "
                         "killing it", res.stdout), res.output
        out = res.stdout.splitlines()
        assert "before" in out and "after" in out
        back = next(line for line in out if line.startswith("fs back after"))
        assert float(back.split()[3]) < 3 * 0.3 + 6.0, back   # a bound (a loaded start)
        assert any(re.match(r"last_failure      missed heartbeats \(\d\.\d s, period 0\.3 s\) "
                            r"\d+\.\d s ago", line) for line in out), res.stdout

    def test_a_server_waiting_on_a_hung_dependency_is_not_killed_for_it(self, boot, tmp_path):
        """block SIGSTOPped, then fs SIGKILLed: the new fs cannot mount (nor register)
        until init finds block hung and restarts it, far past fs's register_timeout
        (1 s here). init holds fs's clock while block does not answer: fs is restarted
        once — for its own kill — and serves the file written before."""
        from pathlib import Path
        text = (Path(__file__).resolve().parents[2] / "servers" / "boot.toml").read_text()
        text = text.replace("heartbeat = 5.0 ", "heartbeat = 1.0 ")
        text = text.replace("register_timeout = 10.0", "register_timeout = 1.0")
        assert "heartbeat = 1.0" in text and "register_timeout = 1.0" in text
        config = tmp_path / "boot.toml"
        config.write_text(text)
        res = boot("--config", str(config), "-c",
                   f"echo before > /home/a; call fs sync; "
                   f"run {PROGRAMS / 'hang_dependency.py'} block fs; cat /home/a")
        assert 0 == res.returncode, res.output
        assert re.search(r"block did not answer heartbeats for [12]\.\d s", res.stdout), \
            res.output
        # (register_timeout applies to the boot's first starts too: only the restart counts)
        assert "fs did not register" not in res.stdout.split("block did not answer", 1)[1]
        assert re.search(r"fs back after \d+\.\d s, restarted 1 time\(s\)", res.stdout), \
            res.output
        assert "before" in res.stdout.splitlines()
