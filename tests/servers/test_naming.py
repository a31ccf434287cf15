"""naming hands out names only to the processes they belong to."""

from __future__ import annotations


class TestNaming:
    def test_name_squatting_is_refused(self, session):
        """Registering another's name, or a name a live process holds, is PermissionDenied."""
        data, _ = session("squat")
        assert "PermissionDenied" == data["echo_takes_console"]
        assert "PermissionDenied" == data["session_takes_echo"]
        assert "no error" == data["session_own_name"]
        assert 1 == data["second_echo_status"]
        assert data["echo_unchanged"] is True
        assert "PermissionDenied" == data["unregister_other"]
        assert "NoSuchEndpoint" == data["lookup_unknown"]

    def test_wait_answers_when_the_name_registers(self, session):
        """wait(name): at once when registered, deferred until a late server registers,
        Timeout (the caller's) for a name that never comes."""
        data, _ = session("name_wait")
        assert data["at_once"] is True
        assert data["early"] is False          # the client was still waiting
        assert data["late_ep"] == data["waited"]
        assert "Timeout" == data["never"]
        assert data["never_s"] < 5.0

    def test_a_wait_ends_when_naming_hangs_or_dies(self, session):
        """naming SIGSTOPped: the waiter's own timeout ends its wait (Timeout); naming
        SIGKILLed: the waiter gets ServerDied at once; the restarted naming answers."""
        data, _ = session("name_wait_faults", timeout=60)   # (its inner wait is 30 s)
        assert "Timeout" == data["stopped"]
        assert data["stopped_s"] < 3.0
        assert "ServerDied" == data["killed"]
        assert data["killed_s"] < 15.0   # not a hang (the wait has no timeout of its own)
        assert data["after"] is True
