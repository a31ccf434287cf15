"""Misbehaving programs for the robustness tests: ``python hostile.py KIND [ARGS]``.

    odd                                   a server whose handlers return bad values
    fuzz OUT SEED COUNT ECHO INIT STALE CORRUPT_AT
                                          put COUNT random records on our own "up" ring;
                                          after CORRUPT_AT of them (-1: never) scribble on
                                          its head index (the kernel must kill us)
    deaf OUT SECONDS                      flood kernel calls, never read the replies (until
                                          the ring stayed full 1 s, or SECONDS passed)
    sleeper LATCH N                       read N messages once file LATCH exists (then
                                          write LATCH.read), then never again

Every record goes through the C API (``nk_ring_put``), so the header is whatever
the fuzzer chose: kinds, destinations, flags, ids and body lengths included.
OUT gets a JSON summary when the program ends.
"""

from __future__ import annotations

import json
import os
import random
import struct
import sys
import time
from collections import Counter
from typing import Any

import msgpack
from libipc._nkffi import ffi, lib

from libipc import Server, op
from libipc.message import CALL, CANCEL, ERROR, HEADER_SIZE, NOTIFY, REPLY, SEND
from libipc.runtime import current

HEADER = struct.Struct("<iiHHIQ")   # src, dst, kind, flags, body_len, id (nk_msg_header)
assert HEADER.size == HEADER_SIZE

ECHO_OPS = ["ping", "whoami", "later", "boom", "count", "sends_seen", "notifications",
            "_fault", "nope", ""]
KERNEL_OPS = ["ps", "stats", "whoami", "wait", "exit", "trace", "spawn", "kill", "halt",
              "watch", "set_acl", "host", "frobnicate"]


class Odd(Server):
    """Handlers that return what msgpack cannot carry, or too much of it."""

    name = None

    @op
    def ping(self, ctx, text: str) -> str:
        return text

    @op
    def unpackable(self, ctx) -> Any:
        return {1, 2, 3}   # a set: msgpack has no such type

    @op
    def huge_int(self, ctx) -> int:
        return 1 << 70

    @op
    def big(self, ctx, n: int) -> str:
        return "x" * n

    @op
    def later_unpackable(self, ctx, seconds: float) -> None:
        reply = ctx.defer()
        self.runtime.after(seconds, lambda: reply.reply(object()))


