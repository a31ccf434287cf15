"""Named pipes from the shell: mkfifo, a FIFO between a background program and the
shell's cat, `< FIFO` and the filters reading one — booted for real."""

from __future__ import annotations

from pathlib import Path

from tests.e2e.conftest import lines

WRITER = Path(__file__).resolve().parent / "programs" / "fifo_writer.py"


class TestFifoInTheShell:
    def test_a_fifo_between_a_background_program_and_the_shell_in_every_mode(self, nk):
        """run WRITER & then cat: the shell's open waits for the writer; end of file when
        it closes.  `wc -c < FIFO &` then `echo > FIFO`: the other way round."""
        r = nk(f"mkfifo /f; run {WRITER} /f 3 & cat /f; wait;"
               " wc -c < /f & echo hello > /f; wait; echo after")
        out = lines(r.stdout)
        assert 0 == r.returncode, r.output + r.log
        assert ["line 0", "line 1", "line 2"] == out[-6:-3], out
        assert ["6", "after"] == out[-2:], out

    def test_mkfifo_ls_stat_rm_and_its_errors(self, boot):
        r = boot("-c", "mkfifo /home/f; mkfifo /home/f; mkfifo; mkfifo /nope/x;"
                       " ls -l /home; stat /home/f; rm /home/f; stat /home/f")
        out = lines(r.stdout)
        assert "mkfifo: /home/f: FileExists" in out, out
        assert "mkfifo: usage: mkfifo PATH...: Usage" in out, out
        assert "mkfifo: /nope/x: FileNotFound" in out, out
        assert "p         0  f" in out, out
        assert any(line.startswith("  Type: fifo  Size: 0  Links: 1") and "Blocks: 0" in line
                   for line in out), out
        assert "stat: /home/f: FileNotFound" == out[-1], out

    def test_filters_and_input_redirection_read_a_fifo(self, boot):
        """head FIFO (which stops early), tee < FIFO, cat FIFO > FILE."""
        r = boot("-c", f"mkfifo /home/f; run {WRITER} /home/f 100 & head -n 2 /home/f | cat;"
                       f" wait; run {WRITER} /home/f 3 & tee /home/copy < /home/f | wc -l;"
                       f" wait; cat /home/copy; run {WRITER} /home/f 2 & cat /home/f > /home/c;"
                       " wait; cat /home/c")
        out = lines(r.stdout)
        assert 0 == r.returncode, r.output + r.log
        assert ["line 0", "line 1"] == [x for x in out if x.startswith("line")][:2], out
        assert ["3", "line 0", "line 1", "line 2", "line 0", "line 1"] == [
            x for x in out if not x.startswith("[")][-6:], out
