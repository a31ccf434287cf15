"""The kernel and libipc against real processes: each test boots a kernel
whose init is tests/kernel/programs/driver.py running one scenario."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import pids_of_boot, wait_until

DRIVER = Path(__file__).parent / "programs" / "driver.py"


def run_scenario(name: str, tmp_path: Path, env: dict, timeout: float = 30) -> dict:
    out = tmp_path / "result.json"
    proc = subprocess.Popen([sys.executable, "-m", "kernel.boot", "--log",
                             str(tmp_path / "boot.log"), str(DRIVER), name, str(out)],
                            env=env, text=True, stdin=subprocess.DEVNULL,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    stdout, stderr = proc.communicate(timeout=timeout)
    wait_until(lambda: not pids_of_boot(proc.pid), 5, what="no orphan processes")
    assert out.exists(), f"no result; kernel said:\n{stdout}\n{stderr}"
    result = json.loads(out.read_text())
    assert "driver_error" not in result, result.get("traceback")
    assert 0 == proc.returncode
    return result


@pytest.fixture(params=["c", "python"])
def scenario(request, tmp_path, nk_env):
    """Each scenario boots twice: on the forward path in C (the default) and with
    every message on the Python path (NK_ROUTER=python) — the same behaviour."""
    env = dict(nk_env, NK_ROUTER=request.param)
    return lambda name, **kw: run_scenario(name, tmp_path, env, **kw)


class TestCalls:
    def test_call_gets_its_reply_and_the_server_sees_the_true_sender(self, scenario):
        """A CALL comes back with the handler's return value; ctx.sender is the caller."""
        r = scenario("call_reply")
        assert "hello" == r["reply"]
        assert r["me"] == r["seen_sender"]

    def test_handler_can_call_another_server(self, scenario):
        """An outgoing call from inside a handler returns before the handler replies."""
        assert "relayed:hi" == scenario("nested")["reply"]

    def test_deferred_reply_arrives_later(self, scenario):
        """ctx.defer() lets a handler return first and reply from a timer."""
        r = scenario("deferred")
        assert 42 == r["value"]
        assert r["elapsed"] >= 0.2

    def test_bad_requests_get_errors_and_the_server_goes_on(self, scenario):
        """Unknown op, wrong types, junk bodies, handler bugs, oversize: each its error."""
        r = scenario("errors")
        assert "NoSuchOp" == r["unknown_op"]
        assert "InvalidArgument" == r["bad_type"]
        assert "InvalidArgument" == r["missing_arg"]
        assert "BadMessage" == r["malformed"]
        assert "BadMessage" == r["not_a_call"]
        assert "Internal" == r["handler_bug"]
        assert "MessageTooLarge" == r["oversized"]
        assert "NoSuchEndpoint" == r["no_such_endpoint"]
        assert "NoSuchOp" == r["kernel_unknown"]
        assert "still serving" == r["after"]


class TestKernelRules:
    def test_forged_source_is_overwritten(self, scenario):
        """Whatever src a sender writes, the receiver sees the kernel-stamped one."""
        r = scenario("forged")
        assert r["me"] == r["seen"]

    def test_reply_to_a_call_never_made_is_dropped_and_counted(self, scenario):
        r = scenario("stray_reply")
        assert 1 == r["dropped"]
        assert "ok" == r["after"]

    def test_cancel_after_timeout_drops_the_late_reply(self, scenario):
        """A caller that timed out never sees the stale reply; the next call is clean."""
        r = scenario("cancel")
        assert "Timeout" == r["error"]
        assert 2 == r["second"]
        assert 1 == r["dropped"]

    def test_acl_and_privilege(self, scenario):
        """No right to call → PermissionDenied; a granted name works; spawn needs privilege."""
        r = scenario("acl")
        assert "PermissionDenied" == r["denied"].get("error")
        assert "x" == r["allowed"].get("ok")
        assert "PermissionDenied" == r["unprivileged_spawn"].get("error")

    def test_callee_killed_mid_call_gives_server_died_at_once(self, scenario):
        r = scenario("killed_mid_call")
        assert "ServerDied" == r["client"].get("error")
        # the error, then the client's exit and its reaping: a bound, not a speed (a
        # loaded machine takes a second; a hang would be the wait's whole deadline)
        assert r["waited_after_kill"] < 5.0
        assert "fine" == r["bystander"]
        assert "NoSuchEndpoint" == r["victim_call"]

    def test_call_closing_a_cycle_is_refused(self, scenario):
        """a → b → a is Deadlock (to b), and so is calling yourself."""
        r = scenario("deadlock")
        assert "relayed:error:Deadlock" != r["cycle"]
        assert "error:Deadlock" == r["cycle"]
        assert "Deadlock" == r["self"]

    def test_a_call_to_a_full_callee_does_not_stall_the_caller(self, scenario):
        """The stuck call times out and the next call, to someone else, goes through at
        once — not after the full callee wakes up (3 s later)."""
        r = scenario("call_never_blocks_ring")
        assert ["WouldBlock"] == r["full"]
        assert "Timeout" == r["timeout"]
        assert "through" == r["answer"]
        assert r["elapsed"] < 2.0

    def test_outstanding_call_limit(self, scenario):
        r = scenario("too_many_calls")
        assert "TooManyCalls" == r["code"]

    def test_notifications_coalesce(self, scenario):
        """Six NOTIFYs to a busy server arrive as at most one word per sender, all bits."""
        r = scenario("notify")
        notes = r["notes"]
        assert 1 <= len(notes) <= 2
        assert {r["me"]} == {src for src, _ in notes}
        bits = 0
        for _, b in notes:
            bits |= b
        assert 7 == bits

    def test_send_back_pressure(self, scenario):
        """A full route refuses a non-blocking SEND and makes a blocking one wait."""
        r = scenario("backpressure")
        assert ["WouldBlock"] == r["refused"]
        assert r["n_refused"] > 0
        assert r["blocked_for"] >= 0.2
        assert r["nonblock_sent"] - r["n_refused"] + r["blocking_sent"] == r["seen"]

    def test_corrupt_ring_kills_only_its_owner(self, scenario):
        r = scenario("corrupt_ring")
        assert -signal.SIGKILL == r["status"]
        assert "alive" == r["echo"]

    def test_flooding_sender_does_not_starve_others(self, scenario):
        r = scenario("flood")
        assert r["flooded"] > 1000
        assert r["calls"] > 50
        assert r["p50"] < 0.05


