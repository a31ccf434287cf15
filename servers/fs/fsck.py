"""fsck — check a filesystem image without trusting any of it.

Reads an image (a path or a BlockDevice) and reports every inconsistency it
finds as a short "where: what" line.  It never writes, and it never crashes:
every number read from the image is range-checked before it is used, every
block is followed at most once (so no loop in the tree and no shared block
can make it run forever), and the work is bounded by the image's size.

Passes, in order (a pass that cannot run explains why and stops the check):
  1. the image: readable, non-empty, a whole number of blocks;
  2. the superblock: magic, version, block size, geometry within the image;
  3. the log: a committed transaction not yet installed is replayed in
     memory (as mount would) and noted; a malformed header is a problem;
  4. the inode table: types, sizes, every block pointer inside the data area,
     no block used twice, no data block past a file's size (holes are fine),
     a FIFO of size 0 with no block at all (its bytes are the pipe server's);
  5. the bitmap: in use <=> marked in use, metadata always marked;
  6. the tree from "/": entries name in-use inodes, names are valid and
     unique, "." and ".." are right, no directory is reached twice;
  7. link counts: nlink == entries naming the inode; in-use inodes that no
     directory names are reported (nlink 0: an orphan mount will free).

`main(argv)` is `nanokernel fsck PATH`: prints the report, exits 0 (clean),
1 (problems) or 2 (image unreadable).
"""

from __future__ import annotations

import math
import os
import stat
import sys
from collections import Counter, deque
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from libipc._nkffi import ffi

from libipc.errors import Busy
from servers.blockdev import BlockDevice
from servers.imagelock import Checking

from .layout import (
    BSIZE,
    DIRENT_SIZE,
    DIRSIZ,
    DOUBLE_BASE,
    DPB,
    IPB,
    MAX_FILE_SIZE,
    MAXFILE_BLOCKS,
    NDIRECT,
    NINDIRECT,
    ROOTINO,
    SYMLINK_MAX,
    T_DIR,
    T_FIFO,
    T_FILE,
    T_FREE,
    T_SYMLINK,
    Superblock,
    dinodes,
    dirents,
    parse_logheader,
    parse_superblock,
    pointer_list,
    superblock_problems,
)
from .log import header_problem

MAX_PROBLEMS = 200  # listed; the rest are counted


@dataclass
class FsckReport:
    """What fsck found: `problems` make an image unclean, `notes` do not."""

    path: str
    problems: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    unreadable: bool = False
    omitted: int = 0

    @property
    def clean(self) -> bool:
        return not self.problems and not self.unreadable

    @property
    def exit_status(self) -> int:
        return 2 if self.unreadable else (0 if self.clean else 1)

    def problem(self, text: str) -> None:
        if len(self.problems) < MAX_PROBLEMS:
            self.problems.append(text)
        else:
            self.omitted += 1

    def render(self) -> str:
        total = len(self.problems) + self.omitted
        if self.unreadable:
            head = f"fsck {self.path}: cannot check"
        elif total:
            head = f"fsck {self.path}: {total} problem{'s' if total != 1 else ''}"
        else:
            head = f"fsck {self.path}: clean"
        lines = [head, *(f"  note: {n}" for n in self.notes),
                 *(f"  {p}" for p in self.problems)]
        if self.omitted:
            lines.append(f"  ... and {self.omitted} more")
        return "\n".join(lines)


def fsck(target: str | os.PathLike[str] | BlockDevice) -> FsckReport:
    """Check the image at `target` (a path or a BlockDevice)."""
    name = str(target) if isinstance(target, str | os.PathLike) else repr(target)
    report = FsckReport(name)
    try:
        image = _Image.open(target, report)
        if image is not None:
            try:
                _Checker(image, report).run()
            finally:
                image.close()
    except Exception as e:  # the last net: a report, whatever the image holds
        report.problem(f"fsck: internal error: {type(e).__name__}: {e}")
    return report


def main(argv: list[str] | None = None) -> int:
    """`nanokernel fsck PATH`: print the report; exit 0 clean, 1 problems, 2 unreadable."""
    import argparse  # here: the fs server imports this module, and never parses
    parser = argparse.ArgumentParser(prog="nanokernel fsck",
                                     description="Check a nanokernel disk image.")
    parser.add_argument("path", help="image file to check")
    args = parser.parse_args(argv)
    try:
        with Checking(args.path):   # a running boot's image is mid-change
            report = fsck(args.path)
    except Busy as e:
        print(f"fsck: {e.message}", file=sys.stderr)
        return 2
    print(report.render())
    return report.exit_status


