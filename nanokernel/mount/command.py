"""``nanokernel mount MOUNTPOINT [--disk PATH | --ramdisk]``: the fs on a host directory.

It boots as ``nanokernel boot`` does, with one difference: the boot
configuration's session program (the shell) is replaced by the mount's
(nanokernel/mount/session.py), which serves fs through FUSE on MOUNTPOINT until
the mount ends (``fusermount3 -u MOUNTPOINT``, Ctrl-C, SIGTERM); then the system
halts as after a shell's exit, every server stopped in order, fs last but block.

The configuration is the packaged boot.toml (or ``--config FILE``) with its
session table swapped, written to a temporary file for the boot (its relative
``path =`` entries made absolute).  Set-up problems — no pyfuse3, no libfuse3 or
fusermount3, no /dev/fuse, a mount point that is not an empty directory — are
one line each, status 2, before anything boots.
"""

from __future__ import annotations

import argparse
import errno
import os
import re
import shutil
import sys
import tempfile
from pathlib import Path

INSTALL_HINT = "apt-get install fuse3 libfuse3-dev"
SESSION_MODULE = "nanokernel.mount.session"


def fuse_missing() -> str | None:
    """Why FUSE cannot work on this host (one line), or None when it can."""
    if shutil.which("fusermount3") is None:
        return f"fusermount3 not found (libfuse3 is missing): {INSTALL_HINT}"
    if not os.path.exists("/dev/fuse"):
        return "/dev/fuse is missing (no FUSE in this kernel or container)"
    try:
        import pyfuse3  # noqa: F401
    except ImportError as exc:
        if "libfuse3" in str(exc):
            return f"pyfuse3 cannot load libfuse3 ({exc}): {INSTALL_HINT}"
        return (f"pyfuse3 is not installed ({exc}): pip install 'nanokernel[fuse]' "
                f"(it needs {INSTALL_HINT})")
    return None


def mount_config(source: Path, dest: Path) -> Path:
    """``source``'s configuration with its session program replaced by the mount's,
    written to ``dest``; returns ``dest``."""
    from servers.bootconfig import load
    config = load(source)
    text = source.read_text()
    session = config.session
    if session is not None:   # cut its table out: from its header to the next one
        header = re.compile(rf"^\[servers\.{re.escape(session.name)}\][^\n]*\n", re.M)
        found = header.search(text)
        if found is not None:
            rest = re.compile(r"^\[", re.M).search(text, found.end())
            end = rest.start() if rest is not None else len(text)
            text = text[:found.start()] + text[end:]
    base = source.resolve().parent
    text = re.sub(r'^(path\s*=\s*")([^"/][^"]*)"',
                  lambda m: f'{m.group(1)}{(base / m.group(2)).resolve()}"', text, flags=re.M)
    names = [n for n in config.servers if n != (session.name if session else None)]
    calls = [n for n in ("fs", "console") if n in names]
    table = (f'[servers.nkmount]           # nanokernel mount: FUSE in place of the shell\n'
             f'module = "{SESSION_MODULE}"\n'
             f'session = true\n'
             f'calls = {calls!r}\n'.replace("'", '"') +
             f'depends = {calls!r}\n'.replace("'", '"'))
    first = re.compile(r"^\[(?!servers\.)", re.M).search(text)   # before [restart] etc.
    at = first.start() if first is not None else len(text)
    text = text[:at] + table + "\n" + text[at:]
    dest.write_text(text)
    load(dest)   # (checked: a mistake here is one line, before the boot)
    return dest


def check_mountpoint(path: str) -> str | None:
    """Why ``path`` cannot be mounted on (one line), or None."""
    p = Path(path)
    try:
        os.stat(p)
    except OSError as exc:
        if exc.errno == errno.ENOTCONN:
            return (f"{path}: a dead FUSE mount is there (its server is gone): "
                    f"fusermount3 -u -z {path}")
        return f"{path}: {exc.strerror}"
    if not p.is_dir():
        return f"{path}: not a directory"
    if os.path.ismount(p):
        return f"{path}: already a mount point (fusermount3 -u {path} first?)"
    try:
        if any(p.iterdir()):
            return f"{path}: not empty (FUSE would hide its files)"
    except OSError as exc:
        return f"{path}: {exc.strerror}"
    return None


