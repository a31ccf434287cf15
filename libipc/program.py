"""Run a user program: ``python -m libipc.program PATH.py [ARGS]``.

What the shell's ``run`` starts.  The program runs as ``__main__`` with its
arguments in ``sys.argv``, and its ``print()`` goes to the console server —
once one is registered; until then (or if the console is gone) to the boot's
log, which is this process's real stdout.  Its exit status is the program's:
``sys.exit(n)``, 1 for an uncaught exception (traceback on the console).
"""

from __future__ import annotations

import io
import runpy
import sys
import traceback

from libipc.client import lookup
from libipc.errors import IpcError
from libipc.runtime import current


class ConsoleWriter(io.TextIOBase):
    """A text stream whose complete lines become console ``write`` calls."""

    def __init__(self, fallback: io.TextIOBase) -> None:
        self._fallback = fallback
        self._partial = ""
        self._console = lookup("console")

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


def route_print_to_console() -> None:
    """Point sys.stdout (print) at the console server."""
    current()
    sys.stdout = ConsoleWriter(sys.stdout)


def main() -> None:
    if len(sys.argv) < 2:
        print("usage: python -m libipc.program PATH.py [ARGS]", file=sys.stderr)
        sys.exit(2)
    route_print_to_console()
    path = sys.argv[1]
    sys.argv = sys.argv[1:]
    status = 0
    try:
        runpy.run_path(path, run_name="__main__")
    except SystemExit as exc:
        status = exc.code if isinstance(exc.code, int) else (0 if exc.code is None else 1)
        if exc.code is not None and not isinstance(exc.code, int):
            print(exc.code)
    except BaseException:
        print(traceback.format_exc(), end="")
        status = 1
    sys.stdout.flush()
    sys.exit(status)


if __name__ == "__main__":
    main()
