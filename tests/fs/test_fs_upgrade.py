"""A format-1 image (60-byte names) upgraded to format 2: the same tree and bytes in a
new image that fsck finds clean, the old one kept beside it — by `nanokernel mkfs
--upgrade`, and by a boot for the default image."""

from __future__ import annotations

import dataclasses
import os
import random
import subprocess
from pathlib import Path

from libipc._nkffi import ffi

from servers.blockdev import DiskImage
from servers.fs.filesystem import FileSystem
from servers.fs.fsck import fsck
from servers.fs.layout import BSIZE, dinodes, inode_location, parse_superblock, superblock_bytes
from servers.fs.mkfs import mkfs
from servers.fs.upgrade import V1_DIRSIZ, needs_upgrade, upgrade
from tests.conftest import NANOKERNEL

NAME_60 = "n" * V1_DIRSIZ
BIG = random.Random(7).randbytes(300_000)   # direct and indirect blocks


def _tree(fs: FileSystem) -> None:
    fs.write("/home/a.txt", 0, b"hello from format 1\n", create=True)
    fs.mkdir("/home/sub")
    fs.mkdir("/home/sub/deep")
    fs.write("/home/sub/deep/b.bin", 0, BIG, create=True)
    fs.write(f"/home/{NAME_60}", 0, b"long name", create=True)
    fs.mkfifo("/home/p")
    fs.truncate("/etc/motd", 0)
    fs.write("/etc/motd", 0, b"my own motd\n")


def _format1_image(path: Path, tree=_tree,
                   dirs=("/", "/etc", "/home", "/home/sub", "/home/sub/deep")) -> None:
    """A format-2 image made, then its directories rewritten as format 1 wrote them."""
    mkfs(path, "4M")
    with DiskImage(path) as image:
        fs = FileSystem(image)
        fs.mount()
        tree(fs)
        entries = {}
        for d in dirs:
            inum = fs.stat(d)["inum"]
            names = [(".", inum), ("..", fs.stat(os.path.dirname(d) or "/")["inum"])]
            names += [(e["name"], fs.stat(os.path.join(d, e["name"]))["inum"])
                      for e in fs.readdir(d)]
            entries[inum] = names
        fs.unmount()
        sb = parse_superblock(image.read(0, 1))
        for inum, names in entries.items():
            block, index = inode_location(sb, inum)
            raw = bytearray(image.read(block, 1))
            d = dinodes(raw)[index]
            assert len(names) <= BSIZE // ffi.sizeof("struct nk_dirent_v1")
            data = bytearray(BSIZE)
            old = ffi.from_buffer("struct nk_dirent_v1[]", data)
            for i, (name, child) in enumerate(names):
                old[i].inum = child
                ffi.memmove(old[i].name, name.encode().ljust(V1_DIRSIZ, b"\0"), V1_DIRSIZ)
            image.write(d.direct[0], bytes(data))
            d.size = len(names) * ffi.sizeof("struct nk_dirent_v1")
            image.write(block, bytes(raw))
        image.write(0, superblock_bytes(dataclasses.replace(sb, version=1)))


def _check_tree(path: Path) -> None:
    with DiskImage(path) as image:
        fs = FileSystem(image)
        fs.mount()
        assert b"hello from format 1\n" == fs.read("/home/a.txt", 0, 100)
        assert BIG == b"".join(fs.read("/home/sub/deep/b.bin", off, 60_000)
                               for off in range(0, len(BIG), 60_000))
        assert b"long name" == fs.read(f"/home/{NAME_60}")
        assert "fifo" == fs.stat("/home/p")["type"]
        assert b"my own motd\n" == fs.read("/etc/motd")
        assert ["a.txt", NAME_60, "p", "sub"] == [e["name"] for e in fs.readdir("/home")]
    report = fsck(path)
    assert report.clean, report.render()


