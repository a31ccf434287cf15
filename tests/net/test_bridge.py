"""Two and three nodes on loopback, each a real boot: remote files, remote calls with
the caller's identity, the [remote] ACL, keys, and the link's failures."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from tests.conftest import wait_until
from tests.net.conftest import PROGRAMS, config_with

pytestmark = pytest.mark.timeout(180)
CLIENT = PROGRAMS / "client.py"


def client(cluster, node: str, scenario: str, *args: str, peers=("a",), config=None,
           keys=None) -> dict:
    out = cluster.tmp / f"{node}-{scenario}-{cluster.n}.json"
    res = cluster.run(node, f"run {CLIENT} {out} {scenario} {' '.join(args)}", peers=peers,
                      config=config, keys=keys)
    assert out.exists(), res.output + res.log[-3000:]
    data = json.loads(out.read_text())
    assert "client_error" not in data, data.get("traceback", "") + res.log[-3000:]
    data["_res"] = res
    return data


class TestRemoteFiles:
    def test_write_read_stat_readdir_rename_unlink_through_net_paths(self, cluster):
        cluster.node("a")
        seen = client(cluster, "b", "files", "a")
        assert seen["text_ok"] and seen["big_same"]
        assert {"type": "file", "size": 12000} == {k: seen["stat"][k] for k in ("type", "size")}
        assert ["big.bin", "notes.txt"] == [n for n in seen["listing"] if n != "."
                                            and n != ".."]
        assert "big.bin" not in seen["after"]
        assert "FileNotFound" == seen["missing"]["error"]

    def test_shell_file_commands_and_call_on_another_node(self, cluster):
        cluster.node("a")
        res = cluster.run("b", "echo hello there > /net/a/home/greeting; cat /net/a/home/greeting;"
                          " call fs@a stat '{\"path\": \"/home/greeting\"}'", peers=["a"])
        assert 0 == res.returncode, res.output
        lines = res.stdout.splitlines()
        assert "hello there" in lines
        stat = json.loads(next(line for line in lines if line.startswith("{")))
        assert ("file", 12) == (stat["type"], stat["size"])


    def test_this_nodes_own_net_path_is_the_local_file(self, cluster):
        seen = client(cluster, "a", "selfpath", "a", peers=())
        assert ("mine\n", False, "/home/self.txt") == (seen["local"], seen["remote_proxy"],
                                                       seen["path"])
        assert [] == seen["nodes_error"].get("value"), seen   # a node with no peers


class TestIdentity:
    def test_a_remote_caller_is_node_colon_endpoint(self, cluster):
        config = config_with(cluster.tmp, "a", remote='b = ["counter"]')
        cluster.node("a", config=config)
        seen = client(cluster, "b", "hello", "a")
        assert {"name": f"b:{seen['me']}", "node": "b", "endpoint": seen["me"]} == seen["who"]
        assert 1 == seen["bump"]


    def test_the_tutorial_server_called_from_another_node(self, cluster):
        """examples/hello.py (docs/tutorial.md) unchanged, on a; b's shell calls it."""
        hello = Path(__file__).resolve().parents[2] / "examples" / "hello.py"
        config = config_with(cluster.tmp, "a", extra=f'[servers.hello]\npath = "{hello}"\n',
                             remote='b = ["hello"]')
        cluster.node("a", config=config)
        res = cluster.run("b", "call hello@a greet '{\"who\": \"b\"}'", peers=["a"])
        assert 0 == res.returncode, res.output
        assert re.search(r'^"hello, b \(from b:\d+\)"$', res.stdout, re.M), res.stdout


    def test_a_local_program_cannot_forge_a_remote_caller(self, cluster):
        """Only the bridge init started may carry a remote call (``@via``)."""
        config = config_with(cluster.tmp, "a")
        res = cluster.run("a", f"run {CLIENT} {cluster.tmp / 'forge.json'} forge",
                          config=config)
        seen = json.loads((cluster.tmp / "forge.json").read_text())
        assert "PermissionDenied" == seen["forged"]["error"], (seen, res.output)
        assert 0 == seen["count"]
        assert seen["who"]["node"] is None


class TestDeadlines:
    def test_a_remote_call_past_its_deadline_is_timeout_and_ran_once(self, cluster):
        config = config_with(cluster.tmp, "a", remote='b = ["counter"]')
        cluster.node("a", config=config)
        mark = cluster.tmp / "ran.txt"
        seen = client(cluster, "b", "deadline", "a", str(mark))
        assert "Timeout" == seen["late"]["error"], seen
        assert 0.9 < seen["late"]["s"] < 4.0, seen
        assert 1 == seen["then"]["value"]
        assert 1 == len(lines(mark))


class TestRefusals:
    def test_acl_refuses_what_remote_does_not_list_and_unknown_nodes(self, cluster):
        cluster.node("a")
        seen = client(cluster, "b", "refused", "a")
        assert "PermissionDenied" == seen["block"]["error"]
        assert "[remote]" in seen["block"]["message"]
        assert "PermissionDenied" == seen["init"]["error"]
        assert "NoSuchEndpoint" == seen["unknown"]["error"]
        assert "nowhere" in seen["unknown"]["message"]
        assert "InvalidArgument" == seen["bad"]["error"]

    def test_an_untrusted_key_is_refused_and_its_shell_goes_on(self, cluster, tmp_path: Path):
        cluster.node("a")
        other = cluster.make_keys("b", directory=tmp_path / "otherkeys")   # a new b key
        # a trusts the b.pub of cluster.keys, not this one; b trusts a's public key
        (other / "a.pub").write_text((cluster.keys / "a.pub").read_text())
        res = cluster.run("b", "call fs@a stat '{\"path\": \"/\"}'; echo still here",
                          peers=["a"], keys=other)
        assert "still here" in res.stdout.splitlines(), res.output
        assert "NodeDown" in res.output
        assert "refused" in res.output


