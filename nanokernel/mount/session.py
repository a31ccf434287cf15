"""The mount's session program: in place of the shell, it serves fs on a host directory.

``nanokernel mount`` boots a configuration whose session program is this module
(command.py makes it from the boot configuration).  So it is a nanokernel
process like the shell: init starts it with the servers, it waits in init's
``booted``, its fs calls are messages through the kernel (``--trace`` shows
them), and its exit halts the system with its exit status.

Life: mount NK_MOUNT_POINT with pyfuse3 (fsname "nanokernel"), say so on the
console, serve FUSE requests until the mount ends — ``fusermount3 -u``, or a
SIGTERM/SIGHUP: the host signal of the halt that Ctrl-C or a SIGTERM of
`nanokernel mount` starts (this process is stopped first, before fs), or one sent
through the kernel (libipc.kill) — then unmount, sync
(every write the host made is on the disk), exit 0.  A sync that could
not prove every write (DataLost: fs restarted and a re-send failed) exits 1.

Environment (set by command.py): NK_MOUNT_POINT; NK_MOUNT_STRICT=1 (chmod, chown
and utimes of what fs does not store are EPERM, not session attributes);
NK_MOUNT_RECOVERY (seconds a call waits for a restarted fs before EIO, 10).
"""

from __future__ import annotations

import os
import signal
import sys

from libipc import IpcError, jsonlog
from libipc.runtime import current

log = jsonlog.get_logger()
CALL_TIMEOUT = 60.0      # one fs call (a sync of a big image included): past it, EIO
RECOVERY_S = 10.0        # a call that met a dead fs waits this long for the next one
STOP_RECOVERY_S = 0.5    # … once a stop signal came: the halt may be taking fs away too
STOP_GRACE_S = 2.5       # a stop signal: gone by then (the kernel's grace is 3 s, then
                         # SIGKILL — which would leave a dead mount behind)


def _watchdog(mountpoint: str) -> None:
    """After STOP_GRACE_S, whatever the main thread is stuck in: lazy unmount, exit 1.

    A halt stops the session first, while fs still serves; but a signal to the whole
    process group (a closed terminal's SIGHUP, `timeout`, `kill -TERM -PGID`) stops
    fs and block at the same moment, and a request in flight could wait for them."""
    import subprocess
    import threading
    import time

    def later() -> None:
        time.sleep(STOP_GRACE_S)
        try:
            subprocess.run(["fusermount3", "-u", "-z", mountpoint], timeout=5,
                           capture_output=True)
        finally:
            print(f"nanokernel mount: not done {STOP_GRACE_S} s after the stop signal: "
                  f"{mountpoint} unmounted lazily", file=sys.stderr, flush=True)
            os._exit(1)

    threading.Thread(target=later, name="mount-watchdog", daemon=True).start()


def _say(line: str) -> None:
    from libipc.console import tell_console
    if not tell_console(line):
        print(line, file=sys.stderr, flush=True)   # (the boot's log)


def _disk_name() -> str:
    """What ``mount`` shows as the source: the image's file name, or "ramdisk"."""
    disk = os.environ.get("NK_DISK", "")
    if not disk or disk.startswith("/proc/"):
        return "ramdisk"
    return os.path.basename(disk).replace(",", "_")


def main() -> int:
    current()   # connect (as the session: waits for init's "booted")
    mountpoint = os.environ.get("NK_MOUNT_POINT", "")
    if not mountpoint:
        _say("nanokernel mount: no mount point (NK_MOUNT_POINT)")
        return 2
    import pyfuse3
    import trio

    import libipc.fsclient as fsclient
    from libipc.client import Proxy
    from libipc.signals import signal as nk_signal
    from nanokernel.mount.bridge import Bridge
    from nanokernel.mount.fuseops import NkOperations

    fsclient.RECOVERY_S = float(os.environ.get("NK_MOUNT_RECOVERY") or RECOVERY_S)
    client = fsclient.FsClient(Proxy(name="fs", timeout=CALL_TIMEOUT))
    bridge = Bridge(client, strict_attrs=os.environ.get("NK_MOUNT_STRICT") == "1")
    ops = NkOperations(bridge)
    try:
        left = bridge.remove_hidden()   # (files unlinked while open under a mount that died)
        if left:
            log.warning("mount_hidden_removed", files=left)
    except Exception as exc:
        log.warning("mount_hidden_left", error=repr(exc))
    options = set(pyfuse3.default_options)
    options |= {f"fsname=nanokernel:{_disk_name()}", "subtype=nanokernel"}
    stopping = [False]

    def on_signal(signum: int, frame: object) -> None:
        if not stopping[0]:
            _watchdog(mountpoint)
        stopping[0] = True
        fsclient.RECOVERY_S = STOP_RECOVERY_S
        token = getattr(pyfuse3, "trio_token", None)
        if token is not None:
            token.run_sync_soon(pyfuse3.terminate)

    for signum in (signal.SIGTERM, signal.SIGHUP):
        signal.signal(signum, on_signal)   # the halt's: a host signal (kernel/halt.py)
        nk_signal(signum, on_signal, restart=True)   # `kill -TERM nkmount` in nanokernel
    try:
        pyfuse3.init(ops, mountpoint, options)
    except Exception as exc:   # (RuntimeError: fuse_session_mount failed, and why is on stderr)
        _say(f"nanokernel mount: cannot mount on {mountpoint}: {exc}")
        log.error("mount_failed", mountpoint=mountpoint, error=repr(exc))
        return 1

    async def serve() -> None:
        if not stopping[0]:
            await pyfuse3.main()

    status = 0
    try:   # (from here on, whatever happens: sync and unmount)
        log.info("mounted", mountpoint=mountpoint)
        _say(f"nanokernel: fs mounted on {mountpoint} (unmount: fusermount3 -u {mountpoint})")
        trio.run(serve)
    except BaseException as exc:   # (a bug in the loop: still sync and unmount)
        log.error("mount_loop_failed", error=repr(exc))
        status = 1
    finally:
        try:   # first: no host request comes after this
            pyfuse3.close(unmount=True)
        except Exception as exc:
            log.warning("mount_close", error=repr(exc))
        if stopping[0]:   # (a halt: fs may be going too — short waits)
            client.fs = client.fs.with_timeout(STOP_GRACE_S / 2)
        try:
            bridge.remove_hidden()   # (open and unlinked when the mount ended)
            bridge.sync()
        except Exception as exc:
            log.error("mount_sync_failed", error=repr(exc))
            _say(f"nanokernel mount: the last sync failed: {exc}")
            status = 1
    log.info("unmounted", mountpoint=mountpoint, fs_calls=bridge.calls, status=status)
    if status == 0:
        _say(f"nanokernel: unmounted {mountpoint}, everything synced")
    return status


if __name__ == "__main__":
    try:
        code = main()
    except IpcError as exc:
        log.error("mount_session_failed", error=str(exc))
        code = 1
    sys.exit(code)
