"""wc — the fs server with one more op: count a file's lines, words and bytes
(labs/fs-wc: you write the op).

Why in the server: the shell's `wc` tool reads the whole file through fs, one
message of at most 60 KiB per read, to throw the bytes away after counting.
Asking fs to count ships the function to the data (as a database's stored
procedure does): one call, three numbers back, however big the file.

    wc(path) -> {"lines": L, "words": W, "bytes": B}

  lines: how many b"\\n" the file holds (a last line without one is not counted);
  words: how many runs of non-whitespace bytes (bytes.split()'s idea of a word);
  bytes: the file's size.
Errors, as the other ops of fs have them: FileNotFound, IsADirectory, and
InvalidArgument for a FIFO or a path that is not a str (the Server checks the
argument's type against the signature before the op runs).

The class is the package's fs server (servers/fs/server.py) with the op added;
the lab's boot.toml starts this module as fs.
"""

from __future__ import annotations

from libipc import NoSuchOp, op
from servers.fs.server import Fs


class WcFs(Fs):
    """fs, with wc."""

    @op
    def wc(self, ctx, path: str) -> dict[str, int]:
        """{lines, words, bytes} of the file at ``path``."""
        # TODO: count the file's lines, words and bytes.  The FileSystem is the
        # argument of the function self._run(fn) runs (as the other ops do: see
        # servers/fs/server.py): fs.read(path, offset, size) returns up to size
        # bytes from offset, b"" at the end.  Read the file a chunk at a time (a
        # file may be bigger than you want in memory at once) and mind the words
        # that go on from one chunk into the next.
        raise NoSuchOp("wc: not written yet (labs/fs-wc/README.md)")


def main() -> None:
    WcFs.main()


if __name__ == "__main__":
    main()
