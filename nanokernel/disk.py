"""Which disk a boot uses: ``--disk PATH``, ``--ramdisk``, or the default image.

The default image lives in the user's data directory
(``$XDG_DATA_HOME/nanokernel/disk.img``, default ``~/.local/share/…``) and is
created with mkfs, with a one-line message, on the first boot.  The result is
the boot environment the block server reads (``NK_DISK``).

``--ramdisk`` is an image in memory: a memfd this process (the kernel's) makes
and formats with mkfs, which the block server opens by its ``/proc/PID/fd/N``
name.  It lives as long as the boot — block and fs may restart and find their
files again — and dies with the kernel process, leaving nothing behind, not
even after a SIGKILL.  (The block server alone can also serve a blank RAM disk,
``NK_RAMDISK=BYTES``, which the fs server formats; the front end does not use
that: its contents would die with the block process.)

The default image is made under a temporary name and linked into place, so two
first boots at once find one image (and the second is refused: one boot per
image, servers/imagelock.py), and a first boot killed mid-mkfs leaves no
half-made one.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

from servers.imagelock import hold

DEFAULT_SIZE = "32M"
RAMDISK_SIZE = 16 * 1024 * 1024


def data_dir() -> Path:
    base = os.environ.get("XDG_DATA_HOME") or str(Path.home() / ".local" / "share")
    return Path(base) / "nanokernel"


def default_disk() -> Path:
    return data_dir() / "disk.img"


def ramdisk_image(size: int = RAMDISK_SIZE) -> str:
    """A formatted disk image in memory (a memfd held open by this process); its path."""
    from servers.blockdev import BSIZE, DiskImage
    from servers.fs.mkfs import format_device
    fd = os.memfd_create("nk-ramdisk", os.MFD_CLOEXEC)   # children open it by name
    os.ftruncate(fd, size // BSIZE * BSIZE)
    path = f"/proc/{os.getpid()}/fd/{fd}"
    with DiskImage(path) as image:
        format_device(image)
    return path


def disk_env(disk: str | None, ramdisk: bool) -> dict[str, str]:
    """The environment telling the block server what to serve; makes the default image."""
    if ramdisk:
        return {"NK_DISK": ramdisk_image()}
    if disk is not None:
        path = Path(disk).resolve()
    else:
        path = default_disk()
        if not path.exists():
            _make_default(path)
        _upgrade_default(path)
    hold(path)   # one boot per image (servers/imagelock.py): Busy if another has it
    return {"NK_DISK": str(path)}


def _upgrade_default(path: Path) -> None:
    """The default image of an older format is upgraded (the user's files are in it;
    the old image stays beside it).  An image named with --disk is refused instead,
    with the command that upgrades it."""
    from servers.fs.upgrade import needs_upgrade, upgrade_if_old
    if not needs_upgrade(path):
        return
    print(f"nanokernel: {path} is of an older disk format; upgrading it (once)...",
          file=sys.stderr)
    kept = upgrade_if_old(path)   # (Busy: another boot is using it)
    if kept is not None:   # (None: another boot upgraded it meanwhile)
        print(f"nanokernel: upgraded; the old image is kept as {kept}", file=sys.stderr)


def _make_default(path: Path) -> None:
    """mkfs under a temporary name, then link it in: whoever links first wins."""
    from servers.fs.mkfs import mkfs
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    try:
        mkfs(tmp, DEFAULT_SIZE, overwrite=True)
        os.link(tmp, path)
    except FileExistsError:
        return   # another boot made it first: use that one
    finally:
        tmp.unlink(missing_ok=True)
    print(f"nanokernel: created a {DEFAULT_SIZE} disk at {path} (first boot)",
          file=sys.stderr)

