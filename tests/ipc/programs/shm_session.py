"""The session program of the shared-memory tests: ``shm_session.py SCENARIO OUT.json``.

Each child is spawned first (a grant names its endpoint), then granted, then told
the grant id through a pipe (programs/shm_child.py).
"""

from __future__ import annotations

import json
import signal
import sys
import time
import traceback
from pathlib import Path

import libipc.pipe
from libipc import IpcError, kernel, shm
from libipc.pipe import pipe
from libipc.pipe_region import CAPACITY

CHILD = str(Path(__file__).resolve().parent / "shm_child.py")
K = kernel()
EXITS: dict[int, int] = {}
libipc.pipe.MAP_REGIONS = False   # the pipes that tell grants: no region of theirs held here


class Child:
    def __init__(self, mode: str) -> None:
        r, self.w = pipe()
        self.proc = K.spawn(argv=[CHILD, mode, str(r.token)], name=f"shm-{mode}",
                            acl=["@public", "naming"])
        self.ep = self.proc["ep"]
        r.give(self.ep)

    def tell(self, grant: int) -> None:
        self.w.write(f"{grant}\n".encode())

    def status(self, timeout: float = 20.0) -> int:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            EXITS.update((r["ep"], r["status"]) for r in K.wait())
            if self.ep in EXITS:
                return EXITS[self.ep]
            time.sleep(0.01)
        raise TimeoutError(f"{self.ep} did not exit")


def granted(region, mode: str, writable: bool = False) -> Child:
    child = Child(mode)
    child.grant = region.grant(child.ep, writable=writable)
    child.tell(child.grant)
    return child


def code_of(fn) -> str:
    try:
        fn()
    except IpcError as exc:
        return exc.code
    return "no error"


def stats() -> tuple[int, int]:
    """The kernel's regions and their bytes, but for the pipes' (the children are told
    their grants through pipes, whose regions the pipe server holds and no end maps)."""
    from libipc._nkffi import lib
    s = K.stats()
    pipes = K.whoami(ep=next(row["ep"] for row in K.ps() if row["name"] == "pipe"))
    n = pipes["shm_held"]
    return s["shm_regions"] - n, s["shm_bytes"] - n * lib.nk_pipe_bytes_for(CAPACITY)


def wait_until(cond, what: str, timeout: float = 10.0) -> None:
    deadline = time.monotonic() + timeout
    while not cond():
        if time.monotonic() > deadline:
            raise TimeoutError(what)
        time.sleep(0.005)


def basic() -> dict:
    """A writable grant: the child upper-cases the bytes in place and we see them; a
    read-only grant's mapping cannot be written."""
    region = shm.create(1 << 20)
    region.buf[:11] = b"hello world"
    out = {"status": granted(region, "upper", writable=True).status()}
    out["bytes"] = bytes(region.buf[:11]).decode()
    out["rest_zero"] = not any(region.buf[11:])
    out["readonly_status"] = granted(region, "readonly").status()
    out["stats_open"] = stats()
    region.close()
    out["stats_closed"] = stats()
    return out


def checks() -> dict:
    """The kernel refuses what is not granted: another endpoint's grant, a forged id, a
    revoked grant, a stale one (the region freed), writing from a read-only grant, bad
    sizes."""
    region = shm.create(4096)
    other = Child("map")
    for_other = region.grant(other.ep)
    thief = Child("map")
    thief.tell(for_other)                       # a grant for someone else
    out = {"thief": thief.status()}
    forger = Child("map")
    forger.tell(12345)                          # a guessed id
    out["forged"] = forger.status()
    revoked = Child("map")
    gid = region.grant(revoked.ep)
    region.revoke(gid)
    revoked.tell(gid)
    out["revoked"] = revoked.status()
    other.tell(for_other)
    out["rightful"] = other.status()
    out["bad"] = [code_of(lambda: shm.create(0)), code_of(lambda: shm.create(1 << 40)),
                  code_of(lambda: K.shm_create(size="big")),
                  code_of(lambda: K.shm_grant(region=region.id, ep=999999)),
                  code_of(lambda: K.shm_grant(region=77, ep=K.whoami()["ep"])),
                  code_of(lambda: K.shm_revoke(grant=for_other + 1)),
                  code_of(lambda: K.shm_close(region=77))]
    stale_child = Child("map")
    stale = region.grant(stale_child.ep)
    region.close()                              # the last holder: the region is freed
    stale_child.tell(stale)
    out["stale"] = stale_child.status()
    out["stats"] = stats()
    return out


