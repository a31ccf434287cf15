"""A user process at one end of a pipe: ``pipe_child.py MODE TOKEN [ARGS]``.

    write N SEED      write N pseudo-random bytes (64 KiB writes), then exit
    write_messages N SEED   the same through read/write calls (not the pipe's region)
    forever           write 4 KiB records until killed (or BrokenPipe: exit 32)
    records BYTE N    write N records of PIPE_BUF bytes, each all BYTE
    read              wait in one read (the test kills it there)
    readbig           one read of as much as a reply carries, then sleep (killed)
    exit              exit at once (the end dies with it)
    steal INFO        try to map the region by INFO, another process's grant (JSON), then
                      map it by a grant of its own and write what happened (JSON) into
                      the pipe
    many N            make N pipes one after another, each used through its region, and
                      exit 0 (1: an end that could not map its region)
"""

from __future__ import annotations

import random
import sys

from libipc import BrokenPipe
from libipc.pipe import PipeEnd

PIPE_BUF = 4096


def stream(n: int, seed: int, chunk: int = 65536):
    rng = random.Random(seed)
    while n > 0:
        k = min(chunk, n)
        yield rng.randbytes(k)
        n -= k


if __name__ == "__main__":
    mode, token = sys.argv[1], int(sys.argv[2])
    if mode == "write_messages":
        import libipc.pipe
        libipc.pipe.MAP_REGIONS, mode = False, "write"
    if mode == "write":
        w = PipeEnd.from_token(token, writing=True)
        for block in stream(int(sys.argv[3]), int(sys.argv[4])):
            w.write(block)
        w.close()
    elif mode == "forever":
        w = PipeEnd.from_token(token, writing=True)
        try:
            while True:
                w.write(b"f" * PIPE_BUF)
        except BrokenPipe:
            sys.exit(32)
    elif mode == "records":
        w = PipeEnd.from_token(token, writing=True)
        byte, n = int(sys.argv[3]), int(sys.argv[4])
        for _ in range(n):
            assert PIPE_BUF == w.write(bytes([byte]) * PIPE_BUF)
        w.close()
    elif mode == "read":
        PipeEnd.from_token(token, writing=False).read(100)
    elif mode == "readbig":
        from libipc.pipe import MAX_IO
        PipeEnd.from_token(token, writing=False).read(MAX_IO)
        import time
        time.sleep(60)
    elif mode == "exit":
        pass
    elif mode == "steal":
        import json

        from libipc import IpcError, shm
        from libipc.pipe_region import Region
        info = json.loads(sys.argv[3])
        try:
            shm.map(info["grant"])
            stolen = "mapped"
        except IpcError as exc:
            stolen = exc.code
        w = PipeEnd.from_token(token, writing=True)
        mine = w._control.region(end=token)   # (what the end asks at first use)
        result = {"stolen": stolen, "stolen_region": Region.map(info) is not None,
                  "own_grant": mine["grant"] != info["grant"],
                  "own_mapped": w._path() is not None}
        w.write(json.dumps(result).encode())
        w.close()
    elif mode == "many":
        from libipc.pipe import pipe
        for _ in range(int(sys.argv[3])):
            r, w = pipe()
            w.write(b"m" * 100)
            ok = r._path() is not None and b"m" * 100 == r.read(100)
            w.close()
            r.close()
            if not ok:
                sys.exit(1)
