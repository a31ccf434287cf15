"""console: whole lines from many senders, reads from stdin, EOF, -c."""

from __future__ import annotations

import contextlib
import json
import os
import pty
import select
import subprocess
import sys

from tests.conftest import NANOKERNEL, pids_of_boot, wait_until
from tests.servers.conftest import write_config


class TestConsole:
    def test_lines_from_two_senders_never_interleave(self, session):
        """A partial line waits for its newline; another sender's line goes first."""
        _, res = session("console", stdin="hello\n")
        assert "line-x\nabcdef\n" in res.stdout

    def test_read_line_reads_stdin_then_reports_eof(self, session):
        """Lines come without newline; at end of input read_line gives None, also later."""
        data, res = session("console", stdin="hello\nworld\n")
        assert ["hello", "world", None, None] == data["lines"]
        assert "? ? > " in res.stdout

    def test_with_commands_the_console_does_not_read_stdin(self, session, boot, tmp_path):
        """With -c (NK_COMMANDS) read_line answers None at once."""
        config = write_config(tmp_path, "console")
        res = boot("--config", str(config), "-c", "ignored", stdin="hello\n")
        data = json.loads((tmp_path / "console.json").read_text())
        assert [None, None, None, None] == data["lines"], res.log


    def test_a_line_typed_after_an_interrupted_read_goes_to_the_next_read(self, tmp_path,
                                                                         nk_env):
        """The kernel never tells the console that a read_line was cancelled: a line
        given to that dead call would be lost — the sender's new read_line takes it."""
        config = write_config(tmp_path, "console_interrupted")
        marker = tmp_path / "console_interrupted.json.interrupted"
        proc = subprocess.Popen([*NANOKERNEL, "boot", "--ramdisk", "--config", str(config),
                                 "--log", str(tmp_path / "log.txt")], env=nk_env,
                                stdin=subprocess.PIPE, stdout=subprocess.DEVNULL)
        try:
            wait_until(marker.exists, 20, what="the first read_line to be interrupted")
            proc.stdin.write(b"typed\n")
            proc.stdin.close()
            assert 0 == proc.wait(20)
        finally:
            if proc.poll() is None:
                proc.kill()
                proc.wait()
        data = json.loads((tmp_path / "console_interrupted.json").read_text())
        assert {"first": "Interrupted", "again": "typed"} == data, data


class TestTerminal:
    def test_at_a_tty_lines_are_edited_and_ctrl_c_cancels_one(self, tmp_path, nk_env):
        """Under a pty: backspace edits, Ctrl-C prints ^C and gives "", Ctrl-D is EOF."""
        config = write_config(tmp_path, "console")
        pid, fd = pty.fork()
        if pid == 0:   # the child: the boot, with the pty as its terminal
            os.execve(sys.executable, [sys.executable, "-m", "nanokernel", "boot", "--ramdisk",
                                       "--config", str(config), "--log",
                                       str(tmp_path / "log.txt")], nk_env)
        seen = bytearray()

        def shows(text: bytes, count: int = 1):
            def check() -> bool:
                if select.select([fd], [], [], 0.05)[0]:
                    with contextlib.suppress(OSError):
                        seen.extend(os.read(fd, 4096))
                return seen.count(text) >= count
            return check

        exits: list[int] = []

        def halted() -> bool:
            reaped, raw = os.waitpid(pid, os.WNOHANG)
            if reaped:
                exits.append(os.waitstatus_to_exitcode(raw))
            return bool(reaped)

        try:
            wait_until(shows(b"? "), 20, what="the first prompt")
            os.write(fd, b"hex\x7fllo\r")
            wait_until(shows(b"? ", 2), 10, what="the second prompt")
            os.write(fd, b"abc\x03")
            wait_until(shows(b"^C"), 10, what="^C")
            wait_until(shows(b"> "), 10, what="the third prompt")
            os.write(fd, b"\x04")
            wait_until(halted, 20, what="the boot to halt at end of input")
        finally:
            if not exits:
                os.kill(pid, 9)
                os.waitpid(pid, 0)
            os.close(fd)
        wait_until(lambda: not pids_of_boot(pid), 5, what="no orphan processes")
        assert [0] == exits
        assert ["hello", "", None, None] == json.loads((tmp_path / "console.json").read_text())[
            "lines"], bytes(seen)