def lifetimes() -> dict:
    """A region lives while someone holds it: the creator closing it leaves it to a
    holder; a holder SIGKILLed lets go; a mapping made before a revoke stays live."""
    region = shm.create(8192)
    holder = granted(region, "hold")
    wait_until(lambda: held(holder) == 1, "the holder maps it")
    region.close()
    out = {"after_creator_closed": stats()[0]}
    K.kill(ep=holder.ep, signal_name="KILL")
    holder.status()
    out["after_holder_killed"] = stats()[0]
    region = shm.create(4096)
    watcher = granted(region, "watch")
    wait_until(lambda: held(watcher) == 1, "the watcher maps it")
    region.revoke(watcher.grant)
    region.buf[0:1] = b"!"                      # seen through the mapping made before
    out["watch"] = watcher.status()
    region.close()
    out["end"] = stats()
    return out


def held(child: Child) -> int:
    return K.whoami(ep=child.ep)["shm_held"]


def limits() -> dict:
    """One process's grants are bounded (MAX_GRANTS_EACH), not only all of them."""
    from kernel.grants import MAX_GRANTS_EACH
    region = shm.create(4096)
    me = K.whoami()["ep"]
    gids = [region.grant(me) for _ in range(MAX_GRANTS_EACH)]
    out = {"one_more": code_of(lambda: region.grant(me))}
    out["hog_got"] = Child("hog").status()      # 1 GiB regions an unprivileged one may make
    region.revoke(gids[0])
    out["after_revoke"] = code_of(lambda: region.grant(me))
    out["grants"] = K.stats()["shm_grants"] == MAX_GRANTS_EACH
    region.close()
    out["end"] = K.stats()["shm_grants"]
    return out


def unreceived() -> dict:
    """Descriptors the process never takes (raw shm_map calls, as interrupted calls
    leave them): few queue before WouldBlock, and libipc's next map still works."""
    region = shm.create(4096)
    gid = region.grant(K.whoami()["ep"])
    queued, code = 0, "no error"
    while queued < 1000:
        try:
            K.shm_map(grant=gid)
        except IpcError as exc:
            code = exc.code
            break
        queued += 1
    out = {"few": queued <= 32, "code": code}
    out["then"] = code_of(lambda: shm.map(gid).close())
    region.close()
    return out


def sealed() -> dict:
    """A writable holder cannot resize the memfd (a shrink would make the other
    mappers' accesses SIGBUS: a client could crash fs by shrinking its own grant)."""
    import os

    from libipc import fdlink
    reply = K.shm_create(size=8192)
    fd = reply["fd"] if "fd" in reply else fdlink.receive(f"r{reply['region']}")
    out = {}
    for what, size in (("shrink", 0), ("grow", 1 << 20)):
        try:
            os.ftruncate(fd, size)
            out[what] = "allowed"
        except PermissionError:
            out[what] = "EPERM"
    out["size"] = os.fstat(fd).st_size
    os.close(fd)
    K.shm_close(region=reply["region"])
    return out


def twice() -> dict:
    """Two Regions of one region in one process: closing one keeps the other's hold
    (before, the first close let go for both: the other's grant was PermissionDenied)."""
    base = stats()[0]
    region = shm.create(8192)
    again = shm.map(region.grant(K.whoami()["ep"]))
    region.buf[:2] = b"hi"
    seen = bytes(again.buf[:2]).decode()
    again.close()
    out = {"held": stats()[0] - base, "same": seen,
           "grant": code_of(lambda: region.grant(K.whoami()["ep"]))}
    region.close()
    out["after"] = stats()[0] - base
    return out


SCENARIOS = {f.__name__: f for f in (basic, checks, lifetimes, limits, unreceived, sealed,
                                     twice)}

if __name__ == "__main__":
    name, out = sys.argv[1], sys.argv[2]
    signal.signal(signal.SIGPIPE, signal.SIG_DFL)
    try:
        result = SCENARIOS[name]()
    except BaseException as exc:   # noqa: BLE001
        result = {"session_error": repr(exc), "traceback": traceback.format_exc()}
    with open(out, "w") as f:
        json.dump(result, f)