# -- the fuzzer -------------------------------------------------------------------
class Fuzzer:
    def __init__(self, seed: int, echo: int, init: int, stale: int, tmp: str) -> None:
        self.rng = random.Random(seed)
        self.rt = current()
        self.me = self.rt.endpoint
        self.up = self.rt.transport.channel.up
        self.max_payload = self.up.max_payload
        self.dsts = [0, 1, 2, 3, 15, 16, echo, echo, echo, init, self.me, stale, -1, -(1 << 31),
                     (1 << 31) - 1, 4096, 1 << 24]
        self.stats: Counter[str] = Counter()
        self.tmp = tmp

    # -- values ------------------------------------------------------------------
    def value(self, depth: int = 0) -> Any:
        r = self.rng
        choice = r.randrange(14 if depth < 3 else 9)
        if choice == 0:
            return None
        if choice == 1:
            return r.choice([True, False])
        if choice == 2:
            return r.choice([0, 1, -1, 2 ** 63 - 1, -(2 ** 63), 2 ** 64 - 1, r.randrange(1 << 32)])
        if choice == 3:
            return r.random() * r.choice([1, 1e300, -1e-300])
        if choice == 4:
            return "".join(chr(r.randrange(1, 0x3000)) for _ in range(r.randrange(12)))
        if choice == 5:
            return r.randbytes(r.randrange(16))
        if choice == 6:
            return msgpack.ExtType(r.randrange(128), r.randbytes(r.randrange(8)))
        if choice == 7:
            return r.choice(["", "x" * 300, "/", "-m", "KILL", "init", "echo", "*"])
        if choice == 8:
            return r.choice([[], {}, [None], {"": None}])
        if choice in (9, 10):
            return [self.value(depth + 1) for _ in range(r.randrange(4))]
        return {self.key(): self.value(depth + 1) for _ in range(r.randrange(4))}

    def key(self) -> Any:
        r = self.rng
        if r.random() < 0.8:
            return r.choice(["text", "ep", "seconds", "value", "n", "argv", "name", "acl",
                             "status", "on", "path", "signal_name", "slot", "env", "self",
                             "ctx", "k", "caller", "x" * 200])
        return r.choice([None, 0, -1, 1 << 63, 1.5, True, b"k", msgpack.ExtType(1, b"")])

    def args_for(self, op_name: str) -> dict:
        r = self.rng
        if op_name == "trace":   # never a path outside the test's directory
            return {"on": r.choice([True, False, 1, "yes"]),
                    "path": r.choice([None, f"{self.tmp}/fuzz-trace.jsonl",
                                      "/proc/nonexistent/trace", 7])}
        if op_name == "later":
            return {"seconds": r.random() * 0.02, "value": r.randrange(100)}
        return {self.key(): self.value(1) for _ in range(r.randrange(4))}

    def body(self, dst: int) -> bytes:
        r = self.rng
        choice = r.randrange(10)
        try:
            if choice < 5:
                ops = KERNEL_OPS if dst == 0 else ECHO_OPS
                op_name = r.choice(ops) if r.random() < 0.9 else self.value(2)
                args = self.args_for(op_name) if isinstance(op_name, str) else self.value(2)
                return msgpack.packb([op_name, args], use_bin_type=True)
            if choice == 5:
                return msgpack.packb(self.value(), use_bin_type=True)
            if choice == 6:
                return r.randbytes(r.randrange(64))
            if choice == 7:
                return b""
            if choice == 8:
                return r.choice([b"\x91" * 3000 + b"\xc0", b"\xdd\xff\xff\xff\xff",
                                 b"\xc1", b"\x92\xa4ping", b"\x92\xa4ping\x81\x91\x01\x02",
                                 b"\xd4\xff\x00"])
            if r.random() < 0.1:   # oversized: over the kernel's limit, within the ring's
                return msgpack.packb(["ping", {"text": "y" * r.randrange(65_536, 100_000)}])
            return msgpack.packb(["ping", {"text": "z" * r.randrange(100)}])
        except (TypeError, ValueError, OverflowError):
            return b"\xc1"

    # -- records -------------------------------------------------------------------
    def record(self) -> bytes:
        r = self.rng
        choice = r.randrange(20)
        if choice == 0:                      # shorter than a header
            self.stats["short"] += 1
            return r.randbytes(r.randrange(HEADER_SIZE))
        kind = r.choice([CALL, CALL, CALL, SEND, SEND, REPLY, ERROR, NOTIFY, CANCEL,
                         0, 7, 0xFFFF, r.randrange(1 << 16)])
        dst = r.choice(self.dsts) if r.random() < 0.95 else r.randrange(-(1 << 31), 1 << 31)
        flags = r.choice([0, 0, 0, 0, 1, 1, 2, 0x8000, r.randrange(1 << 16)])
        msg_id = r.choice([0, 1, 2, 3, r.randrange(1 << 64), r.randrange(64)])
        if choice == 1:                      # a CALL to the kernel with a junk body
            kind, dst, flags = CALL, 0, 0
        body = self.body(dst) if kind in (CALL, SEND) or r.random() < 0.3 else b""
        if kind in (REPLY, ERROR) and r.random() < 0.5:
            body = msgpack.packb(r.choice([{"code": "X", "message": 1}, {"code": 5}, "ok", None]))
        body_len = len(body)
        if choice == 2:                      # body_len disagrees with the record
            body_len = r.choice([0, len(body) + 1, max(0, len(body) - 1), 0xFFFFFFFF])
        src = r.randrange(-(1 << 31), 1 << 31)   # forged: the kernel overwrites it
        self.stats[f"kind{kind}" if kind <= 7 else "kind_bad"] += 1
        rec = HEADER.pack(src, dst, kind, flags, body_len & 0xFFFFFFFF, msg_id) + body
        return rec[:self.max_payload]

    def put(self, rec: bytes) -> None:
        deadline = time.monotonic() + 10
        while True:
            rc = lib.nk_ring_put(self.up.cdata, rec, len(rec))
            if rc == lib.NK_OK:
                self.stats["put"] += 1
                return
            if rc != lib.NK_ERR_FULL or time.monotonic() > deadline:
                self.stats[f"put_rc{rc}"] += 1
                return
            self.drain()
            self.up.wait_writable(len(rec), 0.05)

    def drain(self) -> None:
        for msg in self.rt.transport.recv_many(0):
            self.stats[f"got{msg.kind}"] += 1

    def corrupt(self) -> None:
        """Write a head index the kernel must refuse, wake it, and wait to be killed."""
        head, tail, data = (ffi.new("uint64_t *") for _ in range(3))
        lib.nk_ring_layout(head, tail, data)
        word = ffi.cast("uint64_t *", ffi.cast("uint8_t *", self.rt.transport.channel._cbuf)
                        + head[0])
        now = word[0]
        word[0] = self.rng.choice([0xDEADBEEFDEADBEEF, now + 3, now + 4 * self.up.capacity])
        self.up.kick()   # no put: it would publish the right head again
        time.sleep(30)

    def run(self, count: int, corrupt_at: int = -1) -> dict:
        for i in range(count):
            if i == corrupt_at:
                self.corrupt()
            self.put(self.record())
            if i % 32 == 0:
                self.drain()
        time.sleep(0.2)
        self.drain()
        return dict(self.stats)


