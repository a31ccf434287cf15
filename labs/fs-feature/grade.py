"""Grader of labs/fs-feature: files past the old maximum, through the doubly-indirect block.

Every test boots the working copy and drives fs with a user program, fsprobe.py
(this directory; copied into the test's scratch directory), one line per
command.  Sizes, offsets, contents and names are drawn per run.  The checks on
the disk image itself are the package's: `nanokernel fsck` on the host reads
the image with the package's layout, which knows the doubly-indirect block
(csrc/nk_fs.h had it all along), so a student's fs is judged by an fsck it
cannot change.

Keeping the lab in step with the package: solution/servers/fs/{layout,inode,
truncate}.py are the package's modules as they are, and the starter's are the
same minus the doubly-indirect code (TODO markers); the overlay replaces whole
modules, so a change to one of these three in servers/fs/ is copied into both.
"""

from __future__ import annotations

import re
import sys
from pathlib import Path

from libipc._nkffi import lib

from nanokernel.labs.gradelib import Grade, Run, excerpt, test

BSIZE = lib.NK_BSIZE
NINDIRECT = lib.NK_NINDIRECT
DOUBLE_BASE = lib.NK_NDIRECT + NINDIRECT          # first logical block under dindirect
OLD_MAX = DOUBLE_BASE * BSIZE                      # the starter's largest file, in bytes
NEW_MAX = lib.NK_MAXFILE_BLOCKS * BSIZE            # the largest file with the feature
MiB = 1 << 20
DISK_SIZE = "32M"                                  # the images of the on-disk tests


def probe(g: Grade) -> str:
    """fsprobe.py in the scratch directory; the shell command that runs it."""
    g.program("fsprobe.py", (Path(__file__).parent / "fsprobe.py").read_text())
    return "run fsprobe.py"


def big_size(g: Grade) -> int:
    """A size past the old maximum, by up to 3 MiB (fits the 16 MiB RAM disk)."""
    return g.rng.randint(OLD_MAX + 1, OLD_MAX + 3 * MiB)


def far_offset(g: Grade, outers: tuple[int, int], token: str) -> int:
    """An offset under the doubly-indirect block, in an indirect block of `outers`,
    that `token` does not cross a block boundary from."""
    outer = g.rng.randint(*outers)
    lbn = DOUBLE_BASE + outer * NINDIRECT + g.rng.randrange(NINDIRECT)
    return lbn * BSIZE + g.rng.randrange(BSIZE - len(token))


def new_disk(g: Grade) -> Path:
    disk = g.scratch / "disk.img"
    run = g.host([sys.executable, "-m", "nanokernel", "mkfs", str(disk), "--size", DISK_SIZE])
    g.check(run.rc == 0, f"mkfs of the test disk failed (exit status {run.rc})")
    return disk


def fsck_clean(g: Grade, disk: Path, when: str) -> None:
    run = g.host([sys.executable, "-m", "nanokernel", "fsck", str(disk)])
    g.check(run.rc == 0, f"fsck of the disk {when}: expected clean (exit status 0), got "
                         f"exit status {run.rc}:\n{run.out.strip()}")


def expect_lines(g: Grade, run: Run, lines: list[str], what: str) -> None:
    """Each of ``lines`` is a whole line of the boot's output."""
    got = run.out.splitlines()
    for line in lines:
        if line not in got:
            g.fail(f"{what}: expected the line {line!r}\ngot:\n{excerpt(run.out)}")


@test(20)
def large_file(g: Grade) -> None:
    """A file past the old maximum is written and read back byte for byte."""
    run_probe, size, seed = probe(g), big_size(g), g.secret()
    path = f"/home/{g.secret()}"
    run = g.boot(f"{run_probe} write {path} {size} {seed}; {run_probe} check {path} {size} "
                 f"{seed}; stat {path}")
    expect_lines(g, run, [f"wrote {path} {size}", f"same {path} {size}"],
                 f"a file of {size} bytes (the old maximum is {OLD_MAX})")
    g.expect(run.out, rf"Size: {size}\b", f"stat {path}: its size {size}")


@test(5)
def old_maximum_still_fine(g: Grade) -> None:
    """Files up to the old maximum (direct and indirect blocks only) still work."""
    run_probe, small = probe(g), g.rng.randint(1, lib.NK_NDIRECT * BSIZE)
    cases = [(f"/home/{g.secret()}", OLD_MAX, g.secret()), (f"/home/{g.secret()}", small,
                                                            g.secret())]
    cmds = [f"{run_probe} {op} {p} {n} {s}" for p, n, s in cases for op in ("write", "check")]
    run = g.boot("; ".join(cmds))
    expect_lines(g, run, [f"{w} {p} {n}" for p, n, _ in cases for w in ("wrote", "same")],
                 "files of the old maximum and of a few direct blocks")