class TestObservability:
    def test_trace_has_one_event_per_message_only_while_on(self, scenario, tmp_path):
        r = scenario("trace")
        events = [json.loads(line) for line in Path(r["trace"]).read_text().splitlines()]
        kinds = [(e["kind"], e.get("op")) for e in events if e["dst_name"] != "kernel"
                 and e["src_name"] != "kernel"]
        assert [("CALL", "ping"), ("REPLY", None)] == kinds
        reply = [e for e in events if e["kind"] == "REPLY" and e["src_name"] == "echo"][0]
        assert reply["latency_us"] > 0

    def test_ps_and_stats(self, scenario):
        r = scenario("ps")
        names = {row["name"] for row in r["ps"]}
        assert {"init", "echo"} == names
        echo = [row for row in r["ps"] if row["name"] == "echo"][0]
        assert echo["msgs_in"] >= 1
        assert r["stats"]["messages_routed"] >= 2
        assert "init" == r["whoami"]["name"]


class TestNoOrphans:
    @pytest.mark.parametrize("how", ["SIGTERM", "SIGINT", "SIGKILL"])
    def test_killing_the_kernel_leaves_no_process(self, tmp_path, nk_env, how):
        out = tmp_path / "result.json"
        proc = subprocess.Popen([sys.executable, "-m", "kernel.boot", "--log",
                                 str(tmp_path / "boot.log"), str(DRIVER), "orphans",
                                 str(out)], env=nk_env, stdin=subprocess.DEVNULL,
                                stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        wait_until(out.exists, 20, what="the scenario to start its servers")
        assert 4 == len(json.loads(out.read_text())["ps"])
        assert len(pids_of_boot(proc.pid)) >= 4
        os.kill(proc.pid, getattr(signal, how))
        proc.wait(timeout=20)
        wait_until(lambda: not pids_of_boot(proc.pid), 5, what="no orphan processes")


class TestHostedServers:
    def test_servers_hosted_in_the_kernel(self, scenario):
        """Same Server class in the kernel: a process call is 2 messages, in-kernel calls 0."""
        r = scenario("hosted")
        assert "in kernel" == r["plain"]
        assert 2 == r["plain_msgs"]
        assert "relayed:direct" == r["to_hosted"]
        assert 2 == r["to_hosted_msgs"]
        assert "relayed:out" == r["to_process"]
        assert 4 == r["to_process_msgs"]
        assert 7 == r["deferred"]
        assert {"ha": "kernel", "hc": "kernel", "pb": "process"} == r["placement"]
        assert r["kernel_pid_is_ha_pid"]
        assert "ServerDied" == r["process_crash"]
        assert r["direct_calls"] >= 1

    def test_fault_in_a_hosted_server_panics_the_kernel(self, tmp_path, nk_env):
        out = tmp_path / "result.json"
        proc = subprocess.Popen([sys.executable, "-m", "kernel.boot", "--log",
                                 str(tmp_path / "boot.log"), str(DRIVER),
                                 "hosted_panic", str(out)], env=nk_env, text=True,
                                stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                                stderr=subprocess.PIPE)
        _, err = proc.communicate(timeout=30)
        wait_until(lambda: not pids_of_boot(proc.pid), 5, what="no orphan processes")
        assert 70 == proc.returncode
        assert "KERNEL PANIC" in err
        assert "ServerFault" in err
        assert "survived" not in out.read_text()
