"""Servers the kernel tests spawn: ``python testservers.py KIND [ARGS]``."""

from __future__ import annotations

import os
import sys
import time
from pathlib import Path

from libipc import IpcError, Proxy, Server, op
from libipc.runtime import current


class Echo(Server):
    """Answers at once, late, never, or by calling another server."""

    name = None

    def __init__(self) -> None:
        super().__init__()
        self.notified: list[tuple[int, int]] = []
        self.sends = 0
        self.held = []

    @op
    def ping(self, ctx, text: str) -> str:
        return text

    @op
    def whoami(self, ctx) -> int:
        return ctx.sender.endpoint

    @op
    def later(self, ctx, seconds: float, value: int) -> None:
        """A deferred reply, sent by a timer."""
        reply = ctx.defer()
        self.runtime.after(seconds, lambda: reply.reply(value))

    @op
    def never(self, ctx) -> None:
        """Hold the call forever (the caller waits until it gives up or we die)."""
        self.held.append(ctx.defer())

    @op
    def block_until(self, ctx, path: str, timeout: float = 20.0) -> None:
        """Read no message until file ``path`` exists (a latch the test opens when it
        is ready); ``path``.blocked, made first, says this server stopped reading."""
        Path(f"{path}.blocked").touch()
        deadline = time.monotonic() + timeout
        while not os.path.exists(path) and time.monotonic() < deadline:
            time.sleep(0.002)

    @op
    def block(self, ctx, seconds: float) -> float:
        """Do not read messages for a while (fills our ring)."""
        time.sleep(seconds)
        return seconds

    @op
    def relay(self, ctx, ep: int, text: str) -> str:
        """An outgoing call from inside a handler."""
        return "relayed:" + Proxy(ep).ping(text=text)

    @op
    def relay_back(self, ctx, ep: int) -> str:
        """Call ``ep``'s relay back to us: closes a cycle."""
        try:
            return Proxy(ep).relay(ep=self.runtime.endpoint, text="x")
        except IpcError as exc:
            return f"error:{exc.code}"

    @op
    def boom(self, ctx) -> None:
        raise RuntimeError("a handler bug")

    @op
    def count(self, ctx, text: str = "") -> None:
        self.sends += 1

    @op
    def sends_seen(self, ctx) -> int:
        return self.sends

    @op
    def notifications(self, ctx) -> list:
        return self.notified

    def on_notify(self, src: int, bits: int) -> None:
        self.notified.append([src, bits])


class Corrupter:
    """Scribble over our own outgoing ring's indices, then send: the kernel must kill us."""

    @staticmethod
    def main() -> None:
        from libipc._nkffi import ffi, lib
        rt = current()
        head, tail, data = (ffi.new("uint64_t *") for _ in range(3))
        lib.nk_ring_layout(head, tail, data)
        channel = rt.transport.channel
        base = ffi.cast("uint8_t *", channel._cbuf)   # the "up" ring starts at offset 0
        ffi.cast("uint64_t *", base + head[0])[0] = 0xDEADBEEFDEADBEEF
        rt.transport.channel.up.kick()   # wake the kernel; no put (it would repair the head)
        time.sleep(30)


if __name__ == "__main__":
    kind = sys.argv[1]
    if kind == "echo":
        Echo.main([])
    elif kind == "corrupter":
        Corrupter.main()
