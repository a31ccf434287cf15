"""The session program of the pipe tests: ``pipe_session.py SCENARIO OUT.json``.

Runs one scenario inside a real boot (privileged, calls "*": it spawns the
user processes at the other ends and kills them) and writes what it saw.
"""

from __future__ import annotations

import hashlib
import json
import os
import signal
import sys
import time
import traceback
from pathlib import Path

import libipc
from libipc import IpcError, Proxy, kernel, lookup
from libipc.naming import NAMING
from libipc.pipe import PipeEnd, pipe

CHILD = str(Path(__file__).resolve().parent / "pipe_child.py")
K = kernel()
PIPE_BUF = 4096


def child(mode: str, end: PipeEnd, *args) -> dict:
    """Spawn a user process holding ``end`` (it becomes the end's holder)."""
    proc = K.spawn(argv=[CHILD, mode, str(end.token), *map(str, args)], name=f"pipe-{mode}",
                   acl=["@public", "naming"])
    end.give(proc["ep"])
    return proc


EXITS: dict[int, int] = {}   # endpoint -> status (the kernel's wait() hands each out once)


def exited(proc: dict, timeout: float = 20.0) -> int:
    """The child's exit status, waiting for it with a deadline."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        EXITS.update((record["ep"], record["status"]) for record in K.wait())
        if proc["ep"] in EXITS:
            return EXITS[proc["ep"]]
        time.sleep(0.01)
    raise TimeoutError(f"{proc} did not exit")


def readers_waiting(end: PipeEnd, name: str) -> int:
    """Children named ``name`` waiting in a read of ``end``'s pipe: in its region (as
    they count themselves), or in a read call at the pipe server."""
    calls = sum(row["name"] == name and row["calls_in_flight"] > 0 for row in K.ps())
    return end.blocked()[0] + calls


def code_of(fn) -> str:
    try:
        fn()
    except IpcError as exc:
        return exc.code
    return "no error"


def expected_sha(n: int, seed: int) -> str:
    sys.path.insert(0, str(Path(CHILD).parent))
    from pipe_child import stream
    h = hashlib.sha256()
    for block in stream(n, seed):
        h.update(block)
    return h.hexdigest()


# -- scenarios --------------------------------------------------------------------
def basic() -> dict:
    r, w = pipe()
    wrote = w.write(b"hello")
    st = r.stat()
    w.close()
    return {"wrote": wrote, "stat": st, "read": r.read(100).decode(),
            "eof": r.read(100).decode(), "eof_again": r.read(1).decode(),
            "write_to_read_end": code_of(lambda: lookup("pipe").write(end=r.token, data=b"x")),
            "closed_token": code_of(lambda: lookup("pipe").read(end=w.token, size=1)),
            "bad_size": code_of(lambda: lookup("pipe").read(end=r.token, size=0)),
            "forged_token": code_of(lambda: lookup("pipe").read(end=12345, size=1))}


def bulk() -> dict:
    n, seed = 6 * 1024 * 1024 + 123, 7
    r, w = pipe()
    proc = child("write", w, n, seed)
    h, got, t0 = hashlib.sha256(), 0, time.monotonic()
    while data := r.read(1 << 20):
        h.update(data)
        got += len(data)
    return {"bytes": got, "n": n, "sha_ok": h.hexdigest() == expected_sha(n, seed),
            "status": exited(proc), "seconds": time.monotonic() - t0}


def mixed_paths() -> dict:
    """An end that moves its bytes in calls to the pipe server talks to one that maps
    the region, either way round: bytes counted and hashed."""
    n, seed, out = 3 * 1024 * 1024 + 7, 5, {}
    r, w = pipe()   # the child writes in calls; this process reads the region
    proc = child("write_messages", w, n, seed)
    h, got = hashlib.sha256(), 0
    while data := r.read(1 << 20):
        h.update(data)
        got += len(data)
    out["to_region"] = [got, h.hexdigest() == expected_sha(n, seed), exited(proc)]
    r, w = pipe()   # the child writes the region; this process reads in calls
    calls = PipeEnd(r.token, False, region=None)
    proc = child("write", w, n, seed)
    h, got = hashlib.sha256(), 0
    while data := calls.read(1 << 20):
        h.update(data)
        got += len(data)
    out["from_region"] = [got, h.hexdigest() == expected_sha(n, seed), exited(proc)]
    out["n"] = n
    return out


def writer_killed() -> dict:
    r, w = pipe()
    proc = child("forever", w)
    got = len(r.read(PIPE_BUF))
    K.kill(ep=proc["ep"], signal_name="KILL")
    while data := r.read(1 << 16):   # the rest that was buffered, then end of file
        got += len(data)
    return {"eof": True, "status": exited(proc), "got_some": got > 0}


def reader_gone() -> dict:
    r, w = pipe()
    proc = child("exit", r)
    status = exited(proc)
    deadline = time.monotonic() + 10
    while r.token and time.monotonic() < deadline and w.stat()["readers"]:
        time.sleep(0.01)   # the pipe server hears of the exit through the kernel
    return {"status": status, "write": code_of(lambda: w.write(b"x"))}


def blocked_writer_reader_dies() -> dict:
    """A writer waiting on a full pipe gets BrokenPipe when the last reader goes."""
    r, w = pipe()
    proc_w = child("forever", w)
    deadline = time.monotonic() + 10
    while r.stat()["buffered"] < r.stat()["capacity"] - PIPE_BUF and time.monotonic() < deadline:
        time.sleep(0.01)
    full = r.stat()["buffered"]
    r.close()
    return {"full": full, "writer_status": exited(proc_w)}


def atomic() -> dict:
    """Two writers of PIPE_BUF records: every record arrives whole."""
    r, w = pipe()
    w2 = w.dup()
    n = 150
    procs = [child("records", w, 65, n), child("records", w2, 66, n)]
    data = bytearray()
    while chunk := r.read(5000):   # not a multiple of PIPE_BUF: room comes in odd sizes
        data += chunk
    records = [bytes(data[i:i + PIPE_BUF]) for i in range(0, len(data), PIPE_BUF)]
    whole = all(rec == rec[:1] * PIPE_BUF for rec in records)
    return {"bytes": len(data), "records": len(records), "whole": whole,
            "counts": sorted([sum(rec[:1] == b"A" for rec in records),
                              sum(rec[:1] == b"B" for rec in records)]),
            "status": [exited(p) for p in procs]}


def nonblock() -> dict:
    r, w = pipe()
    r.nonblock = w.nonblock = True
    empty = code_of(lambda: r.read(10))
    total = 0
    while (n := w.write(b"z" * 10000)) == 10000:
        total += n
    partial = n
    full = code_of(lambda: w.write(b"z" * 100))
    r.read(100)   # room for 100 bytes now
    small = code_of(lambda: w.write(b"q" * PIPE_BUF))   # atomic: all or nothing
    large = w.write(b"q" * (PIPE_BUF + 1))              # may be split: what fits
    return {"empty": empty, "filled": total + partial, "capacity": r.stat()["capacity"],
            "full": full, "small": small, "large": large}


def dead_reader_takes_nothing() -> dict:
    """A reader killed while it waits leaves no data behind in its dead call."""
    r, w = pipe()
    r2 = r.dup()
    proc = child("read", r)
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline and not readers_waiting(r2, "pipe-read"):
        time.sleep(0.01)
    K.kill(ep=proc["ep"], signal_name="KILL")
    status = exited(proc)
    while r2.stat()["readers"] != 1 and time.monotonic() < deadline:
        time.sleep(0.01)
    w.write(b"precious")
    return {"status": status, "read": r2.read(100).decode()}


def big_write_many_readers() -> dict:
    """One write bigger than the pipe (a boot whose message limit allows it) while five
    readers wait, who take the whole buffer between them: the rest of the write must
    still go in (the writer does not wait on a pipe that has room).  The readers stay
    alive: their exits would let the writer go on for another reason."""
    from libipc.pipe import MAX_IO
    r, w = pipe()
    procs = [child("readbig", r.dup()) for _ in range(5)]
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline and readers_waiting(r, "pipe-readbig") < 5:
        time.sleep(0.01)
    n = 300 * 1024
    assert 5 * MAX_IO > 256 * 1024 and n > 256 * 1024
    try:
        wrote = lookup("pipe", timeout=10).write(end=w.token, data=b"x" * n)
    except IpcError as exc:
        wrote = exc.code
    w.close()
    rest = r.read()
    for proc in procs:   # (they hold their ends, and sleep, until now)
        K.kill(ep=proc["ep"], signal_name="KILL")
    return {"wrote": wrote, "n": n, "rest": len(rest), "capacity": r.stat()["capacity"],
            "status": [exited(p) for p in procs]}


def given_to_an_alias() -> dict:
    """An end given to a well-known slot's bare number is closed when the process in
    that slot dies, like one given to its endpoint."""
    r, w = pipe()
    r2 = r.dup()
    slot = 12
    proc = K.spawn(argv=[CHILD, "read", str(r2.token)], name="pipe-read",
                   acl=["@public", "naming"], slot=slot)
    r2.give(slot)
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline and not readers_waiting(r, "pipe-read"):
        time.sleep(0.01)
    before = r.stat()["readers"]
    K.kill(ep=proc["ep"], signal_name="KILL")
    status = exited(proc)
    deadline = time.monotonic() + 5
    while r.stat()["readers"] != 1 and time.monotonic() < deadline:
        time.sleep(0.01)
    return {"status": status, "before": before, "after": r.stat()["readers"]}


def small_messages() -> dict:
    """A boot with a small message limit: a read asking for more than one reply can
    carry gets what fits and leaves the rest in the pipe (nothing lost to an error),
    and libipc's writes split to fit."""
    r, w = pipe()
    data = bytes(range(256)) * 40   # 10240 bytes, more than two messages
    wrote = code_of(lambda: w.write(data))
    raw = lookup("pipe")
    got = bytearray()
    first = None
    w.close()
    while True:
        try:
            chunk = raw.read(end=r.token, size=1 << 20)
        except IpcError as exc:
            first = first or exc.code
            break
        if not chunk:
            break
        got += chunk
    return {"wrote": wrote, "same": bytes(got) == data, "got": len(got), "error": first}


