"""The server of `bench net`, on node a: what node b's session calls through the bridges.

    null()      -> None   the null call (bridge-call-rtt): no work, an empty answer
    sink(data)            a SEND counted and dropped (bridge-throughput)
    count()     -> int    SENDs taken since the last reset
    reset()     -> None

Booted ``public = true`` so that the packaged ``[remote]`` rule (``"*" = ["@public"]``)
lets node b call it, as it would any public server.
"""

from __future__ import annotations

from libipc import Server, op


class NetBench(Server):
    name = "netbench"

    def __init__(self) -> None:
        super().__init__()
        self.n = 0

    @op
    def null(self, ctx) -> None:
        return None

    @op
    def sink(self, ctx, data: bytes = b"") -> None:
        self.n += 1

    @op
    def count(self, ctx) -> int:
        return self.n

    @op
    def reset(self, ctx) -> None:
        self.n = 0


if __name__ == "__main__":
    NetBench.main()
