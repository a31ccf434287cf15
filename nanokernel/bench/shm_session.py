"""The session program of `bench ipc`'s shm-bulk: ``shm_session.py OUT.json NBYTES``.

Between itself and a process it spawns (this file again, as ``child``): NBYTES are in
a region the session created, it grants it; the child maps it — the bytes are then in
its memory, uncopied — checks a byte of every page, and says so on a pipe.  Timed to
the answer from the bytes being in the session's memory: in the region already
(in-place, the row's figure) or in a buffer they are first copied from (copy-in).
The child is spawned, and both pipes used once, before the clock starts.
"""

from __future__ import annotations

import json
import sys
import time

from libipc import kernel, shm
from libipc.pipe import PipeEnd, pipe

ROUNDS = 3
PAGE = 4096
EXPECTED = bytes(1 << 20)   # the payload's byte at each page boundary: range(256)'s first


def session(out: str, n: int) -> None:
    payload = bytes(range(256)) * (n // 256)
    seconds: dict[str, list[float]] = {"in-place": [], "copy-in": []}
    for _ in range(ROUNDS):
        for variant in seconds:
            seconds[variant].append(one_round(payload, n, copy_in=variant == "copy-in"))
    with open(out, "w") as f:
        json.dump({"bytes": n, "seconds": min(seconds["in-place"]),
                   "copy_in_seconds": min(seconds["copy-in"])}, f)


def one_round(payload: bytes, n: int, copy_in: bool) -> float:
    """Seconds from the bytes being in the producer's memory to the child's answer that
    it has every page of them.  in-place: the producer wrote them into the region it
    will grant (what shared memory is for: as the pipe's writer has its bytes in its
    buffer before the clock); copy-in: it copies them in from a buffer of its own
    inside the clock."""
    (to_child_r, to_child_w), (back_r, back_w) = pipe(), pipe()
    child = kernel().spawn(argv=[__file__, "child", str(to_child_r.token),
                                 str(back_w.token)], name="shm-bench",
                           acl=["@public", "naming"])["ep"]
    to_child_r.give(child)
    back_w.give(child)
    region = shm.create(n)
    # Both pipes used once each way first: an end's first use looks the pipe server
    # up and maps the pipe's region (about 10 ms in a fresh process), not ours to time.
    to_child_w.write(b"w")
    if back_r.read(64) != b"ready":
        raise RuntimeError("the child did not start")
    if not copy_in:
        region.buf[:] = payload
    t0 = time.perf_counter()
    if copy_in:
        region.buf[:] = payload
    to_child_w.write(f"{region.grant(child)}\n".encode())
    answer = back_r.read(64)
    took = time.perf_counter() - t0
    region.close()
    if not answer.startswith(b"ok"):
        raise RuntimeError(f"the child said {answer!r}")
    return took


def child(read_token: int, write_token: int) -> None:
    r, w = PipeEnd.from_token(read_token, False), PipeEnd.from_token(write_token, True)
    r.read(1)            # the session's warm-up byte
    w.write(b"ready")
    shm.create(1).close()   # (and the descriptor link's first use)
    line = b""
    while not line.endswith(b"\n"):
        line += r.read(64)
    region = shm.map(int(line))
    # The bytes are in this process's memory now, where they were written: no copy
    # out (what shared memory is for).  One byte of each page, read and checked,
    # shows every page is there.
    pages = bytes(region.buf[::PAGE])
    w.write(b"ok %d" % len(pages) if pages == EXPECTED[:len(pages)] else b"bad")


if __name__ == "__main__":
    if sys.argv[1] == "child":
        child(int(sys.argv[2]), int(sys.argv[3]))
    else:
        session(sys.argv[1], int(sys.argv[2]))
