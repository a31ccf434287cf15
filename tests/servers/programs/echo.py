"""A test server registered under its kernel name: ``echo.py [crash|slow-start]``.

crash       exit 3 at once (before registering), every time
"""

from __future__ import annotations

import os
import sys

from libipc import Server, op


class Echo(Server):
    def __init__(self) -> None:
        self.name = os.environ["NK_NAME"]
        super().__init__()
        self.held = []

    @op
    def ping(self, ctx, text: str) -> str:
        return text

    @op
    def hold(self, ctx) -> None:
        """Never answer (until this process dies)."""
        self.held.append(ctx.defer())

    @op
    def call_hold(self, ctx, name: str) -> None:
        """Wait in a call to ``name``'s hold (never answered while ``name`` lives)."""
        from libipc import lookup
        lookup(name).hold()

    @op
    def say(self, ctx, text: str) -> None:
        """Write ``text`` to the console (for the interleaving test)."""
        from libipc import lookup
        lookup("console").write(text=text)

    @op
    def register_as(self, ctx, name: str) -> str:
        """Try to register ``name`` (squatting test); returns the error code or "ok"."""
        from libipc import IpcError
        from libipc.naming import register
        try:
            register(name)
        except IpcError as exc:
            return exc.code
        return "ok"


if __name__ == "__main__":
    if sys.argv[1:] == ["crash"]:
        sys.exit(3)
    Echo.main([])
