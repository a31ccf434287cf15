"""fsck: every kind of damage is reported, and no input at all makes it crash."""

from __future__ import annotations

import os
import shutil
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from servers.blockdev import DiskImage, RamDisk
from servers.fs.filesystem import FileSystem
from servers.fs.fsck import MAX_PROBLEMS, FsckReport, fsck, main
from servers.fs.layout import BSIZE, DIRENT_SIZE, ROOTINO, T_FREE, logheader_bytes
from servers.fs.mkfs import format_device, mkfs


@pytest.fixture(scope="module")
def populated_template(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, dict[str, int]]:
    """A 1 MiB image with /home/a (2 blocks), /home/b (1 block), /home/sub; and inums."""
    path = tmp_path_factory.mktemp("fsck") / "populated.img"
    mkfs(path, "1M")
    with DiskImage(path) as image:
        fs = FileSystem(image)
        fs.mount()
        fs.write("/home/a", 0, b"a" * (BSIZE + 1), create=True)
        fs.write("/home/b", 0, b"b" * 10, create=True)
        fs.mkdir("/home/sub")
        fs.symlink("/home/sub/link", "../a")
        fs.sync()
        inums = {p: fs.stat(p)["inum"] for p in ("/home", "/home/a", "/home/b", "/home/sub",
                                                  "/etc", "/home/sub/link")}
    return path, inums


@pytest.fixture
def image(populated_template: tuple[Path, dict[str, int]], tmp_path: Path) -> Path:
    path = tmp_path / "damaged.img"
    shutil.copyfile(populated_template[0], path)
    return path


@pytest.fixture
def inums(populated_template: tuple[Path, dict[str, int]]) -> dict[str, int]:
    return populated_template[1]


def _problems(path: Path) -> str:
    report = fsck(path)
    assert not report.clean
    assert 1 == report.exit_status
    return "\n".join(report.problems)


class TestFsckClean:
    def test_fresh_and_populated_images_are_clean(self, image: Path, tmp_path: Path) -> None:
        """mkfs's image and one with files and directories have no problems."""
        mkfs(tmp_path / "fresh.img", "1M")
        for path in (tmp_path / "fresh.img", image):
            report = fsck(path)
            assert ([], 0) == (report.problems, report.exit_status)
            assert report.render().startswith(f"fsck {path}: clean")

    def test_fsck_of_a_block_device(self) -> None:
        """fsck accepts a BlockDevice as well as a path."""
        disk = RamDisk(256)
        format_device(disk)
        assert fsck(disk).clean


class TestFsckImageDamage:
    def test_missing_file_is_unreadable(self, tmp_path: Path) -> None:
        """A path that does not exist gives exit status 2."""
        report = fsck(tmp_path / "nope.img")
        assert (True, 2) == (report.unreadable, report.exit_status)
        assert "cannot open" in report.problems[0]

    def test_directory_is_unreadable(self, tmp_path: Path) -> None:
        """A directory instead of an image gives exit status 2."""
        assert 2 == fsck(tmp_path).exit_status

    def test_fifo_is_unreadable_without_blocking(self, tmp_path: Path) -> None:
        """A FIFO gives exit status 2 at once instead of hanging in open()."""
        os.mkfifo(tmp_path / "fifo")
        assert 2 == fsck(tmp_path / "fifo").exit_status

    def test_empty_file(self, tmp_path: Path) -> None:
        """A zero-length file is reported as too small."""
        (tmp_path / "e.img").write_bytes(b"")
        assert "too small" in _problems(tmp_path / "e.img")

    def test_size_not_a_whole_number_of_blocks(self, image: Path) -> None:
        """A file cut in the middle of a block is reported as truncated."""
        with open(image, "r+b") as f:
            f.truncate(os.path.getsize(image) - 100)
        assert "not a multiple of 4096" in _problems(image)

    def test_image_shorter_than_its_filesystem(self, image: Path) -> None:
        """A file cut at a block boundary is smaller than the superblock says."""
        with open(image, "r+b") as f:
            f.truncate(100 * BSIZE)
        assert "device of 100 blocks" in _problems(image)


