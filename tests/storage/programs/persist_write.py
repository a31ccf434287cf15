"""Boot 1 of the persistence test: write files (no sync), let the halt sync them."""

import hashlib
import os

import common

from libipc import File, lookup


def main():
    data = os.urandom(200 * 1024 + 123)
    with File("/home/big.bin", "wb") as f:
        f.write(data)
    with File("/home/note.txt", "w") as f:
        f.write("persistent ✓\n")
    lookup("fs").mkdir(path="/home/dir")
    return {"sha": hashlib.sha256(data).hexdigest()}


common.run(main)
