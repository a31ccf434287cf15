"""Server.serve_forever over a real channel in one process: a batch of SENDs that
one wait brings is served in order, past the per-look limit, and a stop request
made by a handler ends the loop after that message."""

from __future__ import annotations

import os

from libipc._nkffi import lib

from libipc import server as server_mod
from libipc.channel import Channel
from libipc.message import SEND, pack
from libipc.port import Port
from libipc.runtime import Runtime
from libipc.server import Server, op

N = server_mod.QUEUED_BATCH * 2 + 7   # more than two batches


class Counter(Server):
    name = "counter"
    register_name = False

    def __init__(self) -> None:
        super().__init__()
        self.seen: list[int] = []

    @op
    def count(self, ctx, i: int) -> None:
        self.seen.append(i)
        if i == N - 1:
            self.request_stop()


def test_a_batch_is_served_in_order_and_a_stop_ends_it():
    kernel_side = Channel.create(1 << 20)
    rt = Runtime(Port(Channel.attach(os.dup(kernel_side.fd))), 5, "counter")
    srv = Counter()
    srv.runtime = rt
    down = kernel_side.send.cdata   # what the kernel writes to the process
    for i in range(N + 5):          # five more after the one that stops the loop
        body = pack(["count", {"i": i}])
        assert 0 == lib.nk_msg_put(down, 5, SEND, 0, 0, body, len(body))
    srv.serve_forever()
    assert list(range(N)) == srv.seen
    left = [rt.next_queued() for _ in range(5)]
    assert all(m is not None for m in left)   # not lost: still queued for a next loop