class TestFsckSuperblockDamage:
    def test_bad_magic(self, image: Path, damage: Any) -> None:
        """A wrong magic number is reported (and nothing else is checked)."""
        damage.superblock(image, magic=0)
        assert "bad magic" in _problems(image)

    def test_wrong_version(self, image: Path, damage: Any) -> None:
        """An unknown version is reported."""
        damage.superblock(image, version=7)
        assert "version 7" in _problems(image)

    def test_geometry_that_does_not_add_up(self, image: Path, damage: Any) -> None:
        """Region starts inconsistent with the sizes are reported."""
        damage.superblock(image, ninodes=10**9)
        assert "datastart" in _problems(image)


class TestFsckBlockDamage:
    def test_block_used_twice(self, image: Path, damage: Any, inums: dict[str, int]) -> None:
        """Two inodes pointing at one block is 'used twice'."""
        shared = damage.dinode(image, inums["/home/a"])["direct0"]
        damage.inode(image, inums["/home/b"], direct0=shared)
        problems = _problems(image)
        assert f"block {shared}: used twice" in problems
        assert "marked in use in the bitmap, but unused" in problems  # b's old block

    def test_used_block_marked_free(self, image: Path, damage: Any,
                                    inums: dict[str, int]) -> None:
        """A block in use whose bitmap bit is clear is reported."""
        block = damage.dinode(image, inums["/home/b"])["direct0"]
        damage.bitmap_bit(image, block, used=False)
        assert f"block {block}: in use, but marked free in the bitmap" in _problems(image)

    def test_free_block_marked_used(self, image: Path, damage: Any) -> None:
        """A bitmap bit set for a block nobody holds is reported."""
        last = damage.geometry(image).nblocks - 1
        damage.bitmap_bit(image, last, used=True)
        assert f"block {last}: marked in use in the bitmap, but unused" in _problems(image)

    def test_metadata_block_marked_free(self, image: Path, damage: Any) -> None:
        """A metadata block whose bit is clear is reported as such."""
        damage.bitmap_bit(image, 3, used=False)
        assert "block 3: metadata block, but marked free" in _problems(image)

    @pytest.mark.parametrize("pointer", [3, 10**6])
    def test_pointer_outside_the_data_area(self, image: Path, damage: Any,
                                           inums: dict[str, int], pointer: int) -> None:
        """A block pointer into the metadata area or past the end is reported."""
        damage.inode(image, inums["/home/b"], direct0=pointer)
        assert f"direct[0] = {pointer}, outside the data area" in _problems(image)

    def test_garbage_indirect_block_is_checked_not_followed_blindly(
            self, image: Path, damage: Any, inums: dict[str, int]) -> None:
        """An indirect pointer to a block of text reports its junk pointers."""
        text_block = damage.dinode(image, inums["/home/a"])["direct0"]
        damage.inode(image, inums["/home/b"], indirect=text_block)
        problems = _problems(image)
        assert "used twice" in problems

    def test_blocks_past_the_size(self, image: Path, damage: Any,
                                  inums: dict[str, int]) -> None:
        """A 2-block file whose size says 10 bytes has a block past its size."""
        damage.inode(image, inums["/home/a"], size=10)
        assert "1 data block allocated past its size 10" in _problems(image)


class TestFsckInodeDamage:
    def test_bad_inode_type(self, image: Path, damage: Any, inums: dict[str, int]) -> None:
        """An inode of unknown type is reported."""
        damage.inode(image, inums["/home/b"], type=9)
        assert f"inode {inums['/home/b']}: bad type 9" in _problems(image)

    def test_wrong_link_count(self, image: Path, damage: Any, inums: dict[str, int]) -> None:
        """nlink different from the number of entries naming the inode is reported."""
        damage.inode(image, inums["/home/a"], nlink=5)
        assert "nlink 5, but 1 directory entry name it" in _problems(image)

    def test_dangling_entry(self, image: Path, damage: Any, inums: dict[str, int]) -> None:
        """An entry naming a free inode is a dangling entry."""
        damage.inode(image, inums["/home/b"], type=T_FREE)
        problems = _problems(image)
        assert f"/home/b: entry names inode {inums['/home/b']}, which is free" in problems

    def test_entry_outside_the_inode_table(self, image: Path, damage: Any,
                                           inums: dict[str, int]) -> None:
        """An entry with an impossible inode number is reported."""
        damage.dirent(image, inums["/home"], 3, 99999)
        assert "outside the inode table" in _problems(image)

    def test_unreachable_inode(self, image: Path, damage: Any, inums: dict[str, int]) -> None:
        """An in-use inode no directory names is reported as unreachable."""
        damage.dirent(image, inums["/home"], 3, 0)  # drop the entry for b
        assert f"inode {inums['/home/b']}: in use, but no directory names it" in _problems(image)

    def test_orphan_inode(self, image: Path, damage: Any, inums: dict[str, int]) -> None:
        """nlink 0 and no entry is an orphan, which the next mount frees."""
        damage.dirent(image, inums["/home"], 3, 0)
        damage.inode(image, inums["/home/b"], nlink=0)
        assert "orphan" in _problems(image)
        with DiskImage(image) as disk:
            fs = FileSystem(disk)
            fs.mount()
            assert 1 == fs.reclaimed_orphans
        assert fsck(image).clean


