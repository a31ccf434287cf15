"""The session of the recovery tests: ``recovery_session.py SCENARIO OUT [ARGS]``.

It starts a worker (worker.py, a user process of its own) and kills servers with
the kernel's kill (SIGKILL) while the worker's calls are in flight, each kill
when the worker's progress file (or block's message counters) says it is
mid-stream — conditions with deadlines, never a fixed sleep:

    block_stream  block killed 5 times during a stream of small writes and syncs
    fs_stream     fs killed 3 times during the same stream
    bulk_block    a 64 MiB write by grant, block killed twice under it
    bulk_fs       a 64 MiB write by grant, fs killed under it
    bulk_block_stop / bulk_fs_stop
                  the same write with block (or fs) SIGSTOPped under it: a hang, found
                  by init's heartbeats, killed and restarted
    reads         fs and block killed during rounds of reads (by grant, in messages)
    ack_then_kill fs killed right after it acknowledged a File's write (before its 2 ms
                  group commit), then File.sync(): the write is re-sent, never lost;
                  the same with raw fs.write + fs.sync (no verifiers) for comparison
    check FILE    (the next boot on the same disk) every path of FILE's {path: sha}
                  read and compared: what the worker was told was synced is there
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
from libipc import IpcError, kernel
from libipc.naming import forget

K = kernel()
WORKER = str(Path(__file__).resolve().parent / "worker.py")
EXITS: dict[int, int] = {}


def endpoint(name: str) -> int:
    forget(name)
    return libipc.lookup(name).endpoint


def back(name: str, old: int) -> bool:
    try:
        ep = endpoint(name)
        return ep != old and K.whoami(ep=ep)["state"] == "running"
    except IpcError:
        return False


def wait_until(cond, what: str, timeout: float = 30.0) -> None:
    deadline = time.monotonic() + timeout
    while not cond():
        if time.monotonic() > deadline:
            raise TimeoutError(f"waited {timeout} s for {what}")
        time.sleep(0.005)


def kill(name: str) -> None:
    """SIGKILL the server `name` (the kernel's kill) and wait for its restart."""
    old = endpoint(name)
    K.kill(ep=old, signal_name="KILL")
    wait_until(lambda: back(name, old), f"{name} restarted")


class Worker:
    def __init__(self, out: str, mode: str, *args: object) -> None:
        self.out = f"{out}.{mode}.json"
        self.proc = K.spawn(argv=[WORKER, mode, self.out, *map(str, args)],
                            name=f"worker-{mode}", acl=["@public", "naming"])

    def steps(self) -> int:
        try:
            return len(Path(self.out + ".progress").read_text().splitlines())
        except FileNotFoundError:
            return 0

    def after_steps(self, n: int, timeout: float = 60.0) -> None:
        wait_until(lambda: self.steps() >= n or self.exited(), f"worker step {n}", timeout)

    def exited(self) -> bool:
        EXITS.update((record["ep"], record["status"]) for record in K.wait())
        return self.proc["ep"] in EXITS

    def result(self, timeout: float = 120.0) -> dict:
        wait_until(self.exited, "the worker's exit", timeout)
        data = json.loads(Path(self.out).read_text())
        data["status"] = EXITS[self.proc["ep"]]
        return data


def block_messages() -> int:
    return next(row["msgs_in"] for row in K.ps() if row["name"] == "block")


def stream_under_kills(out: str, victim: str, kills: int) -> dict:
    fs_before = endpoint("fs")
    worker = Worker(out, "stream", 160, 12000)
    done = []
    for k in range(kills):
        worker.after_steps(2 + 4 * k)
        if worker.exited():
            break
        kill(victim)
        done.append(worker.steps())
    result = worker.result()
    return {"worker": result, "kills": len(done), "at_steps": done,
            "fs_same": endpoint("fs") == fs_before}


def block_stream(out: str) -> dict:
    return stream_under_kills(out, "block", 5)


def fs_stream(out: str) -> dict:
    return stream_under_kills(out, "fs", 3)


def bulk_under_kills(out: str, victim: str, kills: int) -> dict:
    fs_before = endpoint("fs")
    worker = Worker(out, "bulk", 64)
    worker.after_steps(1)   # "writing": the write call is under way
    done = 0
    for _ in range(kills):
        start = block_messages()
        wait_until(lambda start=start: block_messages() - start >= 40 or worker.steps() >= 2,
                   "fs writing to block")
        if worker.steps() >= 2:
            break   # (the write finished first: too fast to be killed under)
        kill(victim)
        done += 1
    result = worker.result()
    return {"worker": result, "kills": done, "fs_same": endpoint("fs") == fs_before}


def hang(name: str) -> None:
    """SIGSTOP the server `name` (from the host, as a hang would be) and wait for init's
    heartbeats to find it, kill it and restart it."""
    old = endpoint(name)
    pid = next(row["pid"] for row in K.ps() if row["ep"] == old)
    os.kill(pid, signal.SIGSTOP)
    wait_until(lambda: back(name, old), f"{name} found hung and restarted")


def bulk_under_hang(out: str, victim: str) -> dict:
    """A 64 MiB write by grant with `victim` SIGSTOPped while fs is writing to block."""
    worker = Worker(out, "bulk", 64)
    worker.after_steps(1)
    start = block_messages()
    wait_until(lambda: block_messages() - start >= 40 or worker.steps() >= 2,
               "fs writing to block")
    hung = worker.steps() < 2
    if hung:
        hang(victim)
    return {"worker": worker.result(), "hangs": int(hung)}


def bulk_block_stop(out: str) -> dict:
    return bulk_under_hang(out, "block")


def bulk_fs_stop(out: str) -> dict:
    return bulk_under_hang(out, "fs")


def bulk_block(out: str) -> dict:
    return bulk_under_kills(out, "block", 2)


def bulk_fs(out: str) -> dict:
    return bulk_under_kills(out, "fs", 1)


def reads(out: str) -> dict:
    from worker import pattern  # (the same bytes)
    with libipc.open("/home/r", "wb") as f:
        f.write(pattern(2 << 20))
        f.sync()
    worker = Worker(out, "reads", 12)
    done = []
    for k, victim in enumerate(("fs", "block", "fs", "block")):
        worker.after_steps(1 + 2 * k)
        if worker.exited():
            break
        kill(victim)
        done.append(victim)
    Path(worker.out + ".stop").touch()
    return {"worker": worker.result(), "kills": done}


def ack_then_kill(out: str, rounds: str = "6") -> dict:
    from libipc.file import _default_fs
    from libipc.fsclient import client_for
    # fs's endpoint is looked up before each write, so the kill follows the ack with
    # no naming round trip between them: within the 2 ms commit delay as often as can be
    files = {}
    ep = endpoint("fs")
    for r in range(int(rounds)):
        data = f"round {r}\n".encode() * 300
        with libipc.open(f"/home/k{r}", "wb") as f:
            f.write(data)
            K.kill(ep=ep, signal_name="KILL")   # within the commit delay
            f.sync()
        ep = endpoint("fs")   # the fs that took the sync: the next round's
        files[f"/home/k{r}"] = hashlib.sha256(data).hexdigest()
    raw = {}
    fs = libipc.lookup("fs")
    for r in range(int(rounds)):
        data = f"raw {r}\n".encode() * 300
        old = endpoint("fs")
        fs.write(path=f"/home/raw{r}", offset=0, data=data, create=True)
        K.kill(ep=old, signal_name="KILL")
        wait_until(lambda old=old: back("fs", old), "fs restarted")
        fs.sync()
        raw[f"/home/raw{r}"] = hashlib.sha256(data).hexdigest()
    return {"files": files, "raw": raw, "resent": client_for(_default_fs()).resent}


def check(out: str, expected: str) -> dict:
    bad = []
    want = json.loads(Path(expected).read_text())
    for path, sha in want.items():
        try:
            with libipc.open(path, "rb") as f:
                got = hashlib.sha256(f.read()).hexdigest()
        except IpcError as exc:
            got = exc.code
        if got != sha:
            bad.append(path)
    return {"checked": len(want), "bad": bad}


SCENARIOS = {f.__name__: f for f in (block_stream, fs_stream, bulk_block, bulk_fs, reads,
                                     bulk_block_stop, bulk_fs_stop, ack_then_kill, check)}

if __name__ == "__main__":
    sys.path.insert(0, os.path.dirname(WORKER))
    name, out, *args = sys.argv[1:]
    try:
        result = SCENARIOS[name](out, *args)
    except BaseException as exc:   # noqa: BLE001
        result = {"session_error": repr(exc), "traceback": traceback.format_exc()}
    with open(out, "w") as f:
        json.dump(result, f)
