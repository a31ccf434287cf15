"""The session program of the FIFO tests: ``fifo_session.py SCENARIO,... OUT.json``.

Runs the scenarios in order inside one real boot (naming, console, pipe, block,
fs; privileged, calls "*": it spawns the user processes at the other ends and
kills them) and writes what each saw, ``{scenario: result}``.  Every wait has a
deadline; server_killed kills the pipe server, so it comes last.
"""

from __future__ import annotations

import hashlib
import io
import json
import sys
import time
import traceback
from pathlib import Path

import libipc
from libipc import File, IpcError, Proxy, kernel, lookup
from libipc.naming import NAMING

CHILD = str(Path(__file__).resolve().parent / "fifo_child.py")
K = kernel()
FS = lookup("fs")
EXITS: dict[int, int] = {}   # endpoint -> status (the kernel's wait() hands each out once)


def child(*args) -> dict:
    """A user process of its own (not given anything: it opens the FIFO by path)."""
    return K.spawn(argv=[CHILD, *map(str, args)], name=f"fifo-{args[0]}"[:32],
                   acl=["@public", "naming"])


def exited(proc: dict, timeout: float = 20.0) -> int:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        EXITS.update((record["ep"], record["status"]) for record in K.wait())
        if proc["ep"] in EXITS:
            return EXITS[proc["ep"]]
        time.sleep(0.01)
    raise TimeoutError(f"{proc} did not exit")


def running(proc: dict) -> bool:
    return any(row["ep"] == proc["ep"] and row["state"] == "running" for row in K.ps())


def fifo_stat(path: str) -> dict:
    return lookup("pipe", timeout=5).stat_fifo(key=FS.stat(path=path)["fifo"])


def until(path: str, timeout: float = 10.0, **want: int) -> dict:
    """The FIFO's stat once its fields are as wanted (or at the deadline, as it is)."""
    deadline = time.monotonic() + timeout
    while True:
        st = fifo_stat(path)
        if all(st[k] == v for k, v in want.items()) or time.monotonic() > deadline:
            return st
        time.sleep(0.01)


def code_of(fn) -> str:
    try:
        fn()
    except IpcError as exc:
        return exc.code
    return "no error"


def sha_of(n: int, seed: int) -> str:
    sys.path.insert(0, str(Path(CHILD).parent))
    from pipe_child import stream
    h = hashlib.sha256()
    for block in stream(n, seed):
        h.update(block)
    return f"{n} {h.hexdigest()}"


# -- scenarios --------------------------------------------------------------------
def two_programs() -> dict:
    """A reader and a writer started separately meet at the FIFO; bytes arrive exactly."""
    FS.mkfifo(path="/f1")
    n, seed = 1024 * 1024 + 7, 5
    reader = child("read", "/f1", "/r1")
    writer = child("write", "/f1", n, seed)
    status = [exited(reader), exited(writer)]
    with File("/r1") as f:
        got = f.read()
    return {"status": status, "got": got, "expected": sha_of(n, seed),
            "after": fifo_stat("/f1")}


def open_waits() -> dict:
    """An open waits until the other side opens — reading for a writer, writing for a
    reader — and the waiting one is answered when it does."""
    FS.mkfifo(path="/f2")
    reader = child("hello", "/f2")
    st_r = until("/f2", waiting_readers=1)
    still_r = running(reader)
    t0 = time.monotonic()
    with libipc.open("/f2", "wb") as w:
        opened_w = time.monotonic() - t0
        w.write(b"hello")
    status_r = exited(reader)
    n, seed = 300000, 9
    writer = child("write", "/f2", n, seed)
    st_w = until("/f2", waiting_writers=1)
    still_w = running(writer)
    with libipc.open("/f2", "rb") as r:
        data = r.read()
    h = f"{len(data)} {hashlib.sha256(data).hexdigest()}"
    return {"waiting_reader": st_r, "reader_running": still_r, "opened_w": opened_w,
            "reader_status": status_r, "waiting_writer": st_w, "writer_running": still_w,
            "read": h, "expected": sha_of(n, seed), "writer_status": exited(writer)}


def nonblocking() -> dict:
    """O_NONBLOCK: a write-open without reader is NoReader, a read-open succeeds at once;
    the ends are non-blocking too."""
    FS.mkfifo(path="/f3")
    out: dict = {"write_first": code_of(lambda: libipc.open("/f3", "wb", nonblock=True))}
    t0 = time.monotonic()
    r = libipc.open("/f3", "rb", buffering=0, nonblock=True)
    out["read_open_s"] = time.monotonic() - t0
    out["no_writer_read"] = r.read(10).decode()   # no writer: end of file, not a wait
    w = libipc.open("/f3", "wb", buffering=0, nonblock=True)
    out["stat"] = fifo_stat("/f3")
    out["empty"] = code_of(lambda: r.read(10))
    w.write(b"x")
    out["read"] = r.read(10).decode()
    w.close()
    out["eof"] = r.read(10).decode()
    r.close()
    out["closed"] = fifo_stat("/f3")
    out["r_plus"] = code_of(lambda: libipc.open("/f3", "r+"))
    out["fs_read"] = code_of(lambda: FS.read(path="/f3", offset=0, size=10))
    out["file_read"] = code_of(lambda: File("/f3", "rb").read())
    out["file_write"] = code_of(lambda: File("/f3", "w"))
    out["x_mode"] = code_of(lambda: libipc.open("/f3", "x"))
    return out