@test(10)
def sparse_file_up_to_the_new_maximum(g: Grade) -> None:
    """Bytes far under the doubly-indirect block, and its very last byte: holes read
    as zeros, the size is the last byte's, only the blocks on the paths are used."""
    run_probe, path = probe(g), f"/home/{g.secret()}"
    pokes = []
    for outers in ((0, NINDIRECT // 3), (NINDIRECT // 3 + 1, NINDIRECT - 2)):
        token = g.secret()
        pokes.append((far_offset(g, outers, token), token))
    pokes.append((NEW_MAX - 1, g.secret(1)))             # in indirect block NINDIRECT - 1
    cmds = [f"{run_probe} poke {path} {o} {t}" for o, t in pokes]
    cmds += [f"{run_probe} peek {path} {o} {t}" for o, t in pokes]
    run = g.boot("; ".join(cmds))
    for offset, token in pokes:
        g.expect(run.out, rf"^poked {path} {offset} {len(token)}$",
                 f"a write of {len(token)} bytes at offset {offset}")
    blocks = 1 + 2 * len(pokes)   # the dindirect block; per poke an indirect and a data block
    g.expect(run.out, rf"^peek {path} found zeros size {NEW_MAX} blocks {blocks}$",
             f"each byte read back, zeros before it, size {NEW_MAX} (the largest file) and "
             f"{blocks} blocks in stat (1 doubly-indirect, {len(pokes)} indirect, "
             f"{len(pokes)} data)")
    found = re.findall(rf"^peek {path} found zeros", run.out, re.M)
    g.check(len(found) == len(pokes), f"all {len(pokes)} writes read back with a hole of "
                                      f"zeros before each; {len(found)} did")


@test(5)
def too_big_is_refused(g: Grade) -> None:
    """A write past the new maximum, and a file bigger than the disk: clear errors,
    the file system goes on (and gets every block back)."""
    run_probe, path, full = probe(g), f"/home/{g.secret()}", f"/home/{g.secret()}"
    size, seed, token = g.rng.randint(18 * MiB, 24 * MiB), g.secret(), g.secret(4)
    run = g.boot(f"{run_probe} free; {run_probe} poke {path} {NEW_MAX - len(token) + 1} "
                 f"{token}; {run_probe} write {full} {size} {seed}; rm {full}; "
                 f"{run_probe} free; echo after")
    g.expect(run.out, r"^error InvalidArgument ", f"a write of {len(token)} bytes ending one "
             f"byte past the largest file ({NEW_MAX} bytes): InvalidArgument")
    g.expect(run.out, r"^error NoSpace ", f"a file of {size} bytes on a 16 MiB disk: NoSpace")
    g.expect(run.out, r"^after$", "the shell going on after the errors")
    free = re.findall(r"^free (\d+)$", run.out, re.M)
    g.check(len(free) == 2 and free[0] == free[1], "the free block count after removing the "
            f"file that filled the disk: the same as before; got {' then '.join(free)}")


@test(10, parent=large_file)
def fsck_clean_after_large_files(g: Grade) -> None:
    """The package's fsck finds nothing wrong with a disk holding large and sparse files
    (and one that was cut short)."""
    run_probe, disk = probe(g), new_disk(g)
    big, cut, sparse = (f"/home/{g.secret()}" for _ in range(3))
    size, token = big_size(g), g.secret()
    offset = far_offset(g, (0, NINDIRECT - 1), token)
    cut_to = g.rng.randint(OLD_MAX // 2, OLD_MAX + MiB)
    run = g.boot(f"{run_probe} write {big} {size} {g.secret()}; {run_probe} poke {sparse} "
                 f"{offset} {token}; {run_probe} write {cut} {size} {g.secret()}; "
                 f"call fs truncate '{{\"path\": \"{cut}\", \"size\": {cut_to}}}'; stat {cut}",
                 disk=disk)
    expect_lines(g, run, [f"wrote {big} {size}", f"poked {sparse} {offset} {len(token)}"],
                 "the files to check")
    g.expect(run.out, rf"Size: {cut_to}\b", f"{cut} truncated from {size} to {cut_to} bytes")
    fsck_clean(g, disk, "after writing them")


@test(10, parent=large_file)
def survives_a_reboot(g: Grade) -> None:
    """A large file and a far sparse write are there, byte for byte, after a reboot."""
    run_probe, disk, path, sparse = probe(g), new_disk(g), f"/home/{g.secret()}", \
        f"/home/{g.secret()}"
    size, seed, token = big_size(g), g.secret(), g.secret()
    offset = far_offset(g, (0, NINDIRECT - 1), token)
    first = g.boot(f"{run_probe} write {path} {size} {seed}; {run_probe} poke {sparse} "
                   f"{offset} {token}", disk=disk)
    expect_lines(g, first, [f"wrote {path} {size}"], "the first boot")
    second = g.boot(f"{run_probe} check {path} {size} {seed}; {run_probe} peek {sparse} "
                    f"{offset} {token}", disk=disk)
    expect_lines(g, second, [f"same {path} {size}"], "the second boot: the file's bytes")
    g.expect(second.out, rf"^peek {sparse} found zeros size {offset + len(token)} ",
             "the second boot: the far write and its size")


@test(10, parent=large_file)
def rm_frees_every_block(g: Grade) -> None:
    """Removing large and sparse files gives back every block, doubly-indirect ones too
    (fs's free count, and fsck: no block marked in use that no file holds)."""
    run_probe, disk = probe(g), new_disk(g)
    big, sparse = f"/home/{g.secret()}", f"/home/{g.secret()}"
    size, token = big_size(g), g.secret()
    offsets = [far_offset(g, (0, NINDIRECT - 1), token) for _ in range(2)]
    run = g.boot(f"{run_probe} free; {run_probe} write {big} {size} {g.secret()}; "
                 + "; ".join(f"{run_probe} poke {sparse} {o} {token}" for o in offsets)
                 + f"; rm {big} {sparse}; {run_probe} free", disk=disk)
    expect_lines(g, run, [f"wrote {big} {size}"], "the file to remove")
    free = re.findall(r"^free (\d+)$", run.out, re.M)
    g.check(len(free) == 2 and free[0] == free[1], "the free block count after rm: the "
            f"same as before the files; got {' then '.join(free) or 'none'}")
    fsck_clean(g, disk, "after rm")
