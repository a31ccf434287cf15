"""wc — the fs server with one more op: count a file's lines, words and bytes
(labs/fs-wc: the reference solution).

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

from typing import Any

from libipc import op
from servers.fs.server import Fs

CHUNK = 64 * 1024   # bytes read at a time: the op's memory does not grow with the file


class WcFs(Fs):
    """fs, with wc."""

    @op
    def wc(self, ctx, path: str) -> dict[str, int]:
        """{lines, words, bytes} of the file at ``path``."""
        return self._run(lambda fs: count(fs, path))


def count(fs: Any, path: str) -> dict[str, int]:
    """Count the file chunk by chunk.  A word may straddle two chunks: the chunk
    after one that ended inside a word does not count the word's rest again."""
    lines = words = size = 0
    in_word = False
    while True:
        data = fs.read(path, size, CHUNK)   # (raises for a missing file, a directory)
        if not data:
            break
        lines += data.count(b"\n")
        words += len(data.split())
        if in_word and not data[:1].isspace():
            words -= 1   # its first word goes on from the last chunk's
        in_word = not data[-1:].isspace()
        size += len(data)
    return {"lines": lines, "words": words, "bytes": size}


def main() -> None:
    WcFs.main()


if __name__ == "__main__":
    main()