class TestFsckDirectoryDamage:
    def test_missing_dot(self, image: Path, damage: Any, inums: dict[str, int]) -> None:
        """A directory without '.' is reported."""
        damage.dirent(image, inums["/home"], 0, 0)
        assert "/home: '.' missing" in _problems(image)

    def test_wrong_dotdot(self, image: Path, damage: Any, inums: dict[str, int]) -> None:
        """A '..' naming the wrong directory is reported."""
        damage.dirent(image, inums["/home"], 1, inums["/etc"])
        assert f"/home: '..' names inode {inums['/etc']}, should name inode {ROOTINO}" \
            in _problems(image)

    def test_a_links_target_is_checked(self, image: Path, damage: Any,
                                       inums: dict[str, int]) -> None:
        """A link with a NUL in its target, or without its target's block, is reported."""
        link = inums["/home/sub/link"]
        block = damage.dinode(image, link)["direct0"]
        damage.write_block(image, block, b"../\0".ljust(BSIZE, b"\0"))
        assert "symbolic link target contains NUL" in _problems(image)
        damage.inode(image, link, direct0=0)
        assert "symbolic link without its target's block" in _problems(image)
        damage.inode(image, link, size=0)
        assert "symbolic link of size 0" in _problems(image)

    def test_directory_loop(self, image: Path, damage: Any, inums: dict[str, int]) -> None:
        """A subdirectory entry leading back up the tree is found, not followed forever."""
        damage.dirent(image, inums["/home/sub"], 2, inums["/home"], name="loop")
        damage.inode(image, inums["/home/sub"], size=3 * DIRENT_SIZE)  # cover the new entry
        assert "reached a second time" in _problems(image)

    def test_bad_and_duplicate_names(self, image: Path, damage: Any,
                                     inums: dict[str, int]) -> None:
        """Names with '/' and two entries with one name are reported."""
        damage.dirent(image, inums["/home"], 2, inums["/home/a"], name="x/y")
        damage.dirent(image, inums["/home"], 3, inums["/home/b"], name="sub")
        problems = _problems(image)
        assert "name contains NUL or '/'" in problems
        assert "name appears twice" in problems

    def test_malformed_log_header(self, image: Path, damage: Any) -> None:
        """A log header with an impossible count is reported, not replayed."""
        sb = damage.geometry(image)
        damage.write_block(image, sb.logstart, logheader_bytes([]).replace(
            b"\0\0\0\0", (1000).to_bytes(4, "little"), 1))
        assert "log: header lists 1000 blocks" in _problems(image)


