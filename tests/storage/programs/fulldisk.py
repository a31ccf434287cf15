"""Fill the disk: NoSpace, earlier files intact, space back after unlink."""

import contextlib

import common

from libipc import File, IpcError, NoSpace, lookup


def main():
    fs = lookup("fs")
    keep = bytes(range(256)) * 40
    fs.write(path="/home/keep", offset=0, data=keep, create=True)
    free0 = fs.statfs()["free_blocks"]
    chunk = b"\xab" * 60000
    written, error = 0, None
    with File("/home/fill", "wb") as f:
        try:
            for _ in range(10000):
                f.write(chunk)
                written += len(chunk)
        except NoSpace as e:
            error = e.code
    full = fs.statfs()["free_blocks"]
    second = None
    try:
        fs.write(path="/home/more", offset=0, data=b"y" * 9000, create=True)
    except NoSpace as e:
        second = e.code
    intact = fs.read(path="/home/keep", size=len(keep)) == keep
    size = fs.stat(path="/home/fill")["size"]
    head = fs.read(path="/home/fill", offset=0, size=60000) == chunk
    fs.unlink(path="/home/fill")
    with contextlib.suppress(IpcError):
        fs.unlink(path="/home/more")
    after = fs.statfs()["free_blocks"]
    with File("/home/again", "wb") as f:
        f.write(b"z" * 100000)
    fs.sync()
    return {"error": error, "second": second, "intact": intact, "free0": free0,
            "full": full, "after": after, "written": written, "size": size, "head": head,
            "again": fs.stat(path="/home/again")["size"]}


common.run(main)
