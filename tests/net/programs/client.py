"""``run client.py OUT SCENARIO [ARGS]``: a program on one node using another's servers;
writes what it saw to OUT (JSON).  Scenarios:

    files NODE      write, read back, stat, list, rename, remove a file in /net/NODE/home
    hello NODE      counter@NODE's who() and bump(): the caller as the remote server sees it
    refused NODE    calls the ACL refuses (block@NODE), and an unknown node
    slow NODE S     counter@NODE.slow(S): one call, its outcome and how long it took
    flood NODE N    N bumps as fast as they go (calls), then N SENDs in batches
"""
import json
import os
import sys
import time

import libipc
from libipc import IpcError, lookup


def outcome(fn):
    t0 = time.monotonic()
    try:
        return {"value": fn(), "s": time.monotonic() - t0}
    except IpcError as exc:
        return {"error": exc.code, "message": exc.message, "s": time.monotonic() - t0}


def files(node: str) -> dict:
    base = f"/net/{node}/home"
    with libipc.open(f"{base}/notes.txt", "w") as f:
        f.write("remote line\n" * 1000)
        f.sync()
    with libipc.open(f"{base}/notes.txt") as f:
        text = f.read()
    big = bytes(range(256)) * 4096   # 1 MiB: more than one message, no grant
    with libipc.open(f"{base}/big.bin", "wb") as f:
        f.write(big)
    with libipc.open(f"{base}/big.bin", "rb") as f:
        same = f.read() == big
    fs = lookup(f"fs@{node}")
    listing = sorted(e["name"] for e in fs.readdir(path="/home"))
    fs.rename(src="/home/big.bin", dst="/home/big2.bin")
    fs.unlink(path="/home/big2.bin")
    after = sorted(e["name"] for e in fs.readdir(path="/home"))
    missing = outcome(lambda: libipc.open(f"{base}/nope").read())
    return {"text_ok": text == "remote line\n" * 1000, "big_same": same,
            "stat": fs.stat(path="/home/notes.txt"), "listing": listing, "after": after,
            "missing": missing}


def hello(node: str) -> dict:
    c = lookup(f"counter@{node}")
    return {"who": c.who(), "bump": c.bump(), "me": libipc.kernel().whoami()["ep"]}


def refused(node: str) -> dict:
    return {"block": outcome(lambda: lookup(f"block@{node}").stat()),
            "init": outcome(lambda: lookup(f"init@{node}").status()),
            "unknown": outcome(lambda: lookup("fs@nowhere").stat(path="/")),
            "bad": outcome(lambda: lookup("fs@Bad!").stat(path="/"))}


def slow(node: str, seconds: str) -> dict:
    return outcome(lambda: lookup(f"counter@{node}").slow(seconds=float(seconds)))


def flood(node: str, n: str) -> dict:
    c = lookup(f"counter@{node}")
    n = int(n)
    t0 = time.monotonic()
    last = None
    for _ in range(n):
        last = c.bump()
    calls_s = time.monotonic() - t0
    t0 = time.monotonic()
    sent = 0
    for start in range(0, n, 500):
        batch = [{}] * min(500, n - start)
        c.send_many("bump", batch)
        sent += len(batch)
    sends_s = time.monotonic() - t0
    deadline = time.monotonic() + 30
    while c.count() < last + sent and time.monotonic() < deadline:
        time.sleep(0.01)
    return {"last": last, "sent": sent, "count": c.count(), "calls_s": calls_s,
            "sends_s": sends_s}


def _row(node: str) -> dict:
    try:
        return next(r for r in libipc.nodes() if r["node"] == node)
    except IpcError as exc:   # (this node's bridge is restarting)
        return {"state": f"no bridge: {exc.code}"}


def _wait_up(node: str, timeout: float = 90.0) -> dict:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        row = _row(node)
        if row["state"] == "up":
            return row
        time.sleep(0.02)
    raise TimeoutError(f"{node} not up within {timeout} s: {_row(node)}")


def killed(node: str, mark: str, failed_at: str) -> dict:
    """A 60 s call to counter@node, which the test kills (or stops) under it; at once
    another call (the link is down); then, once the node is back, a bump."""
    before = _wait_up(node)
    c = lookup(f"counter@{node}")
    first = outcome(lambda: c.slow(seconds=60, mark=mark))
    again = outcome(lambda: c.bump())
    with open(failed_at + ".tmp", "w") as f:
        f.write(repr(time.time()))
    os.rename(failed_at + ".tmp", failed_at)
    _wait_up(node)
    after = outcome(lambda: c.bump())
    return {"first": first, "again": again, "after": after, "before": before,
            "back": _row(node)}


def deadline(node: str, mark: str) -> dict:
    """A 5 s call with a 1 s deadline: Timeout after about 1 s; the server ran it once
    (its late answer is dropped by the bridge); the link goes on."""
    c = lookup(f"counter@{node}", timeout=1.0)
    late = outcome(lambda: c.slow(seconds=5, mark=mark))
    then = outcome(lambda: lookup(f"counter@{node}").count())
    return {"late": late, "then": then}


def selfpath(node: str) -> dict:
    """This node's own /net path is the local file: no bridge call, no grant lost."""
    with libipc.open(f"/net/{node}/home/self.txt", "w") as f:
        f.write("mine\n")
    with libipc.open("/home/self.txt") as f:
        local = f.read()
    from libipc.file import fs_for
    fs, path = fs_for(f"/net/{node}/home/self.txt")
    return {"local": local, "remote_proxy": getattr(fs, "remote", False) is True,
            "path": path, "nodes_error": outcome(lambda: libipc.nodes())}


def forge(_node: str = "") -> dict:
    """A local program that is not the bridge sends counter a ``@via`` call claiming
    to be node x: refused, and not counted."""
    from libipc.message import pack
    c = lookup("counter")
    forged = outcome(lambda: c.call("@via", node="x", ep=1, body=pack(["bump", {}])))
    return {"forged": forged, "count": c.count(), "who": c.who()}


SCENARIOS = {f.__name__: f for f in (files, hello, refused, slow, flood, killed, deadline,
                                     forge, selfpath)}

if __name__ == "__main__":
    out, name, *args = sys.argv[1:]
    try:
        result = SCENARIOS[name](*args)
    except BaseException as exc:   # noqa: BLE001
        import traceback
        result = {"client_error": repr(exc), "traceback": traceback.format_exc()}
    with open(out, "w") as f:
        json.dump(result, f)
