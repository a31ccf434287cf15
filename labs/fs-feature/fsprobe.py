"""fsprobe — the fs-feature grader's user program: `run fsprobe.py CMD ARGS...`.

grade.py copies it into each test's scratch directory; each command prints one line.

    write PATH SIZE SEED       a file of SIZE bytes of seeded random data
    check PATH SIZE SEED       is PATH exactly those bytes?
    poke PATH OFFSET TOKEN     TOKEN written at OFFSET (a sparse write)
    peek PATH OFFSET TOKEN     TOKEN at OFFSET, zeros just before it
    free                       the free blocks fs counts
An fs error prints "error CLASS (message)" and exits with 1.
"""

import hashlib
import random
import sys

import libipc
from libipc import IpcError


def data(size: int, seed: str) -> bytes:
    return random.Random(seed).randbytes(size)


def main(cmd: str, *args: str) -> str:
    fs = libipc.lookup("fs")
    if cmd == "write":
        path, size, seed = args[0], int(args[1]), args[2]
        with libipc.open(path, "wb") as f:
            n = f.write(data(size, seed))
        return f"wrote {path} {n}"
    if cmd == "check":
        path, size, seed = args[0], int(args[1]), args[2]
        with libipc.open(path, "rb") as f:
            back = f.read()
        same = hashlib.sha256(back).digest() == hashlib.sha256(data(size, seed)).digest()
        return f"{'same' if same else 'differs'} {path} {len(back)}"
    if cmd == "poke":
        path, offset, token = args[0], int(args[1]), args[2].encode()
        n = fs.write(path=path, offset=offset, data=token, create=True)
        return f"poked {path} {offset} {n}"
    if cmd == "peek":
        path, offset, token = args[0], int(args[1]), args[2].encode()
        before = min(offset, 4096)
        got = fs.read(path=path, offset=offset - before, size=before + len(token))
        st = fs.stat(path=path)
        hole = "zeros" if got[:before] == bytes(before) else "junk"
        found = "found" if got[before:] == token else "missing"
        return f"peek {path} {found} {hole} size {st['size']} blocks {st['blocks']}"
    if cmd == "free":
        return f"free {fs.statfs()['free_blocks']}"
    raise SystemExit(f"fsprobe: unknown command {cmd}")


if __name__ == "__main__":
    try:
        print(main(*sys.argv[1:]))
    except IpcError as exc:
        print(f"error {type(exc).__name__} ({exc})")
        sys.exit(1)
