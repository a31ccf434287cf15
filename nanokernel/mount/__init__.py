"""nanokernel mount: the fs served on a host directory through FUSE (docs/mount.md).

  command.py   the ``mount`` command (``add_mount_command``), the boot configuration
  session.py   the session program that runs in place of the shell and serves FUSE
  fuseops.py   pyfuse3 Operations: each FUSE request one Bridge method
  bridge.py    host requests by inode as fs calls by path (no FUSE in it)
  errors.py    fs errors to errno

Only command.py is imported by ``nanokernel`` itself; pyfuse3 is loaded by the
session program (and ``fuse_missing`` checks it), so a host without it can run
everything else.
"""

from nanokernel.mount.command import add_mount_command, fuse_missing

__all__ = ["add_mount_command", "fuse_missing"]
