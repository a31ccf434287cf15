"""A user process that maps a grant: ``shm_child.py MODE TOKEN``.  It reads the grant
id from the pipe read end TOKEN (its endpoint had to exist before the grant could
name it); its exit status says what it saw (the rest it leaves in the region).

    upper      map (writable), upper-case the region's bytes in place      → 0
    readonly   map, try to write                                           → 3 refused
    map        map, then exit                                              → 0
    hold       map, then sleep until killed (it holds the region)
    watch      map, wait until byte 0 is b"!" (written after a revoke)      → 0
    hog        (no grant) shm_create 1 GiB regions until refused → how many it got
An IpcError from map → 10 + the code's index in CODES.
"""

from __future__ import annotations

import sys
import time

import libipc.pipe
from libipc import IpcError, kernel, shm
from libipc.pipe import PipeEnd

libipc.pipe.MAP_REGIONS = False   # the grant comes in messages: shm_held counts the test's

CODES = ["PermissionDenied", "InvalidArgument", "WouldBlock", "TooManyCalls"]


def main() -> int:
    mode, pipe = sys.argv[1], PipeEnd.from_token(int(sys.argv[2]), writing=False)
    if mode == "hog":   # raw calls: the descriptors are never mapped (nor touched)
        got = 0
        while got < 100:
            try:
                kernel().shm_create(size=1 << 30)
            except IpcError:
                return got
            got += 1
        return got
    line = b""
    while not line.endswith(b"\n"):
        data = pipe.read(64)
        if not data:
            return 9
        line += data
    try:
        region = shm.map(int(line))
    except IpcError as exc:
        return 10 + (CODES.index(exc.code) if exc.code in CODES else 9)
    if mode == "upper":
        region.buf[:] = bytes(region.buf).upper()
    elif mode == "readonly":
        try:
            region.buf[0] = 1
        except TypeError:
            return 3
        return 4
    elif mode == "hold":
        while True:
            time.sleep(1)
    elif mode == "watch":
        region.buf  # noqa: B018
        deadline = time.monotonic() + 20
        while region.buf[0:1] != b"!":
            if time.monotonic() > deadline:
                return 5
            time.sleep(0.005)
    region.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