class _Image:
    """Blocks of the image being checked, with the replayed log laid over them."""

    def __init__(self, read_block: Callable[[int], bytes], size: int,
                 close: Callable[[], None] | None = None) -> None:
        self._read_block = read_block
        self.size = size
        self._close = close
        self.overlay: dict[int, bytes] = {}

    @classmethod
    def open(cls, target: str | os.PathLike[str] | BlockDevice,
             report: FsckReport) -> _Image | None:
        if not isinstance(target, str | os.PathLike):
            if target.block_size != BSIZE:
                report.problem(f"device: block size {target.block_size}, expected {BSIZE}")
                return None
            return cls(lambda b: target.read(b, 1), target.nblocks * BSIZE)
        try:
            if not stat.S_ISREG(os.stat(target).st_mode):  # a FIFO would block open()
                raise OSError(0, "not a regular file")
            fd = os.open(target, os.O_RDONLY)
        except OSError as e:
            report.unreadable = True
            report.problem(f"{target}: cannot open: {e.strerror}")
            return None
        size = os.fstat(fd).st_size
        return cls(lambda b: os.pread(fd, BSIZE, b * BSIZE), size, lambda: os.close(fd))

    def read(self, block: int) -> bytes:
        data = self.overlay.get(block)
        if data is None:
            data = self._read_block(block)
        return bytes(data).ljust(BSIZE, b"\0")

    def close(self) -> None:
        if self._close is not None:
            self._close()


@dataclass
class _InodeInfo:
    type: int
    nlink: int
    size: int
    dir_blocks: list[tuple[int, int]] = field(default_factory=list)  # (lbn, block)


