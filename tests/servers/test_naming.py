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
