"""count — the shell's `count` command: the fs server's wc op, file by file
(labs/fs-wc: you write the command).

    count FILE...      LINES WORDS BYTES FILE, one line per file (the name as
                       given), then LINES WORDS BYTES total when there are two or more

Unlike the `wc` tool (servers/shell/tools.py), which is a process that reads
every byte through fs, `count` runs in the shell and makes one call per file:
fs counts where the data is.  An error ends the command with the shell's
`count: FILE: Code` line (status 1); no file named is a usage error (status 2).
"""

from __future__ import annotations

from servers.shell.core import CommandError, Interpreter


class CountCommands(Interpreter):
    def do_count(self, args: list[str]) -> int:
        """count FILE...
        Count each file's lines, words and bytes in the fs server (its wc op)."""
        # TODO: no FILE: raise usage_error("count FILE...") (servers/shell/core.py).
        # For each FILE: self.fs(FILE, "wc", path=self.path(FILE)) calls fs's wc op
        # (an error becomes the shell's "count: FILE: Code" line by itself); print
        # its counts and the name with self.print(...), as do_stat does in
        # servers/shell/files.py.  Two files or more: a last "total" line.
        raise CommandError("not written yet (labs/fs-wc/README.md)", "NotImplemented")
