"""A user program of the reliability tests: ``worker.py MODE OUT [ARGS]``.

    stream N SIZE   N files of SIZE bytes through libipc.open, a sync after every
                    fourth; a file counts as synced only once a sync returned after it
                    (the writer trusts nothing else).  ServerDied / NoSuchEndpoint /
                    Timeout / DataLost are recorded and the file (and its group) is
                    written again.
    bulk MIB        one MIB MiB write by grant, a sync, a read back
    reads N         rounds of reading /home/r (written by the session): whole, by
                    grant, and in 60 KiB pieces; every byte compared.  At least N
                    rounds, and on until OUT.stop exists (the session's kills are
                    done), so a fast reader cannot finish before the last kill

Progress goes to OUT.progress (one line per step: the session waits on it, never on
the clock), the result to OUT as JSON.
"""

from __future__ import annotations

import hashlib
import json
import sys
import traceback
from pathlib import Path

import libipc
from libipc import IpcError

RETRIED = ("ServerDied", "NoSuchEndpoint", "Timeout", "DataLost")
MAX_TRIES = 20


def content(i: int, size: int) -> bytes:
    seed = hashlib.sha256(f"file {i}".encode()).digest()
    return (seed * (size // len(seed) + 1))[:size]


def pattern(size: int) -> bytes:
    """Bytes that differ in every 4 KiB block (a block written to the wrong place shows)."""
    return b"".join(i.to_bytes(4, "little") * 1024 for i in range(size // 4096))


def progress(out: str, step: str) -> None:
    with open(out + ".progress", "a") as f:
        f.write(step + "\n")


def stream(out: str, n: str, size: str) -> dict:
    count, nbytes = int(n), int(size)
    synced: dict[str, str] = {}
    errors: list[str] = []
    group: list[int] = []
    i = 0
    tries = 0
    while i < count:
        try:
            with libipc.open(f"/home/s{i}", "wb") as f:
                f.write(content(i, nbytes))
                group.append(i)
                if len(group) == 4 or i == count - 1:
                    f.sync()   # (any File's sync covers every write of this process)
                    for j in group:
                        synced[f"/home/s{j}"] = hashlib.sha256(
                            content(j, nbytes)).hexdigest()
                    group = []
                    progress(out, f"synced {len(synced)}")
            i += 1
            tries = 0
        except IpcError as exc:
            errors.append(f"{exc.code}: {exc.message}"[:200])
            if exc.code not in RETRIED or tries >= MAX_TRIES:
                raise
            tries += 1
            i = group[0] if group else i   # the unsynced group is written again
            group = []
    return {"synced": synced, "errors": errors, "resent": _client().resent}


def bulk(out: str, mib: str) -> dict:
    data = pattern(int(mib) << 20)
    progress(out, "writing")
    with libipc.open("/big", "wb") as f:
        f.write(data)
        f.sync()
    progress(out, "written")
    with libipc.open("/big", "rb") as f:
        back = f.read()
    return {"same": back == data, "size": len(back), "resent": _client().resent,
            "sha": hashlib.sha256(data).hexdigest()}


def reads(out: str, n: str) -> dict:
    want = pattern(2 << 20)
    bad = 0
    r = 0
    while r < int(n) or not Path(out + ".stop").exists():
        with libipc.open("/home/r", "rb") as f:
            whole = f.read()            # by grant: one fs call
            f.seek(0)
            pieces = b"".join(iter(lambda: f.read(60000), b""))   # in messages
        bad += (whole != want) + (pieces != want)
        progress(out, f"round {r}")
        r += 1
    return {"rounds": r, "mismatches": bad}


def _client():
    from libipc.file import _default_fs
    from libipc.fsclient import client_for
    return client_for(_default_fs())


MODES = {f.__name__: f for f in (stream, bulk, reads)}

if __name__ == "__main__":
    mode, out, *args = sys.argv[1:]
    try:
        result = MODES[mode](out, *args)
    except BaseException as exc:   # noqa: BLE001
        result = {"worker_error": repr(exc), "traceback": traceback.format_exc()}
    with open(out, "w") as f:
        json.dump(result, f)
    sys.exit(1 if "worker_error" in result else 0)
