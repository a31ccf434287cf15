"""The session program of `bench ipc`'s fs-read-64m: ``fsbulk_session.py OUT SIZE ROUNDS``.

Writes a SIZE-byte file to the nanokernel fs (one write by grant) and syncs it,
then reads it whole with ``libipc.open(path, "rb").read()`` ROUNDS + 1 times (the
first warms the host's page cache under the image), checking every byte of the
last, and reports the best time.
"""

from __future__ import annotations

import json
import sys
import time

import libipc
from nanokernel.bench.fsbulk import pattern

PATH = "/bench-64m"


def session(out: str, size: int, rounds: int) -> None:
    data = pattern(size)
    with libipc.open(PATH, "wb") as f:
        f.write(data)
        f.sync()
    seconds, back = [], b""
    for _ in range(rounds + 1):
        back = b""
        t0 = time.perf_counter()
        with libipc.open(PATH, "rb") as f:
            back = f.read()
        seconds.append(time.perf_counter() - t0)
    if back != data:
        raise RuntimeError(f"read back {len(back)} bytes, not the {size} written")
    with open(out, "w") as f:
        json.dump({"bytes": size, "seconds": min(seconds[1:])}, f)


if __name__ == "__main__":
    session(sys.argv[1], int(sys.argv[2]), int(sys.argv[3]))
