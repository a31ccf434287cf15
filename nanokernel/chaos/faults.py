"""The fault injectors of a campaign, run by its session program (session.py).

Each takes the target's row of the kernel's ``ps`` (``ep``, ``name``, ``pid``) and
does one fault, MINIX's swifi campaign being the model (there: bit flips in a
driver's text; here: what a process can suffer from outside):

    kill          SIGKILL from the host
    stop          SIGSTOP: a hang (init's heartbeats must notice; SIGCONT after
                  STOP_HOLD_S if nothing did, and that is recorded)
    corrupt-ring  an impossible head index written into the target's up ring (the
                  channel's memfd, opened through the kernel's /proc entry, as a
                  stray write would): the kernel must kill the owner, no one else
    garbage       CALLs and SENDs with random bodies, unknown ops, wrong types
    forged        answers forged for the target's own calls in flight (only the
                  callee may answer a call: the kernel must drop them)
    stray-reply   REPLY and ERROR messages for calls never made
    flood         a burst of SENDs and CALLs, far past what the target reads at once
    slow-disk     block waits DELAY ms before each of its next transfers
    disk-error    block fails some of its next transfers with DiskError
    full-disk     a file grown until NoSpace, held a moment, removed

A fault returns a short description for the report; the session decides what
"recovered" means afterwards.
"""

from __future__ import annotations

import mmap
import os
import random
import signal

from libipc._nkffi import ffi, lib

from libipc import IpcError, TooManyCalls, kernel, lookup
from libipc.message import CALL, ERROR, NOTIFY, REPLY, SEND, pack
from libipc.ring import PRODUCER, Ring
from libipc.runtime import current

STRAY_IDS = 1 << 60   # ids of our raw messages: far from any call id the runtime makes
CORRUPT_S = 1.0       # how long corrupt-ring keeps writing a bad head before it gives up


def kill(rng: random.Random, row: dict) -> str:
    os.kill(row["pid"], signal.SIGKILL)
    return f"SIGKILL {row['name']} (pid {row['pid']})"


def stop(rng: random.Random, row: dict) -> str:
    os.kill(row["pid"], signal.SIGSTOP)
    return f"SIGSTOP {row['name']} (pid {row['pid']})"