def run_mount(args: argparse.Namespace) -> int:
    """The ``mount`` command: check, boot with the mount session, halt; exit status."""
    def fail(line: str) -> int:
        print(f"nanokernel mount: {line}", file=sys.stderr)
        return 2

    why = fuse_missing() or check_mountpoint(args.mountpoint)
    if why:
        return fail(why)
    from kernel.boot import BootOptions, run
    from libipc.errors import IpcError
    from nanokernel.cli import INIT_ARGV
    from nanokernel.disk import disk_env
    from nanokernel.paths import default_log_path
    from servers.bootconfig import BootConfigError, default_path

    source = Path(args.config).resolve() if args.config else default_path()
    with tempfile.TemporaryDirectory(prefix="nk-mount-") as tmp:
        try:
            config = mount_config(source, Path(tmp) / "boot.toml")
            env = disk_env(args.disk, args.ramdisk)
        except (BootConfigError, IpcError, OSError) as exc:
            return fail(str(exc))
        env.update({"NK_CONFIG": str(config), "NK_INTERACTIVE": "0", "NK_MODE": "process",
                    "NK_MOUNT_POINT": str(Path(args.mountpoint).resolve())})
        if args.strict_attrs:
            env["NK_MOUNT_STRICT"] = "1"
        if args.recovery is not None:
            env["NK_MOUNT_RECOVERY"] = str(args.recovery)
        trace = Path(args.trace).resolve() if args.trace else None
        log = Path(args.log).resolve() if args.log else default_log_path()
        return run(BootOptions(init_argv=list(INIT_ARGV), log_path=log, trace_path=trace,
                               env=env, interactive=False))


def add_mount_command(sub: argparse._SubParsersAction) -> argparse.ArgumentParser:
    """Add ``mount`` to nanokernel's subcommands (nanokernel/cli.py build_parser)."""
    p = sub.add_parser("mount", help="serve the fs on a host directory (FUSE): mount DIR",
                       description="Boot nanokernel without a shell and serve its fs on "
                                   "MOUNTPOINT through FUSE, until `fusermount3 -u "
                                   "MOUNTPOINT` or Ctrl-C; then halt with everything synced "
                                   "(docs/mount.md).")
    p.add_argument("mountpoint", metavar="MOUNTPOINT", help="an empty host directory")
    disk = p.add_mutually_exclusive_group()
    disk.add_argument("--disk", metavar="PATH", help="disk image to serve (default: your "
                      "persistent image in $XDG_DATA_HOME/nanokernel/disk.img)")
    disk.add_argument("--ramdisk", action="store_true", help="a throwaway in-memory disk")
    p.add_argument("--config", metavar="FILE", help="boot configuration (boot.toml); its "
                   "session program is replaced by the mount's")
    p.add_argument("--trace", metavar="FILE", help="trace every message to FILE (JSON lines)")
    p.add_argument("--log", metavar="FILE", help="per-boot log file")
    p.add_argument("--strict-attrs", action="store_true", help="chmod, chown and utimes of "
                   "what fs does not store fail with EPERM (default: kept in memory until "
                   "unmount)")
    p.add_argument("--recovery", metavar="SECONDS", type=float, help="how long a request "
                   "waits for a restarted fs before it fails with EIO (default 10)")
    p.set_defaults(func=run_mount)
    return p


def main(argv: list[str] | None = None) -> int:
    """``python -m nanokernel.mount MOUNTPOINT ...`` (before the lead wires ``mount``)."""
    parser = argparse.ArgumentParser(prog="nanokernel")
    sub = parser.add_subparsers(dest="command", required=True)
    add_mount_command(sub)
    args = parser.parse_args(["mount", *(sys.argv[1:] if argv is None else argv)])
    try:
        return args.func(args)
    except KeyboardInterrupt:
        return 130