def lines(path: Path) -> list[str]:
    return path.read_text().splitlines() if path.exists() else []


class TestLinkFailures:
    """a SIGKILLed (or SIGSTOPped: silent) under a call from b: the call fails with
    NodeDown within seconds, never hangs and is never re-sent — the counter's host
    file says how many times it ran; a back, b's next calls work."""

    def _under_a_call(self, cluster, hurt, heal) -> tuple[dict, float, float]:
        """b calls counter@a for 60 s; ``hurt(a, b)`` once the call runs on a, then
        ``heal(a, config)`` once b's call failed; what b's client saw."""
        import time
        config = config_with(cluster.tmp, "a", remote='b = ["counter"]')
        a = cluster.node("a", config=config)
        mark, failed_at = cluster.tmp / "ran.txt", cluster.tmp / "failed_at"
        out = cluster.tmp / "killed.json"
        run = cluster.start("b", f"run {CLIENT} {out} killed a {mark} {failed_at}",
                            peers=["a"])
        wait_until(lambda: lines(mark), 60, what="the slow call running on a")
        hurt_at = time.time()
        hurt(a, run)
        wait_until(failed_at.exists, 20, what="b's call failing")
        failed = float(failed_at.read_text()) - hurt_at
        heal(a, config)
        res = run.finish(120)
        assert out.exists(), res.output + res.log[-3000:]
        seen = json.loads(out.read_text())
        assert "client_error" not in seen, seen.get("traceback")
        return seen, failed, hurt_at

    def test_a_peer_killed_mid_call_node_down_at_once_run_once_then_a_new_incarnation(
            self, cluster):
        seen, failed, _ = self._under_a_call(
            cluster, lambda a, b: a.kill(),
            lambda a, config: cluster.node("a", config=config))
        assert "NodeDown" == seen["first"]["error"], seen
        assert failed < 5.0, f"NodeDown came {failed:.1f} s after the kill"
        assert "NodeDown" == seen["again"]["error"]
        assert {"value": 1} == {"value": seen["after"].get("value")}   # a new counter
        assert 1 == len(lines(cluster.tmp / "ran.txt")), "the call ran again"
        assert seen["back"]["incarnation"] != seen["before"]["incarnation"]
        assert 2 == seen["back"]["incarnations"]

    def test_a_silent_peer_is_down_within_seconds_and_resumes_when_it_wakes(self, cluster):
        import os
        import signal

        def stop(a, b):
            from tests.conftest import pids_of_boot
            for pid in [a.proc.pid, *pids_of_boot(a.proc.pid)]:
                os.kill(pid, signal.SIGSTOP)
            stop.pids = [a.proc.pid, *pids_of_boot(a.proc.pid)]

        def cont(a, config):
            for pid in stop.pids:
                os.kill(pid, signal.SIGCONT)
        seen, failed, _ = self._under_a_call(cluster, stop, cont)
        assert "NodeDown" == seen["first"]["error"], seen
        assert failed < 8.0, f"NodeDown came {failed:.1f} s after the stop"
        assert 2 == seen["after"].get("value"), seen   # the same counter: slow(), then this
        assert seen["back"]["incarnation"] == seen["before"]["incarnation"]
        assert 1 == len(lines(cluster.tmp / "ran.txt"))


    def test_the_callers_own_bridge_killed_mid_call_is_server_died_then_it_is_back(
            self, cluster):
        """b's bridge SIGKILLed under the call: b's program gets ServerDied (no hang);
        init restarts the bridge, which links to a again; the next call works."""
        import os
        import signal
        seen, failed, _ = self._under_a_call(
            cluster, lambda a, b: os.kill(b.pid_of("servers.bridge"), signal.SIGKILL),
            lambda a, config: None)
        assert "ServerDied" == seen["first"]["error"], seen
        assert failed < 5.0
        assert 2 == seen["after"].get("value"), seen
        assert 1 == len(lines(cluster.tmp / "ran.txt"))

    def test_the_far_bridge_stopped_mid_call_is_node_down_and_a_new_incarnation(
            self, cluster):
        """a's bridge SIGSTOPped (hung) under the call: b's call fails with NodeDown once
        a goes silent; a's init finds its bridge hung and restarts it; b links to the
        new incarnation and calls again."""
        import os
        import signal
        seen, failed, _ = self._under_a_call(
            cluster, lambda a, b: os.kill(a.pid_of("servers.bridge"), signal.SIGSTOP),
            lambda a, config: None)
        assert "NodeDown" == seen["first"]["error"], seen
        assert failed < 8.0, f"NodeDown came {failed:.1f} s after the stop"
        assert 2 == seen["after"].get("value"), seen   # the counter on a lived on
        assert seen["back"]["incarnation"] != seen["before"]["incarnation"]
        assert 1 == len(lines(cluster.tmp / "ran.txt"))


class TestFlood:
    def test_thousands_of_calls_and_sends_across_the_link_none_lost(self, cluster):
        config = config_with(cluster.tmp, "a", remote='b = ["counter"]')
        cluster.node("a", config=config)
        seen = client(cluster, "b", "flood", "a", "3000")
        assert 3000 == seen["last"]
        assert 3000 == seen["sent"]
        assert 6000 == seen["count"]
