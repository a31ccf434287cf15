"""devices: null, zero, random and a clock whose sleeps never block other clients."""

from __future__ import annotations


class TestDevices:
    def test_devices_read_write_clock_and_bad_arguments(self, session):
        """Each device answers; bad sizes/types/devices/durations are InvalidArgument."""
        data, _ = session("devices")
        assert [0, 0, 0, 0] == data["zero"]
        assert 32 == data["random_len"]
        assert "" == data["null"]
        assert 3 == data["write"]
        assert ["null", "zero", "random"] == data["devices"]
        assert data["now_skew"] < 1.0
        assert {k: "InvalidArgument" for k in data["bad"]} == data["bad"]
        assert "read: n must be 0 to" in data["huge_message"]
        assert "got 2097152" in data["huge_message"]

    def test_sleep_does_not_block_other_clients(self, session):
        """While one client sleeps 1 s, another's call is answered at once."""
        data, _ = session("devices")
        assert data["now_latency"] < 0.8   # behind the sleep it would be 1 s or more
        assert data["sleeper"]["value"] is None
        assert data["sleeper"]["elapsed"] >= 1.0
        assert data["alarm"] is True
        assert 0.2 <= data["alarm_after"] < 2.0
