"""Boot 2 of the persistence test: read back what boot 1 wrote."""

import hashlib

import common

from libipc import File, lookup


def main():
    with File("/home/big.bin", "rb") as f:
        data = f.read()
    with File("/home/note.txt") as f:
        note = f.read()
    return {"sha": hashlib.sha256(data).hexdigest(), "size": len(data), "note": note,
            "home": [e["name"] for e in lookup("fs").readdir(path="/home")]}


common.run(main)
