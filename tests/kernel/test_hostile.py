"""Bad input from a process gets a clear error — never a hang, a crash of the kernel or
of another process, or lost data (DESIGN.md, "Reliability and security rules").

Each test boots a kernel whose init is tests/kernel/programs/driver.py; the misbehaving
programs are in tests/kernel/programs/hostile.py.
"""

from __future__ import annotations

import pytest

from tests.kernel.test_kernel import run_scenario


@pytest.fixture
def scenario(tmp_path, nk_env):
    return lambda name, **kw: run_scenario(name, tmp_path, nk_env, **kw)


class TestServerReplies:
    @pytest.mark.parametrize("placement", ["process", "hosted"])
    def test_a_result_that_cannot_travel_becomes_an_error(self, scenario, placement):
        """Not msgpack, or over the limit: the caller gets an error (no hang), the server
        lives on — and a server hosted in the kernel does not panic it."""
        r = scenario("bad_replies" if placement == "process" else "bad_replies_hosted")
        assert "Internal" == r["unpackable"]
        assert "Internal" == r["huge_int"]
        assert "Internal" == r["later_unpackable"]
        assert "MessageTooLarge" == r["over_limit"]
        assert "MessageTooLarge" == r["over_ring"]
        assert 60_000 == r["at_limit"]
        assert "alive" == r["after"]
        assert {"init", "odd"} <= set(r["names"])

    @pytest.mark.parametrize("placement", ["process", "hosted"])
    def test_errors_about_long_names_stay_short(self, scenario, placement):
        """An op or argument name of 64 KiB is not echoed back whole in the error."""
        r = scenario("bad_replies" if placement == "process" else "bad_replies_hosted")
        assert "NoSuchOp" == r["long_op"][0]
        assert r["long_op"][1] < 1000
        assert "InvalidArgument" == r["long_arg"][0]
        assert r["long_arg"][1] < 1000


class TestKernelCalls:
    def test_bad_arguments_get_clear_errors(self, scenario):
        r = scenario("kernel_call_args")
        expected = {
            "junk_body": "BadMessage", "not_a_call": "BadMessage", "int_keys": "BadMessage",
            "deep": "BadMessage", "ext_arg": "InvalidArgument", "shadow_arg": "InvalidArgument",
            "oversized": "MessageTooLarge", "whoami_str": "InvalidArgument",
            "whoami_bool": "InvalidArgument", "whoami_huge": "NoSuchEndpoint",
            "kill_kernel": "NoSuchEndpoint", "kill_negative": "NoSuchEndpoint",
            "kill_signal": "InvalidArgument", "spawn_argv_str": "InvalidArgument",
            "spawn_argv_empty": "InvalidArgument", "spawn_argv_ints": "InvalidArgument",
            "spawn_no_file": "InvalidArgument", "spawn_nul_argv": "InvalidArgument",
            "spawn_nul_name": "InvalidArgument", "spawn_bad_env": "InvalidArgument",
            "spawn_slot": "InvalidArgument", "host_no_module": "InvalidArgument",
            "exit_str": "InvalidArgument", "set_acl_kernel": "NoSuchEndpoint",
        }
        assert expected == {name: r[name] for name in expected}
        assert "NoSuchOp" == r["long_op"][0]
        assert r["long_op"][1] < 1000
        assert "fine" == r["echo"]
        assert {"init", "echo"} == set(r["names"])

    def test_trace_to_a_path_it_cannot_write(self, scenario):
        """InvalidArgument, and the tracer keeps the file it had."""
        r = scenario("kernel_call_args")
        assert "InvalidArgument" == r["trace_bad_path"]
        assert "InvalidArgument" == r["trace_nul_path"]
        assert {"on": True, "path": f"{r['tmp']}/t1.jsonl"} == r["trace_again"]

    def test_trace_to_a_fifo_is_refused_without_blocking_the_kernel(self, scenario):
        r = scenario("trace_fifo", timeout=20)
        assert "InvalidArgument" == r["fifo"]
        assert "InvalidArgument" == r["dev"]
        assert r["elapsed"] < 2
        assert r["tracing"] is False

    def test_halt_status_must_be_an_exit_status(self, scenario):
        """0..255 only: 256 would end the boot with status 0."""
        r = scenario("halt_status")
        assert "InvalidArgument" == r["halt_256"]
        assert "InvalidArgument" == r["halt_negative"]
        assert "InvalidArgument" == r["halt_huge"]


class TestRouter:
    def test_a_call_id_already_outstanding_is_refused(self, scenario):
        """Reusing the id of a call still outstanding would leave the first callee
        serving a call nobody tracks."""
        r = scenario("duplicate_call_id")
        assert "InvalidArgument" == r["dup"]
        assert {"a": 1, "b": 0} == {n: r["serving_before"][n] for n in ("a", "b")}
        assert {"a": 0, "b": 0} == {n: r["serving_after"][n] for n in ("a", "b")}
        assert "ok" == r["after"]

    def test_a_held_notification_does_not_make_the_kernel_spin(self, scenario):
        """Receiver reads a little and stops; a sender waits for room; a notification is
        held: the kernel must sleep, not poll the room it already saw."""
        r = scenario("held_notify_busy_loop")
        assert r["kernel_cpu"] < 0.3
        assert {"sleeper", "flooder"} <= set(r["names"])

    def test_a_process_that_never_reads_is_held_back_and_loses_nothing(self, scenario):
        """Kernel calls without reading a reply: the kernel stops taking them once the
        undelivered replies reach a bound; when the process reads, every reply is there."""
        r = scenario("deaf")
        deaf = r["deaf"]
        assert 0 == r["status"]
        assert deaf["longest_full"] >= 1.0   # else it flooded for 10 s, never held back
        assert deaf["put"] == deaf["replies"]
        assert r["calls"] > 10
