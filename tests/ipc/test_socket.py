"""Local stream sockets (servers/net.py, libipc/sockets.py) in one real boot: user
processes at the other ends, killed where the test says, the net server stopped and
killed last (programs/socket_session.py runs every scenario; a scenario's failure is
its own test's)."""

from __future__ import annotations

import json

import pytest

from tests.conftest import isolated_env, run_boot
from tests.ipc.conftest import PROGRAMS

CONFIG = """
[servers.naming]
module = "servers.naming"
privileged = true

[servers.console]
module = "servers.console"
console = true
public = true

[servers.net]
module = "servers.net"
public = true
privileged = true

[servers.session]
path = "{session}"
args = ["{scenarios}", "{out}"]
session = true
privileged = true
calls = ["*"]
depends = ["net"]
"""
SCENARIOS = ["basic", "bulk", "bad_input", "nonblock", "backlog", "closing", "reset",
             "peer_killed", "holder_dies", "withdrawn", "grants", "limits",
             "server_stopped", "server_killed"]   # (the last two stop and kill net)


@pytest.fixture(scope="module")
def sockets(tmp_path_factory) -> dict:
    """Every scenario's result (one boot for them all: a boot costs a second)."""
    tmp = tmp_path_factory.mktemp("socket")
    out, config = tmp / "socket.json", tmp / "socket.toml"
    config.write_text(CONFIG.format(session=PROGRAMS / "socket_session.py",
                                    scenarios=",".join(SCENARIOS), out=out))
    result = run_boot(tmp, isolated_env(tmp / "nkhome"), "--config", str(config),
                      timeout=120)
    assert out.exists(), f"no result\n{result.output}\n{result.log}"
    return {"results": json.loads(out.read_text()), "log": result.log}


@pytest.fixture
def scenario(sockets):
    def get(name: str) -> dict:
        data = sockets["results"].get(name)
        assert data is not None, f"{name} did not run\n{sockets['log']}"
        assert "session_error" not in data, data.get("traceback", "") + "\n" + sockets["log"]
        return data
    return get


class TestSocketSemantics:
    def test_bytes_both_ways_then_end_of_stream(self, scenario):
        """A client in another process: its echo comes back whole, b"" once it closed;
        the stream names the peer's kernel-stamped endpoint; close frees the name."""
        d = scenario("basic")
        assert {"name": "echo", "ep": d["me"], "backlog": 16, "pending": 0,
                "accepting": 0} == d["listed"]
        assert d["child"] == d["peer"]
        assert (131072, 0, 0) == (d["stat"]["capacity"], d["stat"]["rx_buffered"],
                                  d["stat"]["tx_buffered"])
        assert (7, "hello, world", "") == (d["sent"], d["got"], d["after"])
        assert 0 == d["status"]
        assert "InvalidArgument" == d["closed"]   # recv on a closed stream
        assert d["unlisted"] is None

    def test_megabytes_each_way_exactly(self, scenario):
        d = scenario("bulk")
        assert (d["n"], True) == (d["got"], d["sha_ok"])
        assert 0 == d["status"]   # the child's hash of the reply matched too

    def test_nonblocking_streams_say_would_block(self, scenario):
        """The ring holds its capacity; at most 4096 bytes go whole or not at all."""
        d = scenario("nonblock")
        assert ("WouldBlock", "WouldBlock") == (d["empty"], d["full"])
        assert d["capacity"] == d["filled"]
        assert ("WouldBlock", 100) == (d["small"], d["large"])
        assert "WouldBlock" == d["sendall"]

    def test_the_backlog_bounds_connections_not_yet_accepted(self, scenario):
        """Connects are answered before accept (and may send); past the backlog a
        connect waits — WouldBlock at 0, Timeout at its deadline — until an accept
        makes room."""
        d = scenario("backlog")
        assert 2 == d["pending"]
        assert ("WouldBlock", "Timeout") == (d["now"], d["later"])
        assert 0.2 <= d["later_s"] < 2
        assert d["waiting"]
        assert "before accept" == d["early"]
        assert ("in", 0) == (d["words"], d["status"])

    def test_shutdown_and_close_end_each_direction(self, scenario):
        d = scenario("closing")
        assert ("last words", "still") == (d["got"], d["back"])   # SHUT_WR: half closed
        assert "BrokenPipe" == d["own"]          # a send after our own SHUT_WR
        assert "" == d["own_rd"]                 # a recv after our own SHUT_RD
        assert "BrokenPipe" == d["peer_send"]    # the peer's send after it
        assert ("bye", "BrokenPipe") == (d["after_close"], d["send_closed"])

    def test_rings_are_granted_to_the_stream_s_process_alone_and_never_pile_up(self,
                                                                                 scenario):
        """(A third process given net's answer to a connect: PermissionDenied for both
        rings; 300 connections in a row: the kernel's regions and grants as before.)"""
        d = scenario("grants")
        assert 0 == d["thief"]
        assert d["before"] == d["after"]

    def test_a_connection_limit_then_room_again(self, scenario):
        """(MAX_CONNECTIONS at once: the next connect is TooManyCalls; closing frees.)"""
        d = scenario("limits")
        assert (d["limit"], "TooManyCalls") == (d["count"], d["error"])
        assert d["again"] and 1 == d["fits"]


