"""count — the shell's `count` command: the fs server's wc op, file by file
(labs/fs-wc: the reference solution).

    count FILE...      LINES WORDS BYTES FILE, one line per file (the name as
                       given), then LINES WORDS BYTES total when there are two or more

Unlike the `wc` tool (servers/shell/tools.py), which is a process that reads
every byte through fs, `count` runs in the shell and makes one call per file:
fs counts where the data is.  An error ends the command with the shell's
`count: FILE: Code` line (status 1); no file named is a usage error (status 2).
"""

from __future__ import annotations

from servers.shell.core import Interpreter, usage_error

FIELDS = ("lines", "words", "bytes")


class CountCommands(Interpreter):
    def do_count(self, args: list[str]) -> int:
        """count FILE...
        Count each file's lines, words and bytes in the fs server (its wc op)."""
        if not args:
            raise usage_error("count FILE...")
        total = dict.fromkeys(FIELDS, 0)
        for name in args:
            counts = self.fs(name, "wc", path=self.path(name))
            self.print(*(counts[f] for f in FIELDS), name)
            for f in FIELDS:
                total[f] += counts[f]
        if len(args) > 1:
            self.print(*(total[f] for f in FIELDS), "total")
        return 0