class TestFsckGarbage:
    @settings(settings.get_profile("nk-fs-quick"))
    @given(writes=st.lists(st.tuples(
        st.one_of(st.integers(0, 80 * BSIZE), st.integers(0, 256 * BSIZE)),
        st.binary(min_size=1, max_size=512)), min_size=1, max_size=8))
    def test_random_damage_never_crashes(self, populated_template: tuple[Path, Any],
                                         tmp_path_factory: pytest.TempPathFactory,
                                         writes: list[tuple[int, bytes]]) -> None:
        """Random bytes at random offsets give a report, never an exception."""
        path = tmp_path_factory.mktemp("garbage") / "g.img"
        shutil.copyfile(populated_template[0], path)
        with open(path, "r+b") as f:
            for offset, data in writes:
                f.seek(offset)
                f.write(data)
        report = fsck(path)
        assert not any("internal error" in p for p in report.problems), report.render()
        assert report.render()
        _mount_refuses_or_works(path)

    @settings(settings.get_profile("nk-fs-quick"))
    @given(edits=st.lists(st.tuples(
        st.integers(0, 8),
        st.sampled_from(["type", "nlink", "size", "direct0", "direct1", "indirect",
                         "dindirect"]),
        st.one_of(st.integers(0, 3), st.integers(60, 80), st.integers(240, 260),
                  st.integers(0, 2**32 - 1))), min_size=1, max_size=4))
    def test_structured_inode_damage_never_crashes(
            self, populated_template: tuple[Path, Any], damage: Any,
            tmp_path_factory: pytest.TempPathFactory,
            edits: list[tuple[int, str, int]]) -> None:
        """Plausible-looking wrong inode fields are reported; mount refuses or copes."""
        path = tmp_path_factory.mktemp("inodes") / "i.img"
        shutil.copyfile(populated_template[0], path)
        limits = {"type": 2**16, "nlink": 2**16, "size": 2**64}
        for inum, field, value in edits:
            damage.inode(path, inum, **{field: value % limits.get(field, 2**32)})
        report = fsck(path)
        assert not any("internal error" in p for p in report.problems), report.render()
        _mount_refuses_or_works(path)
        if report.clean:
            with DiskImage(path) as disk:
                fs = FileSystem(disk)
                fs.mount()
                fs.readdir("/home")

    @settings(settings.get_profile("nk-fs-quick"))
    @given(data=st.binary(max_size=3 * BSIZE), blocks=st.integers(0, 300))
    def test_pure_garbage_files_never_crash(self, tmp_path_factory: pytest.TempPathFactory,
                                            data: bytes, blocks: int) -> None:
        """Files of any length and content, even a valid magic with junk after, are reported."""
        path = tmp_path_factory.mktemp("junk") / "j.img"
        sb = bytes(4)  # replaced below with the real magic half the time
        if blocks % 2:
            from servers.fs.layout import MAGIC
            sb = MAGIC.to_bytes(4, "little")
        path.write_bytes(sb + data + bytes(blocks * 37))
        report = fsck(path)
        assert not any("internal error" in p for p in report.problems), report.render()
        assert report.exit_status in (0, 1)

    def test_problem_list_is_capped(self, tmp_path: Path, damage: Any) -> None:
        """A wrecked bitmap lists at most MAX_PROBLEMS lines and counts the rest."""
        image = tmp_path / "big.img"
        mkfs(image, "4M")
        sb = damage.geometry(image)
        damage.write_block(image, sb.bmapstart, b"\xaa" * BSIZE)
        report = fsck(image)
        assert MAX_PROBLEMS == len(report.problems)
        assert report.omitted > 0
        assert f"... and {report.omitted} more" in report.render()


def _mount_refuses_or_works(path: Path) -> None:
    """A damaged image either mounts or is refused with an IpcError; nothing else."""
    from libipc.errors import IpcError
    try:
        with DiskImage(path) as disk:
            fs = FileSystem(disk)
            fs.mount()
            fs.readdir("/")
    except IpcError:
        pass


class TestFsckMain:
    def test_exit_status_and_output(self, image: Path, damage: Any, tmp_path: Path,
                                    capsys: pytest.CaptureFixture[str]) -> None:
        """main() prints the report and exits 0 clean, 1 problems, 2 unreadable."""
        assert 0 == main([str(image)])
        assert "clean" in capsys.readouterr().out
        damage.superblock(image, magic=1)
        assert 1 == main([str(image)])
        assert "bad magic" in capsys.readouterr().out
        assert 2 == main([str(tmp_path / "missing.img")])
        assert "cannot check" in capsys.readouterr().out

    def test_report_is_a_dataclass_with_clean(self) -> None:
        """FsckReport.clean is true only without problems and when readable."""
        assert FsckReport("x").clean
        assert not FsckReport("x", problems=["p"]).clean
        assert not FsckReport("x", unreadable=True).clean
