"""The session program of the memory-mapped file tests: ``mmap_session.py SCENARIO OUT``.

    shared   two mappers of one file see each other's writes; flush writes back;
             read-only maps and bad arguments
    dirty    map /dirty read-write, change it and exit without flush or close
             (the clean halt that follows must write it back)
    check    what /dirty holds now (a second boot on the same disk)
    moved    map /a and /gone read-write and change them; rename /a to /c (flush
             then) and write a new /a; unlink /gone and write a new /gone; exit
             holding both (the clean halt that follows writes back)
    crowded  a child maps MAX_FILES files and exits without closing them; a new
             file can still be mapped, and the child's writes went back
    moved_check  what /a, /c, /gone and /after hold now (a second boot)
"""

from __future__ import annotations

import json
import sys
import time
import traceback
from pathlib import Path

import libipc
from libipc import IpcError, kernel
from libipc.mapfile import mmap

CHILD = str(Path(__file__).resolve().parent / "mmap_child.py")
K = kernel()
DATA = bytes(range(256)) * 256   # 64 KiB


def write_file(path: str, data: bytes) -> None:
    with libipc.open(path, "wb") as f:
        f.write(data)


def read_file(path: str) -> bytes:
    with libipc.open(path, "rb") as f:
        return f.read()


def code_of(fn) -> str:
    try:
        fn()
    except IpcError as exc:
        return exc.code
    except TypeError:
        return "TypeError"
    return "no error"


def wait_until(cond, what: str, timeout: float = 20.0) -> None:
    deadline = time.monotonic() + timeout
    while not cond():
        if time.monotonic() > deadline:
            raise TimeoutError(what)
        time.sleep(0.005)


def shared() -> dict:
    base = K.stats()["shm_regions"]   # (fs's window to block is one)
    write_file("/m", DATA)
    m = mmap("/m", "r+")
    out = {"size": m.size, "same": bytes(m.buf) == DATA}
    K.spawn(argv=[CHILD, "/m"], name="mmap-child", acl=["@public", "naming"])
    wait_until(lambda: m.buf[0:1] == b"?", "the child maps it and says so")
    m.buf[1:2] = b"!"                                  # the child waits for this
    wait_until(lambda: m.buf[2:3] == b"+", "the child saw our write")
    out["before_flush"] = read_file("/m")[:3].hex()    # not written back yet
    m.flush()
    out["after_flush"] = read_file("/m")[:3].decode()
    ro = mmap("/m", "r")
    out["ro_sees"] = bytes(ro.buf[:3]).decode()
    out["ro_write"] = code_of(lambda: ro.buf.__setitem__(0, 1))
    ro.close()
    m.close()
    libipc.open("/empty", "w").close()
    libipc.lookup("fs").mkdir(path="/dir")
    out["bad"] = [code_of(lambda: mmap("/nope")), code_of(lambda: mmap("/dir")),
                  code_of(lambda: mmap("/empty")), code_of(lambda: mmap("/m", "w")),
                  code_of(lambda: libipc.lookup("fs").msync(path="/m"))]
    out["regions_left"] = K.stats()["shm_regions"] - base
    return out


def dirty() -> dict:
    write_file("/dirty", DATA)
    m = mmap("/dirty", "r+")
    m.buf[-5:] = b"dirty"
    return {"mapped": m.size}   # exits holding it: the halt's fs stop writes it back


def check() -> dict:
    data = read_file("/dirty")
    return {"tail": data[-5:].decode(), "head_same": data[:-5] == DATA[:-5]}


def moved() -> dict:
    write_file("/a", DATA)
    write_file("/gone", DATA)
    a, gone = mmap("/a", "r+"), mmap("/gone", "r+")
    a.buf[-5:] = b"moved"
    gone.buf[-5:] = b"stale"
    libipc.lookup("fs").rename(src="/a", dst="/c")
    a.flush()                                       # the file, now /c
    out = {"c_after_flush": read_file("/c")[-5:].decode()}
    for _ in range(3):                              # fs keeps one grant per mapper
        mmap("/c", "r").close()
    out["grants"] = K.stats()["shm_grants"]         # /a's and /gone's
    a.buf[-5:] = b"again"                           # left for the halt to write back
    write_file("/a", b"other")                      # a new file by the old name
    libipc.lookup("fs").unlink(path="/gone")
    write_file("/gone", b"fresh")
    write_file("/after", b"kept")
    fresh = mmap("/gone", "r")                      # the new file's bytes, not the old
    out["gone_maps_new"] = bytes(fresh.buf).decode()
    fresh.close()
    return out


def crowded() -> dict:
    from servers.fs.mapping import MAX_FILES
    paths = [f"/f{i}" for i in range(MAX_FILES)]
    for path in paths + ["/extra"]:
        write_file(path, b"-")
    child = K.spawn(argv=[CHILD, "--many", *paths], name="mmap-many",
                    acl=["@public", "naming"])
    exits: dict[int, int] = {}
    wait_until(lambda: child["ep"] in exits
               or exits.update((r["ep"], r["status"]) for r in K.wait()), "the child exits")
    out = {"child": exits[child["ep"]], "extra": code_of(lambda: mmap("/extra").close())}
    out["written_back"] = (read_file("/f0") + read_file(paths[-1])).decode()
    return out


def moved_check() -> dict:
    return {name: read_file(name)[-5:].decode() for name in ("/a", "/c", "/gone", "/after")}


def faults() -> dict:
    """fs SIGKILLed under a mapping: the mapping stays readable, flush is a clear error
    (the restarted fs knows no mapping), close is quiet; fs SIGSTOPped: mmap is Timeout."""
    import os
    import signal
    write_file("/f", DATA)
    libipc.lookup("fs").sync()   # on disk before the kill (this test is about the mapping)
    m = mmap("/f", "r+")
    m.buf[0:1] = b"K"
    fs = libipc.lookup("fs").endpoint
    K.kill(ep=fs, signal_name="KILL")
    wait_until(lambda: _fs_back(fs), "fs restarted")
    out = {"readable": bytes(m.buf[:1]).decode(), "flush": code_of(m.flush)}
    m.close()
    pid = K.whoami(ep=libipc.lookup("fs").endpoint)["pid"]
    os.kill(pid, signal.SIGSTOP)
    try:
        t0 = time.monotonic()
        out["stopped"] = code_of(lambda: mmap("/f", timeout=1.0))
        out["stopped_s"] = time.monotonic() - t0
    finally:
        os.kill(pid, signal.SIGCONT)
    out["after"] = bytes(mmap("/f").buf[:1]).decode()   # the lost write: never flushed
    return out


def _fs_back(old: int) -> bool:
    from libipc.naming import forget
    forget("fs")   # (names are cached: ask naming again)
    try:
        ep = libipc.lookup("fs").endpoint
        return ep != old and K.whoami(ep=ep)["state"] == "running"
    except IpcError:
        return False


SCENARIOS = {f.__name__: f for f in (faults, shared, dirty, check, moved, crowded, moved_check)}

if __name__ == "__main__":
    name, out = sys.argv[1], sys.argv[2]
    try:
        result = SCENARIOS[name]()
    except BaseException as exc:   # noqa: BLE001
        result = {"session_error": repr(exc), "traceback": traceback.format_exc()}
    with open(out, "w") as f:
        json.dump(result, f)
