"""The live trace: ``trace on`` with no file prints each message on the console.

A cat /etc/motd is seen as shell → fs and fs → block CALLs and their replies, one
aligned line each after a ``│`` (dimmed on a terminal); the follower that prints
them and the console they go to are not traced; ``trace off`` ends it, and so
does the end of the session (the last lines are not lost).
"""

from __future__ import annotations

import os
import re
import select
import signal
import time
from pathlib import Path

from tests.conftest import pids_of_boot, wait_until
from tests.e2e.conftest import lines
from tests.e2e.test_interactive import PROMPT, Terminal


class QuietTerminal(Terminal):
    def read_for(self, seconds: float) -> bytes:
        """Whatever the terminal shows in the next ``seconds`` (a wait on purpose: what
        must not come)."""
        deadline, got = time.monotonic() + seconds, b""
        while (left := deadline - time.monotonic()) > 0:
            if select.select([self.fd], [], [], left)[0]:
                got += os.read(self.fd, 4096)
        self.seen += got
        return got


TRACE_LINE = re.compile(r"^│ +\d+\.\d{3} ms  (\S+) +→ (\S+) +([A-Z]+) +(\S*) .*\d+ B")


def trace_lines(out: list[str]) -> list[tuple[str, str, str, str]]:
    return [m.groups() for m in map(TRACE_LINE.match, out) if m]


class TestLiveTrace:
    def test_cat_is_traced_on_the_console(self, nk):
        """trace on; cat: the cat's messages, the console's and the follower's left out;
        after trace off nothing more is traced."""
        r = nk("trace on; cat /etc/motd; trace off; ls /")
        assert 0 == r.returncode, r.output
        out = lines(r.stdout)
        assert "tracing on → console (trace off ends it)" in out
        assert "tracing off" in out
        seen = trace_lines(out)
        assert ("shell", "fs", "CALL", "read") in seen, r.stdout
        assert ("fs", "shell", "REPLY", "read") in seen, r.stdout
        assert all("console" not in (src, dst) and "trace" not in (src, dst)
                   for src, dst, _, _ in seen), r.stdout
        replies = [line for line in out if TRACE_LINE.match(line) and " REPLY " in line]
        assert replies and all(line.rstrip().endswith(("µs", " ms")) for line in replies), \
            replies
        after_off = out[out.index("tracing off"):]
        assert not trace_lines(after_off), r.stdout   # (ls / was not traced)
        # every trace line is aligned: the arrow in one column
        columns = {line.index("→") for line in out if TRACE_LINE.match(line)}
        assert len(columns) == 1, columns

    def test_fs_to_block_and_the_end_of_the_session(self, nk):
        """No trace off: the session's end still prints the last lines; fs → block."""
        r = nk("trace on; cat /etc/motd")
        assert 0 == r.returncode, r.output
        seen = trace_lines(lines(r.stdout))
        assert ("shell", "fs", "CALL", "read") in seen, r.stdout
        path = [(src, dst, kind) for src, dst, kind, _ in seen]
        assert ("fs", "block", "CALL") in path, r.stdout
        # every call shows its op, a hosted fs's too (kernel/hosted.py's messages)
        assert all(op for _, _, kind, op in seen if kind == "CALL"), r.stdout
        assert ("block", "fs", "REPLY") in path, r.stdout

    def test_on_a_terminal_it_is_dimmed(self, nk_env, tmp_path):
        """Dimmed lines after a │; quiet at the prompt, with a note of what went by."""
        term = QuietTerminal(nk_env, str(tmp_path / "boot.log"))
        try:
            term.expect(PROMPT)
            term.type(b"trace on\r")
            term.expect(b"tracing on")
            term.expect(PROMPT)
            # at the prompt the trace is quiet (init's heartbeats every 2 s are counted)
            idle = term.read_for(3.0)
            assert b"\xe2\x94\x82" not in idle, idle
            term.type(b"cat /etc/motd\r")
            shown = term.expect(b"Break things") + term.expect(PROMPT, timeout=30)
            assert b"\x1b[2m\xe2\x94\x82 " in shown, shown   # dim, then "│ "
            assert re.search(rb"shell +\xe2\x86\x92 fs +CALL +read", shown), shown
            assert re.search(rb"\(\d+ messages? while no command ran: not shown\)", shown), \
                shown
            term.type(b"trace off\r")
            term.expect(b"tracing off")
            term.expect(PROMPT)
            term.type(b"\x04")
            status = term.wait(30)
        finally:
            term.close()
        assert 0 == status
        wait_until(lambda: not pids_of_boot(term.pid), 5, what="no orphan processes")


def follower_pid(kernel_pid: int) -> int:
    """The live trace's follower process of the boot (servers/shell/tracefollow.py)."""
    def find() -> int | None:
        for pid in pids_of_boot(kernel_pid):
            try:
                if b"servers.shell.tracefollow" in Path(f"/proc/{pid}/cmdline").read_bytes():
                    return pid
            except OSError:
                continue
        return None
    wait_until(lambda: find() is not None, 10, what="the trace follower")
    return find()


class TestFollowerFaults:
    """The follower is a process like any other: killed or hung, the shell says the
    live trace is lost, turns tracing off and goes on — no hang, no silent stop."""

    def lost_then_goes_on(self, nk_env, tmp_path, sig: int) -> bytes:
        term = QuietTerminal(nk_env, str(tmp_path / "boot.log"))
        try:
            term.expect(PROMPT)
            term.type(b"trace on\r")
            term.expect(b"tracing on")
            term.expect(PROMPT)
            pid = follower_pid(term.pid)
            os.kill(pid, sig)
            term.type(b"cat /etc/motd\r")
            lost = b"trace: the live trace's follower was lost; tracing off: "
            shown = term.expect(lost, timeout=40) + lost + term.expect(PROMPT, timeout=30)
            term.type(b"ls /etc\r")   # the shell goes on, untraced
            after = term.expect(b"motd", timeout=30) + term.expect(PROMPT, timeout=30)
            assert b"\xe2\x94\x82" not in after, after
            wait_until(lambda: not os.path.exists(f"/proc/{pid}")
                       or Path(f"/proc/{pid}/stat").read_text().split()[2] == "Z",
                       10, what="the lost follower gone")
            term.type(b"\x04")
            status = term.wait(30)
        finally:
            term.close()
        assert 0 == status
        wait_until(lambda: not pids_of_boot(term.pid), 5, what="no orphan processes")
        return shown

    def test_follower_killed(self, nk_env, tmp_path):
        shown = self.lost_then_goes_on(nk_env, tmp_path, signal.SIGKILL)
        # ServerDied if it died under the shell's call, NoSuchEndpoint if it was gone
        # (and reaped) before the call: which is timing
        assert re.search(rb"follower was lost; tracing off: (ServerDied|NoSuchEndpoint)\r",
                         shown), shown
        assert b"Break things" in shown, shown   # the command itself ran

    def test_follower_hung(self, nk_env, tmp_path):
        """SIGSTOP: the shell waits the follower's timeout once, then kills it."""
        shown = self.lost_then_goes_on(nk_env, tmp_path, signal.SIGSTOP)
        assert b"trace: the live trace's follower was lost; tracing off: Timeout" in shown, \
            shown
        assert b"Break things" in shown, shown