def eof_and_fresh_pipe() -> dict:
    """End of file only when the last writer closes; a writer that comes later reaches
    the reader still there; once no end is open the next opens get a fresh pipe."""
    FS.mkfifo(path="/f4")
    out: dict = {}
    r = libipc.open("/f4", "rb", buffering=0, nonblock=True)
    r.nonblock = False   # (opened without waiting; reads wait from here on)
    w1 = libipc.open("/f4", "w")
    w2 = libipc.open("/f4", "ab")
    out["types"] = [type(w1).__name__, type(w2).__name__, type(r).__name__]
    out["modes"] = [w1.mode, w2.mode, w1.name]
    w1.write("one\n")
    w1.close()
    out["one"] = r.read(100).decode()
    w2.write(b"two")
    out["two_open"] = fifo_stat("/f4")
    w2.close()
    out["two"] = r.read(100).decode()
    out["eof"] = r.read(100).decode()
    with libipc.open("/f4", "wb", nonblock=True) as w3:   # the reader is still there
        w3.write(b"three")
    out["three"] = r.read(100).decode()
    with libipc.open("/f4", "wb") as w4:
        w4.write(b"stale")
    r.close()   # with "stale" unread: nobody has the FIFO open any more
    out["none_open"] = fifo_stat("/f4")
    r2 = libipc.open("/f4", "rb", buffering=0, nonblock=True)
    w5 = libipc.open("/f4", "w")
    rt = libipc.open("/f4", "r", encoding="utf-8")
    out["text_type"] = [type(rt).__name__, isinstance(rt, io.TextIOWrapper), rt.mode]
    w5.write("fresh é\n")
    w5.close()
    out["fresh"] = rt.read()
    out["r2"] = code_of(lambda: r2.close())
    rt.close()
    out["end"] = fifo_stat("/f4")
    return out


def opener_killed() -> dict:
    """A process SIGKILLed while its open waits is dropped: it is no reader, and the
    next pair meets as if it had never been."""
    FS.mkfifo(path="/f5")
    victim = child("hello", "/f5")
    before = until("/f5", waiting_readers=1)
    K.kill(ep=victim["ep"], signal_name="KILL")
    status = exited(victim)
    after = until("/f5", waiting_readers=0)
    nonblock = code_of(lambda: libipc.open("/f5", "wb", nonblock=True))
    reader = child("hello", "/f5")
    again = until("/f5", waiting_readers=1)
    with libipc.open("/f5", "wb") as w:
        w.write(b"hello")
    return {"before": before, "status": status, "after": after, "nonblock": nonblock,
            "again": again, "reader_status": exited(reader), "end": fifo_stat("/f5")}


def server_killed() -> dict:
    """The pipe server dies while an open waits: ServerDied at once, never a hang; the
    FIFO itself is in the fs, and the restarted server opens it."""
    FS.mkfifo(path="/f6")
    key = FS.stat(path="/f6")["fifo"]
    pid = next(row["pid"] for row in K.ps() if row["name"] == "pipe")
    killer = child("kill_when_waiting", key, pid)
    t0 = time.monotonic()
    waited = code_of(lambda: libipc.open("/f6", "rb"))
    elapsed = time.monotonic() - t0
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:   # init restarts it, and it registers again
        row = next((row for row in K.ps() if row["name"] == "pipe"), None)
        if row and row["pid"] != pid and Proxy(NAMING).list().get("pipe") == row["ep"]:
            break
        time.sleep(0.02)
    r = libipc.open("/f6", "rb", nonblock=True)
    with libipc.open("/f6", "wb") as w:
        w.write(b"again")
    return {"waited": waited, "elapsed": elapsed, "killer": exited(killer),
            "again": r.read().decode()}


SCENARIOS = {f.__name__: f for f in (two_programs, open_waits, nonblocking,
                                     eof_and_fresh_pipe, opener_killed, server_killed)}

if __name__ == "__main__":
    names, out = sys.argv[1].split(","), sys.argv[2]
    results: dict = {}
    for name in names:
        try:
            results[name] = SCENARIOS[name]()
        except BaseException as exc:   # noqa: BLE001
            results[name] = {"session_error": repr(exc), "traceback": traceback.format_exc()}
    with open(out, "w") as f:
        json.dump(results, f)