def fuzz(out: str, seed: int, count: int, echo: int, init: int, stale: int,
         corrupt_at: int) -> None:
    result = Fuzzer(seed, echo, init, stale, os.path.dirname(out)).run(count, corrupt_at)
    with open(out, "w") as f:
        json.dump(result, f)


# -- a process that never reads --------------------------------------------------
def deaf(out: str, seconds: float) -> None:
    """Put kernel calls as fast as the ring takes them, without reading a reply, until the
    kernel has not taken one for a second (or ``seconds`` passed); then read them all."""
    rt = current()
    up = rt.transport.channel.up.cdata
    body = msgpack.packb(["whoami", {}])
    rec = HEADER.pack(0, 0, CALL, 0, len(body), 0) + body
    put = full_since = 0
    longest_full = 0.0
    end = time.monotonic() + seconds
    while time.monotonic() < end and longest_full < 1.0:
        rc = lib.nk_ring_put(up, rec, len(rec))
        now = time.monotonic()
        if rc == lib.NK_OK:
            put += 1
            full_since = 0
        elif rc == lib.NK_ERR_FULL:
            full_since = full_since or now
            longest_full = max(longest_full, now - full_since)
            time.sleep(0.001)
        else:
            break
    replies = 0
    deadline = time.monotonic() + 10
    while replies < put and time.monotonic() < deadline:   # now read: nothing was lost
        replies += sum(m.kind == REPLY for m in rt.transport.recv_many(0.2))
    with open(out, "w") as f:
        json.dump({"put": put, "replies": replies, "longest_full": longest_full}, f)


def sleeper(latch: str, n: int) -> None:
    """Wait until file ``latch`` exists, take ``n`` messages off our ring, say so in
    ``latch``.read, then never read again."""
    rt = current()
    deadline = time.monotonic() + 30
    while not os.path.exists(latch) and time.monotonic() < deadline:
        time.sleep(0.002)
    for _ in range(n):
        while rt.transport.recv(1.0) is None:
            pass
    with open(f"{latch}.read", "w") as f:
        f.write(str(n))
    time.sleep(60)


if __name__ == "__main__":
    kind = sys.argv[1]
    if kind == "odd":
        Odd.main([])
    elif kind == "fuzz":
        fuzz(sys.argv[2], *map(int, sys.argv[3:9]))
    elif kind == "deaf":
        deaf(sys.argv[2], float(sys.argv[3]))
    elif kind == "sleeper":
        sleeper(sys.argv[2], int(sys.argv[3]))
