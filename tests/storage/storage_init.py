"""A small init for the storage tests: naming, block, fs, then one session program.

    python -m kernel.boot tests/storage/storage_init.py SESSION.py [ARGS]

Spawns naming (slot 2), block (acl naming) and fs (acl naming, block; public),
waits until fs is registered, runs SESSION.py (privileged, acl *) and halts
with its exit status.  fs is restarted when it exits (at most MAX_RESTARTS
times; never after exit status 78, a refused mount).  A server that dies
before the session starts halts the boot with status 100 + its exit status.
"""

import os
import sys
import time

from libipc import IpcError, kernel
from libipc.message import NOTIFY, NOTIFY_EXIT
from libipc.naming import NAMING
from libipc.runtime import current

MAX_RESTARTS = 5
EXIT_CORRUPT = 78   # servers.reincarnation.EXIT_WONT_HELP


def say(text: str) -> None:
    print(f"storage_init: {text}", flush=True)


def main() -> int:
    rt = current()
    k = kernel()
    k.spawn(argv=["-m", "servers.naming"], name="naming", acl=["*"], privileged=True, slot=2)
    procs = {}
    procs["block"] = k.spawn(argv=["-m", "servers.block"], name="block", acl=["naming"])
    fs_spec = dict(argv=["-m", "servers.fs"], name="fs", acl=["naming", "block"], public=True)
    procs["fs"] = k.spawn(**fs_spec)
    deadline = time.monotonic() + 30
    while True:
        for rec in k.wait():
            say(f"{rec['name']} exited with {rec['status']} before the session started")
            k.halt(status=100 + (rec["status"] & 0xFF))
            return 0
        try:
            rt.call(NAMING, "lookup", {"name": "fs"})
            break
        except IpcError:
            pass
        if time.monotonic() > deadline:
            say("fs never registered")
            k.halt(status=99)
            return 0
        time.sleep(0.02)
    session = k.spawn(argv=sys.argv[1:], name="session", acl=["*"], privileged=True)
    restarts = 0
    while True:
        msg = rt.next_event(1.0)
        if msg is None or msg.kind != NOTIFY or not msg.id & NOTIFY_EXIT:
            continue
        for rec in k.wait():
            if rec["ep"] == session["ep"]:
                say(f"session exited with {rec['status']}")
                k.halt(status=rec["status"] & 0xFF)
                return 0
            if rec["name"] == "fs":
                if rec["status"] == EXIT_CORRUPT or restarts >= MAX_RESTARTS:
                    say(f"fs exited with {rec['status']}; giving up")
                    continue
                restarts += 1
                say(f"fs exited with {rec['status']}; restarting")
                procs["fs"] = k.spawn(**fs_spec, restarts=restarts)
            else:
                say(f"{rec['name']} exited with {rec['status']}")


if __name__ == "__main__":
    os.environ.setdefault("NK_NAME", "init")
    sys.exit(main())
