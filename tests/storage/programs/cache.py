"""Repeated reads come from fs's block cache: block gets no more messages."""

import common

from libipc import kernel, lookup


def block_msgs():
    return next(p["msgs_in"] for p in kernel().ps() if p["name"] == "block")


def main():
    fs = lookup("fs")
    fs.write(path="/home/c", offset=0, data=bytes(range(256)) * 64, create=True)
    fs.sync()
    fs.read(path="/home/c", offset=0, size=4096)
    before = block_msgs()
    for _ in range(50):
        fs.read(path="/home/c", offset=0, size=4096)
        fs.read(path="/home/c", offset=8192, size=4096)
        fs.stat(path="/home/c")
    stats0 = kernel().stats()["messages_routed"]
    for _ in range(20):
        fs.read(path="/home/c", offset=0, size=4096)
    stats1 = kernel().stats()["messages_routed"]
    return {"before": before, "after": block_msgs(), "routed_per_read": (stats1 - stats0) / 20}


common.run(main)
