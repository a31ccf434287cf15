"""Per-message Python cost of libipc's hot paths, in one process (no kernel).

    .venv/bin/python tests/harness/hotpath_cost.py [N]

A fake kernel side holds the other end of a process's channel:

* server: it puts a CALL ``ping`` in the down ring; ``Runtime.next_event`` +
  ``Server.handle`` serve it; the kernel side takes the REPLY off the up ring;
* client: it puts the REPLY (with the call id to come) in the down ring first;
  ``Proxy(ep).ping(text=...)`` (runtime found by ``current()``) sends the CALL,
  finds the reply already there and decodes it; the kernel side drains the CALL.

Prints the best of several runs, in µs per message.  Not a test: nothing is asserted
about speed (the machine is shared).
"""

from __future__ import annotations

import gc
import os
import sys
import time

from libipc._nkffi import ffi, lib

import libipc.runtime as runtime_mod
from libipc.channel import Channel
from libipc.client import Proxy
from libipc.message import CALL, REPLY, pack
from libipc.port import Port
from libipc.runtime import Runtime
from nanokernel.bench.call_echo import CallEcho

EP, SRV = 5, 7
TEXT = "x" * 64


def main() -> None:
    n = int(sys.argv[1]) if len(sys.argv) > 1 else 50_000
    rounds = 7
    ch = Channel.create(1 << 18)
    port = Port(Channel.attach(os.dup(ch.fd)))
    rt = Runtime(port, EP, "harness")
    kdown, kup = ch.send.cdata, ch.recv.cdata      # the kernel's ends
    out = ffi.new("uint8_t[]", 70000)
    hdr = ffi.new("nk_msg_header *")
    put, get = lib.nk_msg_put, lib.nk_msg_get

    # -- server side --------------------------------------------------------
    srv = CallEcho()
    srv.runtime = rt
    call_body = pack(["ping", {"text": TEXT}])
    next_event, handle = rt.next_event, srv.handle

    def server(k: int) -> None:
        for i in range(k):
            put(kdown, SRV, CALL, 0, i + 1, call_body, len(call_body))
            handle(next_event(0))
            if get(kup, hdr, out, 70000) <= 0:
                raise AssertionError("no reply")

    # -- client side --------------------------------------------------------
    runtime_mod._current = rt          # Proxy(ep) finds the runtime through current()
    proxy = Proxy(SRV)
    reply_body = pack(TEXT)
    ids = [0]

    def client(k: int) -> None:
        call_id = ids[0]
        for _ in range(k):
            call_id += 1
            put(kdown, SRV, REPLY, 0, call_id, reply_body, len(reply_body))
            if proxy.ping(text=TEXT) != TEXT:
                raise AssertionError("wrong reply")
            if get(kup, hdr, out, 70000) <= 0:
                raise AssertionError("no call")
        ids[0] = call_id

    for name, fn in (("server", server), ("client", client)):
        fn(5000)   # warm-up
        best = float("inf")
        gc.disable()
        try:
            for _ in range(rounds):
                t = time.perf_counter()
                fn(n)
                best = min(best, (time.perf_counter() - t) / n * 1e6)
        finally:
            gc.enable()
        print(f"{name} side: {best:.2f} µs per message (best of {rounds} × {n})")


if __name__ == "__main__":
    main()