class TestSocketErrors:
    def test_refused_in_use_and_bad_arguments(self, scenario):
        d = scenario("bad_input")
        assert ("ConnectionRefused", "ConnectionRefused") == (d["refused"], d["refused_wait"])
        assert "AddressInUse" == d["in_use"]
        for key in ("empty", "space", "long", "remote", "slash", "number", "big"):
            assert ["InvalidArgument"] * 2 == d[f"name_{key}"], key
        assert "no error" == d["long_ok"]   # 64 characters is the limit
        assert ["InvalidArgument"] * 3 == d["backlog"]
        assert ["InvalidArgument"] * 4 == d["timeout"]
        assert ["InvalidArgument"] * 4 == d["recv_bad"]
        assert "" == d["recv_zero"]
        assert ["InvalidArgument"] * 3 == d["send_bad"]
        assert ["InvalidArgument"] * 3 == d["shutdown_bad"]
        assert ["InvalidArgument"] * 5 + ["NoSuchOp"] == d["forged"]
        assert ["InvalidArgument"] * 3 == d["closed"]
        assert "no error" == d["freed"]

    def test_accept_waits_at_most_its_timeout(self, scenario):
        d = scenario("bad_input")
        assert ("WouldBlock", "WouldBlock") == (d["accept_now"], d["accept_nonblock"])
        assert "Timeout" == d["accept_timeout"]
        assert 0.2 <= d["accept_s"] < 2


class TestSocketFaults:
    def test_a_peer_that_closes_with_bytes_unread_resets(self, scenario):
        """ConnectionReset once, then b""; sends BrokenPipe.  A listener closed before
        accepting resets its backlog."""
        d = scenario("reset")
        assert 0 == d["status"]
        assert ("ConnectionReset", "", "BrokenPipe") == (d["first"], d["then"], d["send"])
        assert ("ConnectionReset", "", "BrokenPipe") == (
            d["never_accepted"], d["after"], d["send_after"])

    def test_a_peer_killed_mid_stream_gives_end_of_stream_never_a_hang(self, scenario):
        d = scenario("peer_killed")
        assert {"got_some": True, "status": -9, "send": "BrokenPipe"} == d["writer"]
        assert ("", -9, "BrokenPipe") == (d["waiting_recv"], d["sink_status"],
                                          d["sink_send"])
        assert d["waiting_s"] < 5            # the waiting recv returned at the death
        assert "BrokenPipe" == d["blocked_send"]   # a send waiting on a full ring too
        assert d["blocked_send_s"] < 5

    def test_a_dead_listeners_name_is_free_and_its_backlog_reset(self, scenario):
        d = scenario("holder_dies")
        assert (-9, True) == (d["status"], d["freed"])
        assert "ConnectionRefused" == d["refused"]
        assert "" == d["accepted"]                 # accepted, then its holder died: EOF
        assert "ConnectionReset" == d["pending"]   # never accepted
        assert d["forgotten"]                      # a connect that waited, killed
        assert "WouldBlock" == d["next_one"]       # ... got no connection

    def test_an_accept_given_up_on_is_withdrawn(self, scenario):
        """Interrupted by a signal: its waiter is gone and the next connection waits in
        the backlog.  Given up on while net was stopped: the stream net made for it
        after all is closed, so its client sees end of stream — never a peer that holds
        the stream and never reads."""
        d = scenario("withdrawn")
        assert ("Interrupted", True) == (d["interrupted"], d["handler_ran"])
        assert d["dropped"]
        assert 1 == d["queued"]
        assert 0 == d["signaller"]
        assert "Timeout" == d["gave_up"]
        assert 0.2 <= d["gave_up_s"] < 5
        assert 0 == d["client"]
        assert (0, 0) == (d["after"]["pending"], d["after"]["accepting"])

    def test_a_stopped_net_server_times_control_calls_out(self, scenario):
        """Bytes of open streams do not pass through net: they still flow; connect and
        listen give Timeout (the session's control timeout is 1 s); a close sent meanwhile
        is done once net continues."""
        d = scenario("server_stopped")
        assert "through" == d["data"]
        assert ("Timeout", "Timeout") == (d["connect"], d["listen"])
        assert d["elapsed"] < 5
        assert "" == d["eof"]

    def test_a_killed_net_server_gives_server_died_and_forgets_everything(self, scenario):
        d = scenario("server_killed")
        assert "ServerDied" == d["waited"]   # a recv that waited
        assert d["elapsed"] < 5
        assert 10 == d["acceptor"]           # the child's accept: ServerDied (exit 10)
        assert "ServerDied" == d["send"]     # the stream's next send
        assert "InvalidArgument" == d["accept"]   # the old listener: unknown to the new net
        assert ("ConnectionRefused", []) == (d["refused"], d["listeners"])
        assert "fresh" == d["fresh"]
