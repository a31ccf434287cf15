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
