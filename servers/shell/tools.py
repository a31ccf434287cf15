"""The filters a pipeline stage runs as its own user process:

    python -m libipc.program servers/shell/tools.py NAME [ARGS]

cat, wc, grep, head, tail, sort, uniq, tee, echo — each reads the files it is
given (from the nanokernel fs, relative to NK_CWD; a FIFO is read as the pipe
it connects to) or, given none, its
standard input (the pipe end libipc.program made sys.stdin), and writes its
standard output (a pipe end, a file, or the console).  A /net/NODE/PATH name
is node NODE's file (libipc.open goes there through the bridge).  Bytes in, bytes out:
`cat` and `tee` copy exactly; the line tools split on b"\\n".
``yes [STRING]`` writes its line until nobody reads it.
Exit status: 0; 1 when grep matched nothing; 2 for a usage error.
"""

from __future__ import annotations

import os
import posixpath
import re
import sys
from collections import deque
from collections.abc import Iterator

from libipc import BrokenPipe, IpcError
from libipc.file import open as open_path
from libipc.remote import NET_PREFIX, split_net_path, this_node

CHUNK = 60 * 1024


class Usage(Exception):
    """A bad command line: the message is the usage."""


def here(path: str) -> str:
    """A /net path of this node itself (boot --node NAME sets NK_NODE) as the local
    path it names: /net/b/home/x is /home/x on node b; any other path as it is."""
    if not path.startswith(NET_PREFIX):
        return path
    try:
        node, rest = split_net_path(path)
    except IpcError:   # (not a /net/NODE/PATH: whoever uses it says so)
        return path
    return rest if node == this_node() else path


def _path(name: str) -> str:
    return here(posixpath.normpath(posixpath.join(os.environ.get("NK_CWD", "/"), name)))


def _open(name: str, mode: str):
    """``libipc.open`` of a name; an error of another node's file names it by its /net
    path, as it was given, not by its path on that node."""
    path = _path(name)
    try:
        return open_path(path, mode)
    except IpcError as exc:
        node, there = split_net_path(path) if path.startswith(NET_PREFIX) else (None, path)
        if node is not None and exc.message.startswith(there + ":"):
            exc.message = path + exc.message[len(there):]
        raise


def _chunks(names: list[str]) -> Iterator[bytes]:
    """The bytes of the files named, or of stdin when there are none."""
    if not names:
        stdin = sys.stdin.buffer
        read = getattr(stdin, "read1", stdin.read)   # what is there: no waiting for more
        while data := read(CHUNK):
            yield data
        return
    for name in names:
        with _open(name, "rb") as f:   # a file, or a FIFO's read end
            read = getattr(f, "read1", f.read)      # (a FIFO's: what is there, no waiting)
            while data := read(CHUNK):
                yield data


def _lines(names: list[str]) -> Iterator[bytes]:
    """Lines with their b"\\n" (the last may have none)."""
    rest = b""
    for data in _chunks(names):
        rest += data
        *lines, rest = rest.split(b"\n")
        for line in lines:
            yield line + b"\n"
    if rest:
        yield rest


def _count(args: list[str]) -> tuple[int, list[str]]:
    """-n N (or -N) at the front: head's and tail's line count."""
    if args[:1] == ["-n"]:
        if len(args) < 2 or not args[1].isdigit():
            raise Usage("-n needs a number")
        return int(args[1]), args[2:]
    if args and args[0].startswith("-") and args[0][1:].isdigit():
        return int(args[0][1:]), args[1:]
    return 10, args


def cat(args: list[str], out) -> int:
    for data in _chunks(args):
        out.write(data)
    return 0


def echo(args: list[str], out) -> int:
    out.write((" ".join(args) + "\n").encode())
    return 0


def wc(args: list[str], out) -> int:
    flags = [a for a in args if a in ("-l", "-w", "-c")]
    names = [a for a in args if a not in flags]
    lines = words = size = 0
    for line in _lines(names):
        lines += line.endswith(b"\n")
        words += len(line.split())
        size += len(line)
    picked = {"-l": lines, "-w": words, "-c": size}
    counts = [picked[f] for f in flags] or [lines, words, size]
    out.write((" ".join(str(c) for c in counts) + "\n").encode())
    return 0


def grep(args: list[str], out) -> int:
    if not args:
        raise Usage("grep PATTERN [FILE...]")
    try:
        pattern = re.compile(args[0].encode())
    except re.error as exc:
        raise Usage(f"grep: bad pattern: {exc}") from None
    found = 0
    for line in _lines(args[1:]):
        if pattern.search(line):
            out.write(line)
            found += 1
    return 0 if found else 1


def head(args: list[str], out) -> int:
    n, names = _count(args)
    for i, line in enumerate(_lines(names)):
        if i >= n:
            break   # (the writer before us then gets BrokenPipe: the pipeline ends)
        out.write(line)
    return 0


def tail(args: list[str], out) -> int:
    n, names = _count(args)
    for line in deque(_lines(names), maxlen=n) if n else ():
        out.write(line)
    return 0


def sort(args: list[str], out) -> int:
    lines = [line if line.endswith(b"\n") else line + b"\n" for line in _lines(args)]
    out.write(b"".join(sorted(lines)))
    return 0


def uniq(args: list[str], out) -> int:
    last = None
    for line in _lines(args):
        if line.rstrip(b"\n") != last:
            out.write(line)
            last = line.rstrip(b"\n")
    return 0


def tee(args: list[str], out) -> int:
    if len(args) != 1:
        raise Usage("tee FILE")
    with _open(args[0], "wb") as f:
        for data in _chunks([]):
            f.write(data)
            out.write(data)
    return 0


def yes(args: list[str], out) -> int:
    """The line (``y`` by default) for ever: until the reader goes (SIGPIPE ends us)."""
    line = (b" ".join(a.encode() for a in args) or b"y") + b"\n"
    block = line * max(1, 4096 // len(line))
    while True:
        out.write(block)


TOOLS = {f.__name__: f for f in (cat, echo, wc, grep, head, tail, sort, uniq, tee, yes)}


def main(argv: list[str]) -> int:
    name, args = argv[0], argv[1:]
    out = sys.stdout.buffer
    try:
        status = TOOLS[name](args, out)
    except Usage as exc:
        print(f"{name}: {exc}: Usage", file=sys.stderr)
        return 2
    except BrokenPipe:
        raise   # nobody reads our output any more: libipc.program ends us as SIGPIPE would
    except IpcError as exc:
        print(f"{name}: {exc.message or 'failed'}: {exc.code}", file=sys.stderr)
        return 1
    out.flush()
    return status


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