class _Checker:
    def __init__(self, image: _Image, report: FsckReport) -> None:
        self.image = image
        self.report = report
        self.problem = report.problem
        self.sb: Superblock
        self.inodes: dict[int, _InodeInfo] = {}
        self.owner: dict[int, int] = {}  # block -> inode that holds it

    def run(self) -> None:
        for step in (self._check_image, self._check_superblock, self._replay_log):
            if not step():
                return
        self._check_inodes()
        self._check_bitmap()
        refs = self._check_tree()
        self._check_links(refs)
        kinds = Counter(i.type for i in self.inodes.values())
        others = f", {kinds[T_FIFO]} fifos" if kinds[T_FIFO] else ""
        others += f", {kinds[T_SYMLINK]} symbolic links" if kinds[T_SYMLINK] else ""
        self.report.notes.append(
            f"{self.sb.nblocks} blocks ({len(self.owner)} data blocks in use), "
            f"{len(self.inodes)} inodes in use: {kinds[T_FILE]} files, "
            f"{kinds[T_DIR]} directories{others}")

    # --- passes 1-3: image, superblock, log --------------------------------
    def _check_image(self) -> bool:
        size = self.image.size
        if size < BSIZE:
            self.problem(f"image: {size} bytes, too small to hold a superblock")
            return False
        if size % BSIZE:
            self.problem(f"image: size {size} is not a multiple of {BSIZE} (truncated?)")
        return True

    def _check_superblock(self) -> bool:
        self.sb = parse_superblock(self.image.read(0))
        problems = superblock_problems(self.sb, self.image.size // BSIZE)
        for p in problems:
            self.problem(p)
        return not problems

    def _replay_log(self) -> bool:
        sb = self.sb
        n, homes = parse_logheader(self.image.read(sb.logstart))
        if n == 0:
            return True
        problem = header_problem(sb, n, homes)
        if problem:
            self.problem(problem + " (not replayed)")
            return True
        data = [self.image.read(sb.logstart + 1 + i) for i in range(n)]
        self.image.overlay.update(zip(homes, data, strict=True))
        self.report.notes.append(f"log: a committed transaction of {n} blocks was not "
                                 "installed yet; checked as if installed (mount will)")
        return True

    # --- pass 4: inodes and block maps --------------------------------------
    def _check_inodes(self) -> None:
        sb = self.sb
        for ib in range(sb.ninodeblocks):
            arr = dinodes(self.image.read(sb.inodestart + ib))
            for k in range(IPB):
                inum = ib * IPB + k
                if inum >= sb.ninodes:
                    break
                self._check_inode(inum, arr[k])

    def _check_inode(self, inum: int, d: Any) -> None:
        itype = d.type
        if itype == T_FREE:
            return
        if inum == 0:
            self.problem("inode 0: in use, but inode 0 is reserved")
            return
        if itype not in (T_DIR, T_FILE, T_FIFO, T_SYMLINK):
            self.problem(f"inode {inum}: bad type {itype}")
            return
        info = _InodeInfo(itype, d.nlink, d.size)
        self.inodes[inum] = info
        if itype == T_FIFO and info.size:
            self.problem(f"inode {inum}: fifo of size {info.size} (a fifo holds no bytes)")
        elif itype == T_SYMLINK and not 1 <= info.size <= SYMLINK_MAX:
            self.problem(f"inode {inum}: symbolic link of size {info.size} (a target is "
                         f"1 to {SYMLINK_MAX} bytes)")
        elif info.size > MAX_FILE_SIZE:
            self.problem(f"inode {inum}: size {info.size} beyond the largest file")
        if itype == T_DIR and info.size % DIRENT_SIZE:
            self.problem(f"inode {inum}: directory size {info.size} is not a multiple "
                         f"of {DIRENT_SIZE}")
        self._check_block_map(inum, info, d)
        if itype == T_SYMLINK and 1 <= info.size <= SYMLINK_MAX:
            self._check_link_target(inum, info, d)

    def _check_link_target(self, inum: int, info: _InodeInfo, d: Any) -> None:
        """A link's target: in its first block (which it must hold), UTF-8, no NUL."""
        block = d.direct[0]
        if not block or self.owner.get(block) != inum:
            self.problem(f"inode {inum}: symbolic link without its target's block")
            return
        target = self.image.read(block)[:info.size]
        if b"\0" in target:
            self.problem(f"inode {inum}: symbolic link target contains NUL")
        else:
            try:
                target.decode("utf-8")
            except UnicodeDecodeError:
                self.problem(f"inode {inum}: symbolic link target is not valid UTF-8")

    def _check_block_map(self, inum: int, info: _InodeInfo, d: Any) -> None:
        held = len(self.owner)
        self._claim_block_map(inum, info, d)
        held = len(self.owner) - held
        if info.type == T_FIFO and held:
            self.problem(f"inode {inum}: fifo holding {held} block{'s' if held > 1 else ''} "
                         "(a fifo holds none)")

    def _claim_block_map(self, inum: int, info: _InodeInfo, d: Any) -> None:
        keep = min(math.ceil(info.size / BSIZE), MAXFILE_BLOCKS)
        beyond = 0
        leaves: list[tuple[int, int, str]] = [
            (i, p, f"direct[{i}]") for i, p in enumerate(d.direct) if p]
        ind, dind = d.indirect, d.dindirect
        if ind and self._claim(ind, inum, "indirect"):
            leaves += [(NDIRECT + i, p, f"indirect[{i}]")
                       for i, p in enumerate(pointer_list(self.image.read(ind))) if p]
        if dind and self._claim(dind, inum, "dindirect"):
            for o, l1 in enumerate(pointer_list(self.image.read(dind))):
                if l1 and self._claim(l1, inum, f"dindirect[{o}]"):
                    base = DOUBLE_BASE + o * NINDIRECT
                    leaves += [(base + i, p, f"dindirect[{o}][{i}]")
                               for i, p in enumerate(pointer_list(self.image.read(l1))) if p]
        for lbn, ptr, where in leaves:
            if not self._claim(ptr, inum, where):
                continue
            if lbn >= keep:
                beyond += 1
            if info.type == T_DIR:
                info.dir_blocks.append((lbn, ptr))
        if beyond and info.type != T_FIFO:   # (a fifo's blocks are reported as such)
            self.problem(f"inode {inum}: {beyond} data block{'s' if beyond > 1 else ''} "
                         f"allocated past its size {info.size}")

    def _claim(self, block: int, inum: int, where: str) -> bool:
        """Record that `inum` holds `block`; False (and a problem) if it may not."""
        sb = self.sb
        if not sb.datastart <= block < sb.nblocks:
            self.problem(f"inode {inum}: {where} = {block}, outside the data area "
                         f"[{sb.datastart}, {sb.nblocks})")
            return False
        holder = self.owner.get(block)
        if holder is not None:
            self.problem(f"block {block}: used twice (inode {holder}, and inode {inum} "
                         f"{where})")
            return False
        self.owner[block] = inum
        return True

    # --- pass 5: bitmap -----------------------------------------------------
    def _check_bitmap(self) -> None:
        sb = self.sb
        on_disk = b"".join(self.image.read(sb.bmapstart + i) for i in range(sb.nbitmap))
        expected = bytearray(len(on_disk))
        for b in (*range(sb.datastart), *self.owner):
            expected[b >> 3] |= 1 << (b & 7)
        if bytes(expected) == on_disk:
            return
        for i, (want, have) in enumerate(zip(expected, on_disk, strict=True)):
            if want != have:
                self._report_bits(i, want, have)

    def _report_bits(self, index: int, want: int, have: int) -> None:
        for bit in range(8):
            block = index * 8 + bit
            mask = 1 << bit
            if block >= self.sb.nblocks or not (want ^ have) & mask:
                continue
            if want & mask:
                kind = "metadata block" if block < self.sb.datastart else "in use"
                self.problem(f"block {block}: {kind}, but marked free in the bitmap")
            else:
                self.problem(f"block {block}: marked in use in the bitmap, but unused")

    # --- pass 6: the directory tree -----------------------------------------
    def _check_tree(self) -> Counter[int]:
        refs: Counter[int] = Counter()
        root = self.inodes.get(ROOTINO)
        if root is None or root.type != T_DIR:
            self.problem(f"inode {ROOTINO}: the root is not an in-use directory")
            return refs
        queue = deque([(ROOTINO, ROOTINO, "/")])
        visited = {ROOTINO}
        while queue:
            inum, parent, path = queue.popleft()
            for child, child_path in self._check_dir(inum, parent, path, refs):
                if child in visited:
                    self.problem(f"{child_path}: directory inode {child} is reached a "
                                 "second time (loop or hard-linked directory)")
                else:
                    visited.add(child)
                    queue.append((child, inum, child_path))
        return refs

    def _check_dir(self, inum: int, parent: int, path: str,
                   refs: Counter[int]) -> list[tuple[int, str]]:
        """Check one directory's entries; returns its subdirectories (inum, path)."""
        subdirs: list[tuple[int, str]] = []
        seen: set[bytes] = set()
        dots: dict[bytes, int] = {}
        for raw, target in self._entries(self.inodes[inum]):
            name = raw.rstrip(b"\0")
            shown = name.decode("utf-8", errors="replace")
            where = f"{path.rstrip('/')}/{shown}"
            if not self._valid_name(raw, where):
                continue
            if name in seen:
                self.problem(f"{where}: name appears twice in {path}")
            seen.add(name)
            if target >= self.sb.ninodes or target not in self.inodes:
                state = "outside the inode table" if target >= self.sb.ninodes else "free"
                self.problem(f"{where}: entry names inode {target}, which is {state} "
                             "(dangling entry)")
                continue
            refs[target] += 1
            if name in (b".", b".."):
                dots[name] = target
            elif self.inodes[target].type == T_DIR:
                subdirs.append((target, where))
        for dot, want in ((b".", inum), (b"..", parent)):
            got = dots.get(dot)
            if got != want:
                what = "missing" if got is None else f"names inode {got}"
                self.problem(f"{path}: '{dot.decode()}' {what}, should name inode {want}")
        return subdirs

    def _entries(self, info: _InodeInfo) -> list[tuple[bytes, int]]:
        """(raw name, inum) of the used entries of a directory, within its size."""
        found = []
        for lbn, block in sorted(info.dir_blocks):
            arr = dirents(self.image.read(block))
            count = min(DPB, max(info.size - lbn * BSIZE, 0) // DIRENT_SIZE)
            found += [(ffi.unpack(arr[i].name, DIRSIZ), arr[i].inum)
                      for i in range(count) if arr[i].inum]
        return found

    def _valid_name(self, raw: bytes, where: str) -> bool:
        name = raw.rstrip(b"\0")
        if not name:
            self.problem(f"{where}: entry with an empty name")
            return False
        if b"\0" in name or b"/" in name:
            self.problem(f"{where}: name contains NUL or '/'")
            return False
        try:
            name.decode("utf-8")
        except UnicodeDecodeError:
            self.problem(f"{where}: name is not valid UTF-8")
            return False
        return True

    # --- pass 7: link counts ------------------------------------------------
    def _check_links(self, refs: Counter[int]) -> None:
        for inum, info in sorted(self.inodes.items()):
            count = refs.get(inum, 0)
            if count == 0 and info.nlink == 0:
                self.problem(f"inode {inum}: orphan (nlink 0, in no directory); "
                             "mount frees it")
            elif count == 0:
                self.problem(f"inode {inum}: in use, but no directory names it "
                             "(unreachable)")
            elif info.nlink != count:
                self.problem(f"inode {inum}: nlink {info.nlink}, but {count} directory "
                             f"entr{'ies' if count != 1 else 'y'} name it")
