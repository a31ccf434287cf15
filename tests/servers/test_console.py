"""console: whole lines from many senders, reads from stdin, EOF, -c."""

from __future__ import annotations


class TestConsole:
    def test_lines_from_two_senders_never_interleave(self, session):
        """A partial line waits for its newline; another sender's line goes first."""
        _, res = session("console", stdin="hello\n")
        assert "line-x\nabcdef\n" in res.stdout

    def test_read_line_reads_stdin_then_reports_eof(self, session):
        """Lines come without newline; at end of input read_line gives None, also later."""
        data, res = session("console", stdin="hello\nworld\n")
        assert ["hello", "world", None, None] == data["lines"]
        assert "? ? " in res.stdout

    def test_with_commands_the_console_does_not_read_stdin(self, session, boot, tmp_path):
        """With -c (NK_COMMANDS) read_line answers None at once."""
        import json

        from tests.servers.conftest import write_config
        config = write_config(tmp_path, "console")
        res = boot("--config", str(config), "-c", "ignored", stdin="hello\n")
        data = json.loads((tmp_path / "console.json").read_text())
        assert [None, None, None, None] == data["lines"], res.log
