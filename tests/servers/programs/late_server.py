"""A server for tests/servers/test_naming_gone.py: registers as "late" and says hi."""

from __future__ import annotations

from libipc import Server, op


class Late(Server):
    name = "late"

    @op
    def hello(self, ctx) -> str:
        return "hi"


if __name__ == "__main__":
    Late.main()
