"""The interactive prompt at a real terminal (a pty): editing, Ctrl-C, Ctrl-D."""

from __future__ import annotations

import os
import pty
import select
import sys
import time
from pathlib import Path

from tests.conftest import pids_of_boot, wait_until
from tests.e2e.conftest import REPO

PROMPT = b"nk:/$ "
PROGRAMS = Path(__file__).resolve().parent / "programs"


def _cmdline(pid: int) -> bytes:
    try:
        return Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ")
    except OSError:
        return b""


BOOT_S = 60.0   # a deadline for the boot, not a speed


class Terminal:
    """``nanokernel boot --ramdisk`` on a pty we type into."""

    def __init__(self, env: dict[str, str], log: str) -> None:
        pid, fd = pty.fork()
        if pid == 0:   # the child: the pty is its controlling terminal
            os.chdir(REPO)
            os.execve(sys.executable, [sys.executable, "-m", "nanokernel", "boot", "--ramdisk",
                                       "--log", log], env)
        self.pid, self.fd, self.seen = pid, fd, b""
        self.booted = False

    def expect(self, wanted: bytes, timeout: float = 15.0) -> bytes:
        """Read until ``wanted`` appears; return everything read before it.  The first
        wait includes the boot, which on a loaded 2-core machine takes ~8 s or more."""
        if not self.booted:
            timeout = max(timeout, BOOT_S)
        deadline = time.monotonic() + timeout
        while wanted not in self.seen:
            left = deadline - time.monotonic()
            if left <= 0:
                raise AssertionError(f"no {wanted!r} within {timeout} s; got {self.seen!r}")
            ready, _, _ = select.select([self.fd], [], [], left)
            if ready:
                try:
                    chunk = os.read(self.fd, 4096)
                except OSError:
                    chunk = b""
                if not chunk:
                    raise AssertionError(f"terminal closed before {wanted!r}; got {self.seen!r}")
                self.seen += chunk
        before, _, self.seen = self.seen.partition(wanted)
        self.booted = True
        return before

    def type(self, keys: bytes) -> None:
        os.write(self.fd, keys)

    def wait(self, timeout: float = 15.0) -> int:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            pid, status = os.waitpid(self.pid, os.WNOHANG)
            if pid:
                return os.waitstatus_to_exitcode(status)
            try:   # keep draining so the boot never blocks on a full pty
                if select.select([self.fd], [], [], 0.05)[0]:
                    self.seen += os.read(self.fd, 4096)
            except OSError:
                time.sleep(0.05)
        os.kill(self.pid, 9)
        raise AssertionError(f"boot did not exit; output {self.seen!r}")

    def close(self) -> None:
        os.close(self.fd)


class TestInteractive:
    def test_editing_ctrl_c_and_ctrl_d(self, nk_env, tmp_path):
        """Backspace and cursor keys edit a line, Ctrl-C cancels it, Ctrl-D halts."""
        term = Terminal(nk_env, str(tmp_path / "boot.log"))
        try:
            term.expect(PROMPT)
            term.type(b"echo abc\x7fd\r")                   # backspace
            term.expect(b"abd\r\n")
            term.expect(PROMPT)
            term.type(b"echo 13\x1b[D2\r")                  # left arrow, insert
            term.expect(b"123\r\n")
            term.expect(PROMPT)
            term.type(b"echo cancelled")
            term.expect(b"cancelled")     # echoed: readline has it (a ^C now flushes no input)
            term.type(b"\x03")                              # Ctrl-C
            term.expect(b"^C")
            term.expect(PROMPT)
            term.type(b"echo after\r")
            before = term.expect(b"after\r\n" + PROMPT)
            assert b"cancelled\r\n" not in before
            term.type(b"\x04")                              # Ctrl-D at an empty line
            status = term.wait()
        finally:
            term.close()
        assert 0 == status
        wait_until(lambda: not pids_of_boot(term.pid), 5, what="no orphan processes")

    def test_ctrl_c_interrupts_the_foreground_job(self, nk_env, tmp_path):
        """Ctrl-C ends a built-in's wait (sleep 30), a foreground program and every stage
        of a pipeline — SIGINT through the console and the kernel — and the shell
        prompts again; a background job is left alone."""
        term = Terminal(nk_env, str(tmp_path / "boot.log"))
        nap, yes = PROGRAMS / "nap.py", PROGRAMS / "yes.py"
        try:
            term.expect(PROMPT)
            term.type(f"run {nap} 60 &\r".encode())
            term.expect(PROMPT)
            for command, started in ((b"sleep 30", None), (f"run {nap} 30".encode(), b"nap"),
                                     (f"run {yes} | cat".encode(), b"y\r\n")):
                term.type(command + b"\r")
                if started:
                    wait_until(lambda name=started: self._running(term, name), 15,
                               what=f"{command!r} running")
                else:
                    term.expect(command + b"\r\n")
                t0 = time.monotonic()
                term.type(b"\x03")                          # Ctrl-C
                term.expect(b"^C")
                term.type(b"echo 'ba''ck'\r")   # typed ahead: runs at the next prompt (the
                try:
                    term.expect(b"back\r\n", timeout=10)   # tty echoes 'ba''ck', the shell back)
                except AssertionError:
                    raise AssertionError(command + (tmp_path / "boot.log").read_bytes()[-6000:]) \
                        from None
                term.expect(PROMPT)
                assert time.monotonic() - t0 < 10, command
            term.type(b"jobs\r")
            assert b"Running" in term.expect(PROMPT)        # the & job got no SIGINT
            term.type(b"echo after\r")
            term.expect(b"after\r\n" + PROMPT)
            term.type(b"\x04")
            status = term.wait()
        finally:
            term.close()
        assert 0 == status

    @staticmethod
    def _running(term: Terminal, text: bytes) -> bool:
        """A foreground program has started: its process shows up on the host (ps
        would need the prompt, which a foreground job holds)."""
        if text == b"y\r\n":
            try:
                term.expect(text, timeout=0.2)
                return True
            except AssertionError:
                return False
        return any(b"nap.py" in _cmdline(pid) and b" 30" in _cmdline(pid)
                   for pid in pids_of_boot(term.pid))

    def test_halt_at_the_prompt(self, nk_env, tmp_path):
        """halt typed at the prompt ends the boot cleanly."""
        term = Terminal(nk_env, str(tmp_path / "boot.log"))
        try:
            term.expect(PROMPT)
            term.type(b"cat /nope\r")
            term.expect(b"cat: /nope: FileNotFound")
            term.expect(PROMPT)
            term.type(b"halt\r")
            status = term.wait()
        finally:
            term.close()
        assert 1 == status
        wait_until(lambda: not pids_of_boot(term.pid), 5, what="no orphan processes")