def test_upgrade_copies_the_tree_and_keeps_the_old_image(tmp_path: Path) -> None:
    path = tmp_path / "disk.img"
    _format1_image(path)
    assert needs_upgrade(path)
    kept = upgrade(path)
    assert tmp_path / "disk.img.v1" == kept and needs_upgrade(kept)
    assert not needs_upgrade(path)
    _check_tree(path)
    assert ["disk.img", "disk.img.v1"] == sorted(os.listdir(tmp_path))   # nothing else


def test_mkfs_upgrade_and_a_boot_on_the_old_image(nk_env, tmp_path: Path) -> None:
    path = tmp_path / "disk.img"
    _format1_image(path)
    refused = subprocess.run([*NANOKERNEL, "boot", "--disk", str(path), "--log",
                              str(tmp_path / "1.log"), "-c", "ls /home"], env=nk_env,
                             capture_output=True, text=True, timeout=90,
                             stdin=subprocess.DEVNULL)
    assert "nanokernel mkfs PATH --upgrade" in refused.stdout, refused.stdout
    r = subprocess.run([*NANOKERNEL, "mkfs", str(path), "--upgrade"], env=nk_env,
                       capture_output=True, text=True, timeout=90)
    assert 0 == r.returncode and "the old image is kept as" in r.stdout, r.stdout + r.stderr
    again = subprocess.run([*NANOKERNEL, "mkfs", str(path), "--upgrade"], env=nk_env,
                           capture_output=True, text=True, timeout=90)
    assert 1 == again.returncode and "nothing to upgrade" in again.stderr
    _check_tree(path)


def test_a_boot_upgrades_the_default_image(nk_env, tmp_path: Path) -> None:
    data = Path(nk_env["XDG_DATA_HOME"]) / "nanokernel"
    data.mkdir(parents=True)
    _format1_image(data / "disk.img")
    r = subprocess.run([*NANOKERNEL, "boot", "--log", str(tmp_path / "b.log"), "-c",
                        "cat /home/a.txt"], env=nk_env, capture_output=True, text=True,
                       timeout=120, stdin=subprocess.DEVNULL)
    assert 0 == r.returncode, r.stdout + r.stderr
    assert "hello from format 1" in r.stdout
    assert "upgraded; the old image is kept as" in r.stderr
    assert needs_upgrade(data / "disk.img.v1")
    _check_tree(data / "disk.img")


def _sparse_without_etc(fs: FileSystem) -> None:
    fs.unlink("/etc/motd")
    fs.rmdir("/etc")
    fs.write("/home/sparse", 5_000_000, b"end", create=True)   # a 5 MB file on a 4 MB disk
    fs.truncate("/home/sparse", 64 << 20)
    fs.write("/.nkmount-hidden-7", 0, b"a dead mount's", create=True)


def test_holes_stay_holes_and_what_was_removed_stays_removed(tmp_path: Path) -> None:
    path = tmp_path / "disk.img"
    _format1_image(path, _sparse_without_etc, dirs=("/", "/home"))
    upgrade(path)
    with DiskImage(path) as image:
        fs = FileSystem(image)
        fs.mount()
        assert ["home"] == [e["name"] for e in fs.readdir("/")]   # no /etc, no hidden file
        info = fs.stat("/home/sparse")
        assert 64 << 20 == info["size"] and info["blocks"] < 20   # (64 MiB would be 16384)
        assert b"end" == fs.read("/home/sparse", 5_000_000, 3)
    assert fsck(path).clean


def test_an_upgrade_that_does_not_fit_leaves_the_image_as_it_was(tmp_path: Path,
                                                                 monkeypatch) -> None:
    """A short write (the new image full part-way: fs.write's count, not an error)
    fails the upgrade; the old image is left as it was and nothing else is left."""
    import pytest

    from libipc.errors import NoSpace
    path = tmp_path / "disk.img"
    _format1_image(path)
    before = path.read_bytes()
    write = FileSystem.write
    monkeypatch.setattr(FileSystem, "write", lambda self, p, offset, data, create=False:
                        write(self, p, offset, data, create) - (p == "/home/sub/deep/b.bin"))
    with pytest.raises(NoSpace, match="is unchanged"):
        upgrade(path)
    assert before == path.read_bytes()
    assert ["disk.img"] == os.listdir(tmp_path)
