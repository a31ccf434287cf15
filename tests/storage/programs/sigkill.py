"""Kill fs (SIGKILL) between operations; synced files must survive each restart."""

import hashlib
import os
import sys
import time

import common

from libipc import IpcError, kernel, lookup
from libipc.naming import NAMING
from libipc.runtime import current
from servers.fs.layout import BSIZE


def fs_endpoint():
    return current().call(NAMING, "lookup", {"name": "fs"})


def kill_fs_and_wait():
    old = fs_endpoint()
    kernel().kill(ep=old, signal_name="KILL")
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        try:
            ep = fs_endpoint()
            if ep != old:
                lookup("fs").statfs()
                return ep
        except IpcError:
            pass
        time.sleep(0.02)
    raise RuntimeError("fs did not come back")


def wait_committed(block: bytes, timeout: float = 10.0) -> None:
    """Until the disk image holds ``block`` twice: written to the log and installed at
    home, so its group passed the commit point (servers/fs/log.py's order)."""
    image = os.environ["NK_DISK"]
    deadline = time.monotonic() + timeout
    while True:
        with open(image, "rb") as f:
            if f.read().count(block) >= 2:
                return
        if time.monotonic() > deadline:
            raise RuntimeError("fs did not commit an idle write within "
                               f"{timeout} s (its COMMIT_DELAY is 2 ms)")
        time.sleep(0.005)


def main():
    fs = lookup("fs")
    rounds = int(sys.argv[2])
    kept = {}
    for r in range(rounds):
        data = os.urandom(5000 + r * 9000)
        path = f"/home/f{r}"
        fs.write(path=path, offset=0, data=data, create=True)
        fs.mkdir(path=f"/home/d{r}")
        fs.sync()
        kept[path] = hashlib.sha256(data).hexdigest()
        # not synced, but left to fs's idle commit (COMMIT_DELAY): waited for until the
        # image holds the data both in the log and at home (the commit point is between)
        idle = (f"idle{r}:".encode() * 1200)[:7000]
        fs.write(path=f"/home/idle{r}", offset=0, data=idle, create=True)
        wait_committed(idle[:BSIZE])
        kept[f"/home/idle{r}"] = hashlib.sha256(idle).hexdigest()
        # an op that is still in the group when the kill comes: may or may not survive
        fs.write(path=f"/home/maybe{r}", offset=0, data=b"x" * 10000, create=True)
        kill_fs_and_wait()
        for p, sha in kept.items():
            got = b""
            while True:
                chunk = fs.read(path=p, offset=len(got), size=60000)
                if not chunk:
                    break
                got += chunk
            if hashlib.sha256(got).hexdigest() != sha:
                raise AssertionError(f"{p}: content changed after fs restart {r}")
        names = {e["name"] for e in fs.readdir(path="/home")}
        missing = {f"d{i}" for i in range(r + 1)} - names
        if missing:
            raise AssertionError(f"directories lost: {missing}")
    return {"rounds": rounds, "files": sorted(kept)}


common.run(main)