def corrupt_ring(rng: random.Random, row: dict) -> str:
    """The head index of the target's up ring made impossible, again and again for up
    to CORRUPT_S, until the kernel has killed the owner: its own next put would write
    the right head back, and one write the kernel never read proves nothing."""
    import time
    fd = _channel_fd(row["name"])
    if fd is None:
        raise LookupError(f"no channel of {row['name']} among the kernel's descriptors")
    with mmap.mmap(fd, os.fstat(fd).st_size) as mm:
        os.close(fd)
        cbuf = ffi.from_buffer(mm, require_writable=True)
        up = Ring(cbuf, cbuf, len(mm) // 2, PRODUCER, "up")   # attach before the damage
        head, tail, data = (ffi.new("uint64_t *") for _ in range(3))
        lib.nk_ring_layout(head, tail, data)
        word = ffi.cast("uint64_t *", ffi.cast("uint8_t *", cbuf) + head[0])
        bad = rng.choice([0xDEADBEEFDEADBEEF, int(word[0]) + 3, int(word[0]) + 4 * up.capacity])
        deadline = time.monotonic() + CORRUPT_S
        while _alive(row["pid"]) and time.monotonic() < deadline:
            word[0] = bad
            up.kick()   # the kernel looks now
            time.sleep(0.002)
        del up
        ffi.release(cbuf)
    if _alive(row["pid"]):
        raise LookupError(f"{row['name']} outlived its corrupt ring (healed each time)")
    return f"corrupt {row['name']}'s up ring head"


def _alive(pid: int) -> bool:
    """Whether ``pid`` is still a live process (not a zombie the kernel has not reaped)."""
    try:
        with open(f"/proc/{pid}/stat") as f:
            return f.read().rsplit(")", 1)[1].split()[0] != "Z"
    except (OSError, IndexError):
        return False


def _channel_fd(name: str) -> int | None:
    """The kernel's descriptor of ``name``'s channel (memfd "nk-NAME"), opened by us."""
    kernel_pid = os.getppid()   # the kernel spawned this session
    newest = None
    for entry in os.listdir(f"/proc/{kernel_pid}/fd"):
        try:
            target = os.readlink(f"/proc/{kernel_pid}/fd/{entry}")
        except OSError:
            continue
        if target.startswith(f"/memfd:nk-{name} "):
            newest = max(newest or 0, int(entry))
    if newest is None:
        return None
    return os.open(f"/proc/{kernel_pid}/fd/{newest}", os.O_RDWR | os.O_CLOEXEC)


def garbage(rng: random.Random, row: dict) -> str:
    port = current().transport
    for _ in range(20):
        body = rng.choice([
            rng.randbytes(rng.randint(0, 300)),
            pack(["no_such_op", {}]),
            pack([rng.randint(0, 9), "not a dict"]),
            pack(["read", {"path": rng.randint(0, 9), "size": "x", "grant": [1]}]),
            pack(["write", {"path": "/x", "offset": -5, "data": 7}]),
            pack({"op": "stat"}),
            pack(["stat", {"path": "/" + "a" * rng.randint(0, 5000)}]),
        ])
        port.send(row["ep"], rng.choice([CALL, SEND]), STRAY_IDS + rng.randrange(1 << 20),
                  body, flags=rng.choice([0, 0, 0xFFFF]))
    _drain()
    return f"20 malformed messages to {row['name']}"


def forged(rng: random.Random, row: dict) -> str:
    """Answers forged for the target's own calls in flight: REPLY and ERROR with the
    small ids a runtime really uses, as if from the server it called.  A process cannot
    write the header's src (the kernel stamps it), and the kernel must let only the
    callee answer a call — so none may arrive."""
    port = current().transport
    for msg_id in range(1, 41):
        port.send(row["ep"], rng.choice([REPLY, ERROR]), msg_id,
                  rng.choice([pack(b"forged data"), pack({"code": "FileNotFound"}),
                              rng.randbytes(16)]))
    _drain()
    return f"40 forged answers to {row['name']}'s calls"


def stray_reply(rng: random.Random, row: dict) -> str:
    port = current().transport
    for _ in range(10):
        port.send(row["ep"], rng.choice([REPLY, ERROR]), rng.randrange(1, 1 << 62),
                  pack(rng.choice([None, {"code": "Internal", "message": "stray"}, 42])))
    port.send(row["ep"], NOTIFY, 1 << rng.randrange(0, 31))
    _drain()
    return f"10 replies to {row['name']} for calls it never made"


def flood(rng: random.Random, row: dict) -> str:
    port = current().transport
    body = pack(["heartbeat_never_an_op", {}])
    port.send_many(row["ep"], SEND, [body] * 2000, timeout=5.0)
    for i in range(16):
        port.send(row["ep"], CALL, STRAY_IDS + i, body)
    _drain()
    return f"2016 messages to {row['name']} at once"


def slow_disk(rng: random.Random, row: dict) -> str:
    delay = rng.choice([5, 20, 50])
    count = rng.randint(5, 50)
    lookup("block", timeout=5.0).inject(delay_ms=delay, errors=0, count=count)
    return f"block: {count} transfers {delay} ms slow"


def disk_error(rng: random.Random, row: dict) -> str:
    count = rng.randint(1, 5)
    lookup("block", timeout=5.0).inject(delay_ms=0, errors=count, count=count)
    return f"block: {count} transfers fail"


def full_disk(rng: random.Random, row: dict) -> str:
    import time

    from libipc.errors import NoSpace
    from libipc.file import File
    fs = lookup("fs", timeout=20.0)   # (a hung fs must not hang the campaign)
    grown = 0
    try:
        with File("/chaos-fill", "wb", fs=fs) as f:
            while grown < 1 << 30:
                f.write(bytes(4 << 20))
                grown += 4 << 20
    except NoSpace:
        pass
    finally:
        time.sleep(rng.uniform(0.2, 1.0))   # the workload meets a full disk meanwhile
        _remove_fill(fs)
    return f"disk filled ({grown >> 20} MiB more) and emptied"


def _remove_fill(fs) -> None:
    """The fill must go, or every later write is NoSpace (and counted as allowed)."""
    import time
    deadline = time.monotonic() + 30
    while True:
        try:
            fs.unlink(path="/chaos-fill")
            return
        except IpcError as exc:
            if exc.code == "FileNotFound" or time.monotonic() > deadline:
                return
            time.sleep(0.1)


def _drain() -> None:
    """Wait for the targets to answer our raw CALLs (each holds one of this process's
    kernel call slots until answered) and take what came back — answers nobody waits
    for, which the runtime drops — so that the next fault's calls find room."""
    import time
    deadline = time.monotonic() + 10.0
    while time.monotonic() < deadline:
        try:
            me = [r for r in kernel(5.0).ps() if r["ep"] == current().endpoint]
        except TooManyCalls:
            time.sleep(0.02)
            continue
        except IpcError:
            return
        if not me or me[0].get("calls_in_flight", 0) <= 1:   # (the ps itself)
            return
        time.sleep(0.02)


FAULTS = {"kill": kill, "stop": stop, "corrupt-ring": corrupt_ring, "garbage": garbage,
          "forged": forged, "stray-reply": stray_reply, "flood": flood,
          "slow-disk": slow_disk, "disk-error": disk_error, "full-disk": full_disk}
DISK_FAULTS = ("slow-disk", "disk-error", "full-disk")   # their target is the disk
DISRUPTIVE = ("kill", "stop", "corrupt-ring")            # the target goes down
