"""The sem server (servers/sem.py) through libipc.Semaphore, in a real boot: user
processes that wait, hold and die, and the server stopped and killed under them
(programs/semmq_session.py; one boot for every scenario: the ``semmq`` fixture)."""

from __future__ import annotations

import pytest

pytestmark = pytest.mark.timeout(120)


class TestSemaphoreSemantics:
    def test_values_timeouts_names_and_lifetime(self, semmq):
        """acquire/release move the value; timeout 0 is WouldBlock, a time limit Timeout;
        open's create/exclusive rules are POSIX's; unlink removes the name only."""
        d = semmq("sem_api")
        assert 2 == d["initial"]
        assert "WouldBlock" == d["at_zero"]
        assert "Timeout" == d["timed"][0] and 0.19 <= d["timed"][1] < 5
        assert 1 == d["after_release"]
        assert "/api" == d["same_name"]
        assert ("FileNotFound", "FileExists") == (d["missing"], d["exclusive"])
        assert 1 == d["initial_ignored"]
        assert (0, 1) == (d["inside_with"], d["after_with"])
        assert ("ValueError", "InvalidArgument") == (d["closed_use"], d["closed_raw"])
        assert "FileNotFound" == d["unlinked_open"]
        assert ["ok", 0, True] == d["unlinked_works"]
        assert 5 == d["fresh"]
        assert "FileNotFound" == d["unlink_missing"]
        assert ["/api", "/max", "/u"] == d["list"]

    def test_bad_input_is_a_clear_error_and_the_server_goes_on(self, semmq):
        """Wrong types, bad names, out-of-range values and timeouts, unknown handles and
        ops: each an error reply; another process's handle is refused like a forged one."""
        d = semmq("sem_api")
        assert {k: "InvalidArgument" for k in d["bad"] if k != "unknown_op"} | \
            {"unknown_op": "NoSuchOp"} == d["bad"]
        assert 14 == d["foreign_handle"]   # the child got InvalidArgument

    def test_each_release_wakes_exactly_one_waiter_longest_waiting_first(self, semmq):
        d = semmq("sem_fifo")
        assert [0, 1, 2] == d["order"]
        assert [[0, 2], [0, 1], [0, 0]] == d["after_each_release"]
        assert [0, 0, 0] == d["statuses"]


class TestDeadProcesses:
    def test_a_killed_holders_unit_goes_to_the_waiter(self, semmq):
        """undo (the default): what a SIGKILLed holder held is given back at its exit."""
        assert [-9, 0] == semmq("sem_dead")["holder_killed"]

    def test_an_undo_false_handle_keeps_its_units_taken(self, semmq):
        assert 0 == semmq("sem_dead")["no_undo_value"]

    def test_a_killed_waiter_is_dropped_and_takes_nothing(self, semmq):
        assert 1 == semmq("sem_dead")["dead_waiter_value"]


class TestWithdrawnCalls:
    def test_an_interrupted_acquire_is_dropped_at_the_server(self, semmq):
        """A signal interrupts a waiting acquire (Interrupted); libipc's withdraw makes
        the server forget it, so the next release is not lost to it."""
        d = semmq("sem_withdraw")
        assert ("Interrupted", 1) == (d["interrupted"], d["released_to_nobody"])

    def test_a_grant_whose_caller_gave_up_is_given_back_once(self, semmq):
        d = semmq("sem_withdraw")
        assert (0, 1, 1) == (d["granted"], d["given_back"], d["again_nothing"])


class TestServerFaults:
    def test_a_stopped_server_times_calls_out_and_untimed_waits_go_on(self, semmq):
        """SIGSTOP: a timed acquire gets Timeout at timeout + GRACE_S, a release at
        CONTROL_TIMEOUT_S (it still takes effect once the server continues); an untimed
        acquire waits through the stop and is served after SIGCONT."""
        d = semmq("sem_server_faults")
        assert "Timeout" == d["stopped_timed"][0] and 0.55 <= d["stopped_timed"][1] < 5
        assert "Timeout" == d["stopped_release"][0] and 0.45 <= d["stopped_release"][1] < 5
        assert d["untimed_still_waits"]
        assert 0 == d["untimed_after_cont"]

    def test_a_killed_server_fails_its_waiters_at_once_and_comes_back_empty(self, semmq):
        """SIGKILL: a waiting acquire gets ServerDied at once (never a hang); init
        restarts the server, which has lost every semaphore and handle."""
        d = semmq("sem_server_faults")
        assert 11 == d["killed_waiter"]   # the child got ServerDied
        assert d["killed_waiter_s"] < 5
        assert ("ServerDied", "FileNotFound", 3) == (d["old_handle"], d["reopen"],
                                                    d["create_again"])


class TestModel:
    def test_the_server_agrees_with_a_python_model(self, semmq):
        """hypothesis: open/acquire(timeout=0)/release/close/unlink against a model."""
        assert "ok" == semmq("model")["sem"]