def server_killed() -> dict:
    """The pipe server dies while a read waits: ServerDied at once, and its pipes are gone."""
    r, w = pipe()
    pid = next(row["pid"] for row in K.ps() if row["name"] == "pipe")
    t0 = time.monotonic()
    import threading
    threading.Timer(0.3, lambda: os.kill(pid, signal.SIGKILL)).start()
    waited = code_of(lambda: r.read(10))
    elapsed = time.monotonic() - t0
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:   # init restarts it, and it registers again
        names = Proxy(NAMING).list()
        row = next((row for row in K.ps() if row["name"] == "pipe"), None)
        if row and row["pid"] != pid and names.get("pipe") == row["ep"]:
            break
        time.sleep(0.02)
    try:
        after = code_of(lambda: w.write(b"x"))
    except Exception as exc:   # noqa: BLE001
        after = repr(exc)
    r2, w2 = pipe()
    w2.write(b"new")
    return {"waited": waited, "elapsed": elapsed, "after": after, "new": r2.read(3).decode()}


def server_stopped() -> dict:
    """A hung pipe server: control calls give Timeout, never a hang."""
    r, w = pipe()
    pid = next(row["pid"] for row in K.ps() if row["name"] == "pipe")
    os.kill(pid, signal.SIGSTOP)
    try:
        t0 = time.monotonic()
        stat = code_of(lambda: lookup("pipe", timeout=0.5).stat(end=r.token))
        elapsed = time.monotonic() - t0
    finally:
        os.kill(pid, signal.SIGCONT)
    w.write(b"after")
    return {"stat": stat, "elapsed": elapsed, "read": r.read(5).decode()}


