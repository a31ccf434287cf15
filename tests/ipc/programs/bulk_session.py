"""The session program of the bulk-transfer tests: ``bulk_session.py SCENARIO OUT.json``.

    big     a 64 MiB file written and read back with libipc.open: byte-exact, each
            one fs call (its bytes in a granted region, not in messages), block's
            share a few window calls; an unaligned read and one across a hole
    faults  bad grants for fs's read/write: someone else's, read-only for a read,
            too small, not an int; block SIGKILLed between bulk reads (fs attaches
            its window to the new block server and the read is still exact)
"""

from __future__ import annotations

import hashlib
import json
import sys
import time
import traceback

import libipc
from libipc import IpcError, kernel, shm

K = kernel()
MIB = 1 << 20


def pattern(size: int) -> bytes:
    """Bytes that differ in every 4 KiB block (a block read to the wrong place shows)."""
    return b"".join(i.to_bytes(4, "little") * 1024 for i in range(size // 4096))


COUNTERS = ("msgs_in", "bytes_in", "msgs_out", "bytes_out")


def counts() -> dict[str, list[int]]:
    """name -> [messages in, bytes in, messages out, bytes out] of block and this session."""
    return {row["name"]: [row[c] for c in COUNTERS] for row in K.ps()
            if row["name"] in ("block", "session")}


def delta(before: dict, after: dict, name: str) -> list[int]:
    return [a - b for a, b in zip(after[name], before[name], strict=True)]


def code_of(fn) -> str:
    try:
        fn()
        return "no error"
    except IpcError as exc:
        return exc.code


def big() -> dict:
    data = pattern(64 * MIB)
    out: dict = {}
    before = counts()
    with libipc.open("/big", "wb") as f:
        f.write(data)
    mid = counts()
    with libipc.open("/big", "rb") as f:
        back = f.read()
    after = counts()
    out["exact"] = back == data
    out["sha"] = hashlib.sha256(back).hexdigest() == hashlib.sha256(data).hexdigest()
    out["write"], out["read"] = delta(before, mid, "session"), delta(mid, after, "session")
    out["read_block"] = delta(mid, after, "block")
    with libipc.open("/big", "rb") as f:
        f.seek(12345)
        out["unaligned"] = f.read(5 * MIB + 7) == data[12345:12345 + 5 * MIB + 7]
        out["tell"] = f.tell()
        f.seek(64 * MIB - 1000)
        out["short"] = len(f.read(MIB))          # 1000: the end of the file
    with libipc.open("/holey", "wb") as f:
        f.write(b"a" * 5000)
        f.seek(3 * MIB)
        f.write(b"b" * 5000)
    with libipc.open("/holey", "rb") as f:
        out["holey"] = f.read() == b"a" * 5000 + bytes(3 * MIB - 5000) + b"b" * 5000
    libipc.lookup("fs").sync()
    return out


def faults() -> dict:
    fs = libipc.lookup("fs")
    with libipc.open("/f", "wb") as f:
        f.write(pattern(2 * MIB))
    out: dict = {}
    mine = shm.create(MIB)
    self_grant = mine.grant(K.whoami()["ep"], writable=True)   # for me, not for fs
    out["not_for_fs"] = code_of(lambda: fs.read(path="/f", offset=0, size=MIB,
                                                grant=self_grant))
    ro = mine.grant(fs.endpoint)
    out["read_only"] = code_of(lambda: fs.read(path="/f", offset=0, size=MIB, grant=ro))
    rw = mine.grant(fs.endpoint, writable=True)
    out["too_big"] = code_of(lambda: fs.read(path="/f", offset=0, size=2 * MIB, grant=rw))
    out["not_int"] = code_of(lambda: fs.read(path="/f", offset=0, size=MIB, grant="x"))
    out["forged"] = code_of(lambda: fs.write(path="/f", offset=0, size=10, grant=12345))
    out["after"] = fs.read(path="/f", offset=0, size=MIB, grant=rw)
    out["in_place"] = bytes(mine.buf[:MIB]) == pattern(2 * MIB)[:MIB]
    mine.close()
    block = libipc.lookup("block").endpoint
    K.kill(ep=block, signal_name="KILL")
    wait_until(lambda: _back("block", block), "block restarted")
    with libipc.open("/f", "rb") as f:
        out["after_block_restart"] = f.read() == pattern(2 * MIB)
    return out


def _back(name: str, old: int) -> bool:
    from libipc.naming import forget
    forget(name)
    try:
        ep = libipc.lookup(name).endpoint
        return ep != old and K.whoami(ep=ep)["state"] == "running"
    except IpcError:
        return False


def wait_until(cond, what: str, timeout: float = 20.0) -> None:
    deadline = time.monotonic() + timeout
    while not cond():
        if time.monotonic() > deadline:
            raise TimeoutError(f"waited {timeout} s for {what}")
        time.sleep(0.02)


SCENARIOS = {f.__name__: f for f in (big, faults)}

if __name__ == "__main__":
    name, out = sys.argv[1], sys.argv[2]
    try:
        result = SCENARIOS[name]()
    except BaseException as exc:   # noqa: BLE001
        result = {"session_error": repr(exc), "traceback": traceback.format_exc()}
    with open(out, "w") as f:
        json.dump(result, f)
