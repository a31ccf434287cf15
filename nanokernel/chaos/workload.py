"""The campaign's workload: user programs that check every result against a model.

    python workload.py KIND OUTDIR SEED

Each runs inside the boot as an ordinary user process until OUTDIR/stop exists,
and keeps OUTDIR/KIND.json up to date (every PROGRESS_S and at the end): its
counts, the errors it met by code, and any **mismatch** — a result that
contradicts the model, which no fault may cause.  An error is allowed (a server
was killed under the call); a wrong answer never is.

    files   writes files of 100 B to 300 KiB (bulk writes by grant among them),
            trusting only a returned sync: after one, the file's digest goes in
            OUTDIR/manifest.json, which the verify boot checks after the campaign.
            A failed attempt makes the file's contents unknown until the next
            synced rewrite (a write may have half-happened).  Reads back files
            whose contents are known and compares them.
    pipes   seeded chunks through a pipe of its own, read back and compared
    semmq   semaphore rounds (k releases, k acquires, then empty) and message
            queue rounds (k sends with priorities, k receives in priority order)
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import random
import sys
import time
from collections import Counter
from pathlib import Path

import libipc
from libipc import IpcError
from libipc.pipe import pipe

PROGRESS_S = 0.5
FILES = 12
SIZES = (100, 5000, 70_000, 300_000)
CALL_TIMEOUT_S = 20.0   # no call of ours may wait longer (a hung server is a finding)


class Workload:
    def __init__(self, kind: str, outdir: str, seed: int) -> None:
        self.kind, self.out = kind, Path(outdir)
        self.rng = random.Random(f"{kind}:{seed}")
        self.ops = 0
        self.ok = 0          # rounds that ended with every result checked
        self.errors: Counter[str] = Counter()
        self.mismatches: list[str] = []
        self.bytes_verified = 0
        self.last_op = ""
        self.written = 0.0

    def stopped(self) -> bool:
        return (self.out / "stop").exists()

    def error(self, exc: BaseException) -> None:
        self.errors[exc.code if isinstance(exc, IpcError) else type(exc).__name__] += 1
        time.sleep(0.01)   # a server is down or restarting: do not spin on it

    def mismatch(self, what: str) -> None:
        if len(self.mismatches) < 50:
            self.mismatches.append(what)

    def report(self, final: bool = False, **extra) -> None:
        now = time.monotonic()
        if not final and now - self.written < PROGRESS_S:
            return
        self.written = now
        data = {"kind": self.kind, "ops": self.ops, "ok": self.ok, "errors": dict(self.errors),
                "mismatches": self.mismatches, "bytes_verified": self.bytes_verified,
                "last_op": self.last_op, "final": final, "time": time.time(), **extra}
        write_json(self.out / f"{self.kind}.json", data)


def write_json(path: Path, data: dict) -> None:
    tmp = path.with_suffix(".tmp")
    tmp.write_text(json.dumps(data))
    os.replace(tmp, path)   # a reader never sees half a file


# --- files ----------------------------------------------------------------------
def files(w: Workload) -> None:
    fs = libipc.lookup("fs", timeout=CALL_TIMEOUT_S)
    known: dict[str, bytes] = {}        # path -> what a returned sync made durable
    manifest: dict[str, dict] = {}
    synced_bytes = 0
    _retry(w, lambda: fs.mkdir(path="/chaos"), ok=("FileExists",))
    while not w.stopped():
        path = f"/chaos/f{w.rng.randrange(FILES)}"
        data = w.rng.randbytes(w.rng.choice(SIZES))
        w.last_op = f"write+sync {path} ({len(data)} bytes)"
        known.pop(path, None)           # from the first byte sent: contents unknown
        if manifest.pop(path, None) is not None:
            write_json(w.out / "manifest.json", manifest)   # (before the first byte)
        try:
            with libipc.open(path, "wb") as f:
                f.write(data)
                f.sync()
        except IpcError as exc:
            w.error(exc)
        else:
            known[path] = data
            manifest[path] = {"sha256": hashlib.sha256(data).hexdigest(), "size": len(data)}
            synced_bytes += len(data)
            write_json(w.out / "manifest.json", manifest)
            w.ok += 1
        w.ops += 1
        if known and w.rng.random() < 0.5:
            check_path = w.rng.choice(sorted(known))
            w.last_op = f"read back {check_path}"
            try:
                with libipc.open(check_path, "rb") as f:
                    back = f.read()
            except libipc.FileNotFound:
                w.mismatch(f"{check_path}: FileNotFound after its sync returned")
            except IpcError as exc:
                w.error(exc)
            else:
                if back != known[check_path]:
                    w.mismatch(f"{check_path}: read {len(back)} bytes that differ from the "
                               f"{len(known[check_path])} synced")
                else:
                    w.bytes_verified += len(back)
        w.report(synced_bytes=synced_bytes, synced_files=len(manifest))
    w.report(final=True, synced_bytes=synced_bytes, synced_files=len(manifest))


def _retry(w: Workload, fn, ok: tuple[str, ...] = ()) -> None:
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline and not w.stopped():
        try:
            fn()
            return
        except IpcError as exc:
            if exc.code in ok:
                return
            w.error(exc)
            time.sleep(0.1)


# --- pipes ----------------------------------------------------------------------
def pipes(w: Workload) -> None:
    ends = None
    while not w.stopped():
        try:
            if ends is None:
                w.last_op = "pipe()"
                ends = pipe()
            r, wr = ends
            chunk = w.rng.randbytes(w.rng.randint(1, 4096))
            w.last_op = f"pipe round trip of {len(chunk)} bytes"
            wr.write(chunk)
            got = b""
            while len(got) < len(chunk):
                piece = r.read(len(chunk) - len(got))
                if not piece:
                    raise EOFError
                got += piece
            if got != chunk:
                w.mismatch(f"pipe: read {len(got)} bytes that differ from the {len(chunk)} "
                           "written")
            else:
                w.bytes_verified += len(chunk)
                w.ok += 1
        except EOFError:
            w.mismatch("pipe: end of file while this process holds the write end")
            ends = _close_all(ends)
        except (IpcError, OSError) as exc:
            w.error(exc)
            ends = _close_all(ends)
        w.ops += 1
        w.report()
    _close_all(ends)
    w.report(final=True)


def _close_all(ends) -> None:
    for end in ends or ():
        with contextlib.suppress(IpcError, OSError):
            end.close()
    return None


# --- semaphores and message queues ------------------------------------------------
def semmq(w: Workload) -> None:
    while not w.stopped():
        server, round_ = ("sem", sem_round) if w.rng.random() < 0.5 else ("mq", mq_round)
        before = server_pid(server)
        try:
            round_(w)
            w.ok += 1
        except libipc.Timeout as exc:
            # every wait of a round is for a unit or a message this process put there
            # itself: waiting in vain means one was lost — unless the server restarted
            # (it then forgets its state, as docs/ipc.md says) or was down a while
            if before is not None and server_pid(server) == before:
                w.mismatch(f"{server}: a round waited {CALL_TIMEOUT_S:.0f} s for what it "
                           f"had put there, and {server} never restarted ({exc})")
            else:
                w.error(exc)
        except IpcError as exc:
            w.error(exc)
        w.ops += 1
        w.report()
    w.report(final=True)


def server_pid(name: str) -> int | None:
    try:
        return next((r["pid"] for r in libipc.kernel(5.0).ps() if r["name"] == name), None)
    except IpcError:
        return None


def sem_round(w: Workload) -> None:
    k = w.rng.randint(1, 5)
    w.last_op = f"semaphore round of {k}"
    sem = libipc.Semaphore("/chaos-sem", create=True, initial=0)
    try:
        _drain_sem(sem)
        for _ in range(k):
            sem.release()
        for _ in range(k):
            sem.acquire(timeout=CALL_TIMEOUT_S)
        try:
            sem.acquire(timeout=0)
            w.mismatch(f"semaphore: a unit left after {k} releases and {k} acquires")
        except libipc.WouldBlock:
            w.bytes_verified += k
    finally:
        _quiet(sem.close)


def _drain_sem(sem) -> None:
    """Units a round cut short by a fault left behind (its releases, not its acquires)."""
    while True:
        try:
            sem.acquire(timeout=0)
        except libipc.WouldBlock:
            return


def mq_round(w: Workload) -> None:
    k = w.rng.randint(1, 8)
    w.last_op = f"message queue round of {k}"
    q = libipc.MessageQueue("/chaos-mq", create=True, max_messages=10, max_message_size=256)
    try:
        while q.current_messages:   # a round cut short left these
            q.receive(timeout=0)
        sent = [(w.rng.randbytes(w.rng.randint(0, 200)), w.rng.randint(0, 3)) for _ in range(k)]
        for data, prio in sent:
            q.send(data, priority=prio, timeout=CALL_TIMEOUT_S)
        expected = [m for _, m in sorted(enumerate(sent), key=lambda im: (-im[1][1], im[0]))]
        got = [q.receive(timeout=CALL_TIMEOUT_S) for _ in range(k)]
        if [(bytes(d), p) for d, p in got] != expected:
            w.mismatch(f"message queue: {k} messages came back out of order or changed")
        else:
            w.bytes_verified += sum(len(d) for d, _ in sent)
    finally:
        _quiet(q.close)


def _quiet(fn) -> None:
    with contextlib.suppress(IpcError):
        fn()


KINDS = {"files": files, "pipes": pipes, "semmq": semmq}

if __name__ == "__main__":
    kind, outdir, seed = sys.argv[1], sys.argv[2], int(sys.argv[3])
    workload = Workload(kind, outdir, seed)
    try:
        KINDS[kind](workload)
    except BaseException as exc:   # noqa: BLE001  (a crash of the workload is a finding)
        workload.mismatch(f"the workload crashed: {exc!r}")
        workload.report(final=True)
        raise