def grant_for_one_endpoint() -> dict:
    """A pipe's region is granted to each process that asks, for its endpoint alone: a
    third process that has the creator's grant (not the token's use) cannot map it —
    PermissionDenied — and maps it by a grant of its own, asked with the token."""
    r, w = pipe()
    info = lookup("pipe").region(end=r.token)   # this process's grant (create's, kept)
    proc = child("steal", w, json.dumps(info))
    again = lookup("pipe").region(end=r.token)["grant"]   # (asked before the child ends:
    seen = json.loads(r.read(4096))                       # w, given to it, closes then)
    return {**seen, "creator_mapped": r._path() is not None,
            "same_grant_again": info["grant"] == again, "status": exited(proc)}


def held() -> dict:
    """What the kernel counts now: regions, grants, and the regions the pipe server and
    this process hold."""
    pipe_ep = next(row["ep"] for row in K.ps() if row["name"] == "pipe")
    stats = K.stats()
    return {"regions": stats["shm_regions"], "grants": stats["shm_grants"],
            "pipe_held": K.whoami(ep=pipe_ep)["shm_held"], "mine": K.whoami()["shm_held"]}


def many_pipes() -> dict:
    """1000 pipes one after another, each through its region, then 300 in a user
    process (which may hold at most MAX_HELD = 256 regions): nothing piles up — the
    kernel's regions and grants, and the pipe server's holds, are as before."""
    from kernel.grants import MAX_HELD
    before, mapped = held(), 0
    for i in range(1000):
        r, w = pipe()
        w.write(b"%d" % i)
        mapped += r._path() is not None
        assert b"%d" % i == r.read(10)
        w.close()
        r.close()
    after_mine = held()
    proc = K.spawn(argv=[CHILD, "many", "0", str(MAX_HELD + 44)], name="pipe-many",
                   acl=["@public", "naming"])
    status = exited(proc, 120)
    after_child = held()
    r, w = pipe()   # closed by raw calls: this process keeps its mapping, and its hold
    w.write(b"kept")
    region = r._path()
    for end in (r, w):
        lookup("pipe").close(end=end.token)
    lingering = held()   # the pipe is gone: the server holds it no more, its grants revoked
    eof = region.read(10).decode()   # (its mapping still works: no writer, end of file)
    r._region = w._region = region = None
    from libipc.pipe_region import release_held
    release_held()
    return {"before": before, "after_mine": after_mine, "after_child": after_child,
            "mapped": mapped, "child_status": status, "lingering": lingering,
            "eof": eof, "after_all": held()}


SCENARIOS = {f.__name__: f for f in (basic, bulk, mixed_paths, writer_killed, reader_gone,
                                     blocked_writer_reader_dies, atomic, nonblock,
                                     dead_reader_takes_nothing, big_write_many_readers,
                                     given_to_an_alias, small_messages,
                                     grant_for_one_endpoint, many_pipes,
                                     server_killed,
                                     server_stopped)}

if __name__ == "__main__":
    name, out = sys.argv[1], sys.argv[2]
    libipc.signal(signal.SIGPIPE, signal.SIG_IGN)   # its writes see BrokenPipe and go on
    try:
        result = SCENARIOS[name]()
    except BaseException as exc:   # noqa: BLE001
        result = {"session_error": repr(exc), "traceback": traceback.format_exc()}
    with open(out, "w") as f:
        json.dump(result, f)
