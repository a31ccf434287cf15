"""The mq server (servers/mq.py) through libipc.MessageQueue, in a real boot: user
processes that send, receive, register for notification and die, and the server
stopped and killed under them (programs/semmq_session.py; the ``semmq`` fixture)."""

from __future__ import annotations

import pytest

pytestmark = pytest.mark.timeout(120)


class TestQueueSemantics:
    def test_priorities_fifo_full_empty_and_sizes(self, semmq):
        """Highest priority first, FIFO within one; a full queue and an empty one are
        WouldBlock at timeout 0 and Timeout with a time limit; oversize MessageTooLarge."""
        d = semmq("mq_api")
        assert 4 == d["current"]
        assert [["b5", 5], ["d5", 5], ["a1", 1], ["c1", 1]] == d["received"]
        assert ("WouldBlock", "WouldBlock") == (d["full"], d["empty"])
        for key in ("full_timed", "empty_timed"):
            assert "Timeout" == d[key][0] and 0.19 <= d[key][1] < 5
        assert "MessageTooLarge" == d["oversize"]
        assert ["x" * 16, 0] == d["exact_size"]
        assert {"max_messages": 4, "max_message_size": 16, "current_messages": 0,
                "waiting_receivers": 0, "waiting_senders": 0, "notify": False, "opens": 1,
                "unlinked": False} == d["attrs"]

    def test_open_rules_modes_and_lifetime(self, semmq):
        """POSIX's create/exclusive; sizes count only when made; "r"/"w" handles; an
        unlinked queue lives (with its messages) until its last handle closes."""
        d = semmq("mq_api")
        assert ("FileNotFound", "FileExists") == (d["missing"], d["exclusive"])
        assert 4 == d["sizes_of_existing"]
        assert ["InvalidArgument", "InvalidArgument"] == d["modes"]
        assert "FileNotFound" == d["unlinked_open"]
        assert [1, ["kept", 0], True] == d["unlinked_still_there"]
        assert 0 == d["fresh_is_empty"]
        assert "FileNotFound" == d["unlink_missing"]
        assert ["/api", "/life"] == d["list"]

    def test_bad_input_and_limits_are_clear_errors(self, semmq):
        """Wrong types, bad modes, names, sizes and priorities: InvalidArgument; bytes
        past one message: MessageTooLarge; the server's memory budget: NoSpace."""
        d = semmq("mq_api")
        expected = {k: "InvalidArgument" for k in d["bad"]}
        expected |= {"unknown_op": "NoSuchOp", "too_big_for_a_message": "MessageTooLarge"}
        assert expected == d["bad"]
        assert 14 == d["foreign_handle"]
        assert ("NoSpace", "ok") == (d["no_space"], d["space_again"])


class TestBetweenProcesses:
    def test_waiting_receivers_are_served_oldest_first(self, semmq):
        assert [10, 11, 12] == semmq("mq_multi")["receivers"]

    def test_waiting_senders_get_in_oldest_first(self, semmq):
        d = semmq("mq_multi")
        assert [0, 20, 21, 22] == d["senders_got_in"]
        assert [0, 0, 0] == d["sender_statuses"]

    def test_notify_signals_the_registered_process_once(self, semmq):
        """mq_notify: another process's registration is Busy; an arrival in the empty
        queue signals the registered one (its fn receives it) and uses it up."""
        d = semmq("mq_multi")
        assert ("Busy", 42, False) == (d["busy"], d["notified_child"], d["used_up"])

    def test_a_waiting_receiver_takes_precedence_over_notification(self, semmq):
        d = semmq("mq_multi")
        assert (7, True) == (d["receiver_instead"], d["still_registered"])
        assert [["fired"], ["8", 0]] == d["own_notification"]


class TestDeadProcesses:
    def test_a_killed_receiver_takes_no_message(self, semmq):
        assert 1 == semmq("mq_dead")["after_dead_receiver"]

    def test_a_killed_senders_message_never_enters(self, semmq):
        assert [["1", 0], 0] == semmq("mq_dead")["after_dead_sender"]

    def test_a_killed_registrants_registration_goes(self, semmq):
        assert "ok" == semmq("mq_dead")["register_after"]


class TestWithdrawnCalls:
    def test_an_interrupted_receive_is_dropped(self, semmq):
        assert "Interrupted" == semmq("mq_withdraw")["interrupted"]

    def test_a_withdrawn_receive_puts_its_message_back_first(self, semmq):
        d = semmq("mq_withdraw")
        assert ["first", 3] == d["raw_got"]
        assert [["first", 3], ["second", 3]] == d["back_first"]

    def test_a_withdrawn_send_still_queued_is_taken_out(self, semmq):
        assert 0 == semmq("mq_withdraw")["send_taken_out"]


class TestServerFaults:
    def test_a_stopped_server_times_calls_out(self, semmq):
        d = semmq("mq_server_faults")
        assert "Timeout" == d["stopped_timed_receive"][0]
        assert 0.45 <= d["stopped_timed_receive"][1] < 5   # 0.2 s + GRACE_S 0.3
        assert "Timeout" == d["stopped_attrs"][0]
        assert ["ok", ["5", 0]] == d["after_cont"]

    def test_a_killed_server_fails_its_waiters_at_once_and_comes_back_empty(self, semmq):
        d = semmq("mq_server_faults")
        assert 11 == d["killed_receiver"] and d["killed_receiver_s"] < 5
        assert ("ServerDied", "FileNotFound", 0) == (d["old_handle"], d["reopen"],
                                                    d["create_again"])


class TestModel:
    def test_the_server_agrees_with_a_python_model(self, semmq):
        """hypothesis: open/send/receive (timeout=0)/close/unlink against a model."""
        assert "ok" == semmq("model")["mq"]
