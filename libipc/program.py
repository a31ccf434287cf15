"""Run a user program: ``python -m libipc.program PATH.py [ARGS]``.

What the shell's ``run`` starts.  The program runs as ``__main__`` with its
arguments in ``sys.argv``, and its ``print()`` goes to the console server —
once one is registered; until then (or if the console is gone) to the boot's
log, which is this process's real stdout.  Its exit status is the program's:
``sys.exit(n)``, 1 for an uncaught exception (traceback on the console).

Standard streams (what a pipeline stage is given, by the shell):
    NK_STDIN=TOKEN      sys.stdin reads that pipe end (``input()`` too)
    NK_STDIN_FILE=PATH  sys.stdin reads that nanokernel file or FIFO (``< FILE``)
    NK_STDOUT=TOKEN     sys.stdout (``print``) writes that pipe end
    NK_STDOUT_FILE=PATH sys.stdout writes that file (``> FILE``; NK_STDOUT_APPEND=1: ``>>``)
Without them stdin is empty and stdout is the console.  ``sys.stdin.buffer`` and
``sys.stdout.buffer`` move bytes exactly.  Writing to a pipe nobody reads any
more ends the program with status 141 (128 + SIGPIPE), quietly, as the default
action of SIGPIPE does.
"""

from __future__ import annotations

import codecs
import io
import os
import runpy
import sys
import traceback

from libipc import jsonlog
from libipc.client import lookup
from libipc.errors import BrokenPipe, IpcError
from libipc.file import File
from libipc.file import open as open_path
from libipc.pipe import MAX_IO, PipeEnd
from libipc.runtime import current


class ConsoleWriter(io.TextIOBase):
    """A text stream whose complete lines become console ``write`` calls."""

    def __init__(self, fallback: io.TextIOBase) -> None:
        self._fallback = fallback
        self._partial = ""
        self._console = lookup("console")
        self.buffer = _ConsoleBytes(self)   # sys.stdout.buffer: bytes, decoded as UTF-8

    def writable(self) -> bool:
        return True

    def write(self, text: str) -> int:
        self._partial += text
        if "\n" in self._partial:
            lines, _, self._partial = self._partial.rpartition("\n")
            self._emit(lines + "\n")
        return len(text)

    def flush(self) -> None:
        if self._partial:
            text, self._partial = self._partial, ""
            self._emit(text)

    def _emit(self, text: str) -> None:
        try:
            self._console.write(text=text)
        except IpcError:
            self._fallback.write(text)
            self._fallback.flush()


class _ConsoleBytes(io.RawIOBase):
    """The binary face of a ConsoleWriter (a UTF-8 sequence may span two writes)."""

    def __init__(self, text: ConsoleWriter) -> None:
        super().__init__()
        self._text = text
        self._decoder = codecs.getincrementaldecoder("utf-8")("replace")

    def writable(self) -> bool:
        return True

    def write(self, b) -> int:
        self._text.write(self._decoder.decode(bytes(b)))
        return len(b)

    def flush(self) -> None:
        self._text.flush()


SIGPIPE_STATUS = 128 + 13


def standard_streams() -> None:
    """sys.stdin / sys.stdout / sys.stderr as the environment says (see above)."""
    # The log stays the boot's log file (fd 1, as the kernel gave it), whatever sys.stdout
    # becomes below: jsonlog follows sys.stdout when configured with it, and a program's
    # log lines would land on the console, or in the pipe it writes to.
    jsonlog.configure(open(1, "w", buffering=1, encoding="utf-8", closefd=False))  # noqa: SIM115
    env = os.environ
    console = ConsoleWriter(sys.stdout)
    sys.stderr = ConsoleWriter(sys.stderr)
    if "NK_STDIN" in env:
        sys.stdin = _text(io.BufferedReader(PipeEnd.from_token(env["NK_STDIN"], False)))
    elif "NK_STDIN_FILE" in env:
        sys.stdin = _text(_opened(env["NK_STDIN_FILE"], "rb"))
    else:
        sys.stdin = _text(io.BytesIO())
    if "NK_STDOUT" in env:
        sys.stdout = _text(io.BufferedWriter(PipeEnd.from_token(env["NK_STDOUT"], True),
                                             buffer_size=MAX_IO))
    elif "NK_STDOUT_FILE" in env:
        mode = "ab" if env.get("NK_STDOUT_APPEND") == "1" else "wb"
        sys.stdout = _text(_opened(env["NK_STDOUT_FILE"], mode))
    else:
        sys.stdout = console


def _text(binary) -> io.TextIOWrapper:
    return io.TextIOWrapper(binary, encoding="utf-8", errors="replace", newline="\n")


def _opened(path: str, mode: str):
    """``libipc.open(path, mode)`` as a buffered binary stream: a File's, or a FIFO's
    (libipc.open gives that one buffered already)."""
    f = open_path(path, mode)
    if not isinstance(f, File):
        return f
    return io.BufferedReader(_FileRaw(f)) if "r" in mode else io.BufferedWriter(_FileRaw(f))


class _FileRaw(io.RawIOBase):
    """A libipc File as a raw stream (for io's buffered and text layers)."""

    def __init__(self, f: File) -> None:
        super().__init__()
        self._f = f

    def readable(self) -> bool:
        return self._f.readable()

    def writable(self) -> bool:
        return self._f.writable()

    def readinto(self, b) -> int:
        data = self._f.read(len(b))
        b[:len(data)] = data
        return len(data)

    def write(self, b) -> int:
        return self._f.write(bytes(b))


def main() -> None:
    if len(sys.argv) < 2:
        print("usage: python -m libipc.program PATH.py [ARGS]", file=sys.stderr)
        sys.exit(2)
    current()
    try:
        standard_streams()
    except IpcError as exc:   # `< FILE` that is not there, a pipe end already gone
        print(f"{sys.argv[1]}: {exc.message or 'cannot open'}: {exc.code}", file=sys.stderr)
        sys.stderr.flush()
        sys.exit(1)
    path = sys.argv[1]
    sys.argv = sys.argv[1:]
    status = 0
    try:
        runpy.run_path(path, run_name="__main__")
    except SystemExit as exc:
        status = exc.code if isinstance(exc.code, int) else (0 if exc.code is None else 1)
        if exc.code is not None and not isinstance(exc.code, int):
            print(exc.code, file=sys.stderr)   # as Python does: not into a pipe's reader
    except BrokenPipe:
        status = SIGPIPE_STATUS
        _discard_rest(sys.stdout)
    except BaseException:
        print(traceback.format_exc(), end="", file=sys.stderr)
        status = 1
    status = _close_streams(status)
    sys.exit(status)


def _close_streams(status: int) -> int:
    """Flush and close what the program wrote to (a pipe's reader then sees end of
    file at once, not when this process is gone)."""
    for stream in (sys.stdout, sys.stderr):
        try:
            stream.flush()
            if stream is sys.stdout and not isinstance(stream, ConsoleWriter):
                stream.close()
        except BrokenPipe:
            status = status or SIGPIPE_STATUS
            _discard_rest(stream)
        except (IpcError, ValueError, OSError):
            pass
    return status


def _discard_rest(stream) -> None:
    """Nobody reads this pipe any more: what is still buffered goes nowhere (else the
    interpreter's last flush at exit would report the broken pipe again)."""
    raw = getattr(getattr(stream, "buffer", None), "raw", None)
    if isinstance(raw, PipeEnd):
        raw.discard = True


if __name__ == "__main__":
    main()
