"""``top``: one snapshot without a terminal (``-n 1``), a live view on one."""

from __future__ import annotations

from tests.conftest import pids_of_boot, wait_until
from tests.e2e.conftest import lines
from tests.e2e.test_interactive import PROMPT, Terminal

HEADER = ["EP", "NAME", "STATE", "CPU%", "in/s", "out/s", "msg/s", "CALLS", "RING-HW",
          "RESTARTS"]


def table(out: list[str]) -> list[list[str]]:
    """The rows of each snapshot's table (header lines included)."""
    return [line.split() for line in out if line.split()[:1] == ["EP"]
            or (line.split() and line.split()[0].isdigit() and len(line.split()) == 10)]


class TestTop:
    def test_one_snapshot_with_rates(self, nk):
        r = nk("top -n 0; cat /etc/motd > /home/m; top -n 1; top -n 2 -d 0.2")
        assert 0 == r.returncode, r.output
        out = lines(r.stdout)
        rows = table(out)
        headers = [i for i, row in enumerate(rows) if row == HEADER]
        assert len(headers) == 3, r.stdout   # one snapshot, then two
        first = rows[1:headers[1]]
        names = {row[1]: row for row in first}
        assert {"init", "naming", "console", "fs", "block", "shell"} <= set(names), r.stdout
        assert all(row[2] == "running" for row in first)
        shell = names["shell"]
        # (the shell's own kernel calls for top's samples: a rate above 0)
        assert float(shell[6]) > 0, shell
        assert abs(float(shell[6]) - float(shell[4]) - float(shell[5])) < 0.2, shell
        assert all(int(row[7]) >= 0 and int(row[8]) >= 0 and int(row[9]) >= 0 for row in first)
        assert any(line.startswith("up ") and " msg/s routed" in line for line in out)
        assert "top: usage: top [-n COUNT] [-d SECONDS]: Usage" in out

    def test_live_on_a_terminal(self, nk_env, tmp_path):
        """top redraws in place until q; Ctrl-C leaves it too; the shell goes on."""
        term = Terminal(nk_env, str(tmp_path / "boot.log"))
        try:
            term.expect(PROMPT)
            term.type(b"top -d 0.3\r")
            term.expect(b"\x1b[H\x1b[2J")
            term.expect(b"msg/s")
            term.expect(b"\x1b[H\x1b[2J")   # a second screen: it refreshes
            term.expect(b"(q or Ctrl-C to leave)")
            term.type(b"q")
            term.expect(PROMPT)
            term.type(b"top\r")
            term.expect(b"(q or Ctrl-C to leave)")
            term.type(b"\x03")
            term.expect(PROMPT)
            term.type(b"echo after\r")
            term.expect(b"after\r\n")
            term.expect(PROMPT)
            term.type(b"\x04")
            status = term.wait(30)
        finally:
            term.close()
        assert 0 == status
        wait_until(lambda: not pids_of_boot(term.pid), 5, what="no orphan processes")
