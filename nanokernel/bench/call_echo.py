"""The server of `nanokernel bench call`: answers `ping` at once and counts SENDs.

The bench init runs it twice in one boot: as a process
(`spawn(argv=["-m", "nanokernel.bench.call_echo"])`) and hosted inside the kernel
(`host(module="nanokernel.bench.call_echo")`) — the same class both ways.
The bench boot has no naming server, so it does not register a name; the
init calls it by the endpoint spawn/host returned.
"""

from __future__ import annotations

import gc

from libipc import Server, op


class CallEcho(Server):
    name = "echo"
    register_name = False   # no naming server in the bench boot: called by endpoint

    def __init__(self) -> None:
        super().__init__()
        self.sends = 0

    @op
    def ping(self, ctx, text: str) -> str:
        """The null call: the argument comes back."""
        return text

    @op
    def count(self, ctx, text: str) -> None:
        """The target of one-way SENDs: count them."""
        self.sends += 1

    @op
    def counted(self, ctx, reset: bool = False) -> int:
        """SENDs counted so far (then start again from 0 when ``reset``)."""
        seen = self.sends
        if reset:
            self.sends = 0
        return seen


if __name__ == "__main__":
    gc.disable()   # as the peers' children do while they are timed
    CallEcho.main()
