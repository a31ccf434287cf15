"""Which disk a boot uses: ``--disk PATH``, ``--ramdisk``, or the default image.

The default image lives in the user's data directory
(``$XDG_DATA_HOME/nanokernel/disk.img``, default ``~/.local/share/…``) and is
created with mkfs, with a one-line message, on the first boot.  The result is
the boot environment the block server reads (``NK_DISK`` or ``NK_RAMDISK``).
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

DEFAULT_SIZE = "32M"
RAMDISK_SIZE = 16 * 1024 * 1024


def data_dir() -> Path:
    base = os.environ.get("XDG_DATA_HOME") or str(Path.home() / ".local" / "share")
    return Path(base) / "nanokernel"


def default_disk() -> Path:
    return data_dir() / "disk.img"


def disk_env(disk: str | None, ramdisk: bool) -> dict[str, str]:
    """The environment telling the block server what to serve; makes the default image."""
    if ramdisk:
        return {"NK_RAMDISK": str(RAMDISK_SIZE)}
    if disk is not None:
        return {"NK_DISK": str(Path(disk).resolve())}
    path = default_disk()
    if not path.exists():
        from servers.fs.mkfs import mkfs
        path.parent.mkdir(parents=True, exist_ok=True)
        mkfs(path, DEFAULT_SIZE)
        print(f"nanokernel: created a {DEFAULT_SIZE} disk at {path} (first boot)",
              file=sys.stderr)
    return {"NK_DISK": str(path)}
