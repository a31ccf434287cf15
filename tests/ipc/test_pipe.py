"""The pipe server (servers/pipe.py) through libipc.pipe, in a real boot: user
processes at the ends, killed and hung where the test says."""

from __future__ import annotations

PIPE_BUF = 4096


class TestPipeSemantics:
    def test_bytes_then_end_of_file_and_bad_requests(self, pipes):
        d = pipes("basic")
        assert 5 == d["wrote"]
        assert {"buffered": 5, "readers": 1, "writers": 1} == {
            k: d["stat"][k] for k in ("buffered", "readers", "writers")}
        assert ("hello", "", "") == (d["read"], d["eof"], d["eof_again"])
        assert "InvalidArgument" == d["write_to_read_end"]
        assert "InvalidArgument" == d["closed_token"]
        assert "InvalidArgument" == d["bad_size"]
        assert "InvalidArgument" == d["forged_token"]

    def test_megabytes_between_two_processes_exactly(self, pipes):
        d = pipes("bulk")
        assert d["n"] == d["bytes"]
        assert d["sha_ok"]
        assert 0 == d["status"]

    def test_an_end_that_does_not_map_the_region_talks_to_one_that_does(self, pipes):
        d = pipes("mixed_paths")
        assert [d["n"], True, 0] == d["to_region"]
        assert [d["n"], True, 0] == d["from_region"]

    def test_records_of_pipe_buf_bytes_never_interleave(self, pipes):
        """(The server queues waiting writers first come, first served, so even a split
        write stays whole in the stream; the all-or-nothing rule shows in nonblock.)"""
        d = pipes("atomic")
        assert 2 * 150 * PIPE_BUF == d["bytes"]
        assert d["whole"]
        assert [150, 150] == d["counts"]
        assert [0, 0] == d["status"]

    def test_nonblocking_ends_say_would_block(self, pipes):
        d = pipes("nonblock")
        assert "WouldBlock" == d["empty"]
        assert d["capacity"] == d["filled"]   # the last write was partial, to the brim
        assert "WouldBlock" == d["full"]
        assert "WouldBlock" == d["small"]   # PIPE_BUF bytes do not fit in 100: none go
        assert 100 == d["large"]            # a bigger write takes what fits


    def test_a_write_bigger_than_the_pipe_with_readers_waiting_goes_in_whole(self, pipes):
        """(The readers read the region while the write goes in, so how much of it they
        take depends on timing: at least what does not fit in the pipe, at most all.)"""
        d = pipes("big_write_many_readers", extra="\n[limits]\nmax_message = 1048576\n")
        assert d["n"] == d["wrote"]
        assert 0 <= d["rest"] <= d["capacity"]   # the rest fits: the readers took the overflow
        assert [-9] * 5 == d["status"]


    def test_a_small_message_limit_splits_reads_and_writes_and_loses_nothing(self, pipes):
        d = pipes("small_messages", extra="\n[limits]\nmax_message = 4096\n")
        assert (None, "no error") == (d["error"], d["wrote"])
        assert (10240, True) == (d["got"], d["same"])


class TestPipeRegionByGrant:
    def test_a_third_process_cannot_map_a_grant_made_for_another(self, pipes):
        """(The creator's grant, shown to a child: PermissionDenied; the child maps the
        region by a grant of its own, asked with the end's token.)"""
        d = pipes("grant_for_one_endpoint")
        assert ("PermissionDenied", False) == (d["stolen"], d["stolen_region"])
        assert (True, True) == (d["own_grant"], d["own_mapped"])
        assert (True, True) == (d["creator_mapped"], d["same_grant_again"])
        assert 0 == d["status"]

    def test_a_thousand_pipes_in_a_row_leave_no_region_or_grant_behind(self, pipes):
        """(Then 300 in a user process, which may hold at most 256 regions at once.)"""
        d = pipes("many_pipes", timeout=180)
        assert 1000 == d["mapped"]
        assert 0 == d["child_status"]
        assert d["before"] == d["after_mine"]
        assert d["before"] == d["after_child"]

    def test_a_gone_pipe_s_grants_are_revoked_while_a_process_still_maps_it(self, pipes):
        """(Its region lives while that process holds it; the server holds it no more.)"""
        d = pipes("many_pipes", timeout=180)
        b = d["before"]
        assert {**b, "regions": b["regions"] + 1, "mine": b["mine"] + 1} == d["lingering"]
        assert "" == d["eof"]
        assert b == d["after_all"]


class TestPipeFaults:
    def test_a_writer_killed_mid_stream_gives_the_reader_end_of_file(self, pipes):
        d = pipes("writer_killed")
        assert d["eof"] and d["got_some"]
        assert -9 == d["status"]

    def test_a_write_without_reader_is_broken_pipe(self, pipes):
        d = pipes("reader_gone")
        assert 0 == d["status"]
        assert "BrokenPipe" == d["write"]

    def test_a_writer_waiting_on_a_full_pipe_gets_broken_pipe(self, pipes):
        d = pipes("blocked_writer_reader_dies")
        assert d["full"] > 0
        assert -13 == d["writer_status"]   # SIGPIPE's default action ended the writer

    def test_a_reader_killed_while_waiting_takes_no_data(self, pipes):
        d = pipes("dead_reader_takes_nothing")
        assert -9 == d["status"]
        assert "precious" == d["read"]

    def test_an_end_given_to_a_well_known_slot_closes_when_its_process_dies(self, pipes):
        d = pipes("given_to_an_alias")
        assert -9 == d["status"]
        assert (2, 1) == (d["before"], d["after"])

    def test_the_pipe_server_killed_while_a_read_waits(self, pipes):
        d = pipes("server_killed")
        assert "ServerDied" == d["waited"]
        assert d["elapsed"] < 5
        assert d["after"] in ("InvalidArgument", "ServerDied")   # its pipes died with it
        assert "new" == d["new"]

    def test_a_hung_pipe_server_gives_timeout(self, pipes):
        d = pipes("server_stopped")
        assert "Timeout" == d["stat"]
        assert 0.5 <= d["elapsed"] < 5
        assert "after" == d["read"]
