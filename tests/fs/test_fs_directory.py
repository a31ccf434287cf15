"""Directories: entries, lookup, free-slot reuse, '.' and '..'."""

from __future__ import annotations

from servers.fs import directory
from servers.fs.filesystem import FileSystem
from servers.fs.inode import InodeTable
from servers.fs.layout import BSIZE, DIRENT_SIZE, ROOTINO


def _dir(fs: FileSystem, path: str):  # noqa: ANN202 - test helper
    table = InodeTable(fs._vol_)
    return table, table.get(fs.stat(path)["inum"])


class TestDirectory:
    def test_new_directory_has_dot_and_dotdot(self, ram_fs: FileSystem) -> None:
        """mkdir makes '.' (itself) and '..' (its parent) and nothing else."""
        ram_fs.mkdir("/d")
        _, dp = _dir(ram_fs, "/d")
        names = {name: inum for name, inum, _ in directory.entries(ram_fs._vol_, dp)}
        assert {".": dp.inum, "..": ROOTINO} == names
        assert directory.is_empty(ram_fs._vol_, dp)

    def test_lookup_finds_entries_and_only_whole_names(self, ram_fs: FileSystem) -> None:
        """lookup matches a whole name, not a prefix or a suffix of one."""
        ram_fs.create("/abc")
        _, root = _dir(ram_fs, "/")
        assert ram_fs.stat("/abc")["inum"] == directory.lookup(ram_fs._vol_, root, "abc")[0]
        assert None is directory.lookup(ram_fs._vol_, root, "ab")
        assert None is directory.lookup(ram_fs._vol_, root, "bc")

    def test_directory_grows_past_one_block(self, ram_fs: FileSystem) -> None:
        """More entries than fit in one block spill into a second block."""
        ram_fs.mkdir("/many")
        count = BSIZE // DIRENT_SIZE + 5
        for i in range(count):
            ram_fs.create(f"/many/file-{i:03d}")
        assert count == len(ram_fs.readdir("/many"))
        assert 2 == ram_fs.stat("/many")["blocks"]
        last = f"file-{count - 1:03d}"   # (in the second block, after "." and "..")
        assert last == ram_fs.readdir("/many")[count - 1]["name"]

    def test_removed_slot_is_reused(self, ram_fs: FileSystem) -> None:
        """After unlink, the next link takes the freed slot; the directory does not grow."""
        for name in "abc":
            ram_fs.create(f"/{name}")
        size = ram_fs.stat("/")["size"]
        ram_fs.unlink("/b")
        ram_fs.create("/z")
        assert size == ram_fs.stat("/")["size"]

    def test_subdirectory_links_count_dotdot(self, ram_fs: FileSystem) -> None:
        """A directory's nlink is 2 plus its number of subdirectories."""
        ram_fs.mkdir("/p")
        ram_fs.mkdir("/p/c1")
        ram_fs.mkdir("/p/c2")
        ram_fs.create("/p/f")
        assert 4 == ram_fs.stat("/p")["nlink"]
        ram_fs.rmdir("/p/c1")
        assert 3 == ram_fs.stat("/p")["nlink"]

    def test_readdir_pages_are_the_whole_listing_in_order(self) -> None:
        """readdir(after=, limit=): pages of a big directory, each the next names after
        the last; read whole (libipc.readdir), they are the one-call listing."""
        import pytest

        from libipc.errors import InvalidArgument
        from libipc.readdir import PAGE, whole_listing
        from servers.blockdev import RamDisk
        from servers.fs.mkfs import format_device
        disk = RamDisk(16 * 1024 * 1024 // BSIZE)   # (inodes for a few hundred files)
        format_device(disk)
        ram_fs = FileSystem(disk)
        ram_fs.mount()
        ram_fs.mkdir("/big")
        count = 2 * PAGE + 7
        for i in reversed(range(count)):   # (made out of order: the pages are sorted)
            ram_fs.create(f"/big/f{i:04d}")
        whole = ram_fs.readdir("/big")
        assert [f"f{i:04d}" for i in range(count)] == [e["name"] for e in whole]
        calls = []

        def readdir(path, after, limit):
            calls.append(after)
            return ram_fs.readdir(path, after, limit)

        assert whole == list(whole_listing(readdir, "/big"))
        # (the last call's empty page says the listing is whole)
        assert [None, f"f{PAGE - 1:04d}", f"f{2 * PAGE - 1:04d}", f"f{count - 1:04d}"] == calls
        assert whole[5:8] == ram_fs.readdir("/big", after="f0004", limit=3)
        assert [] == ram_fs.readdir("/big", after="f9999")
        with pytest.raises(InvalidArgument):
            ram_fs.readdir("/big", limit=0)


    def test_a_page_is_cut_to_what_fits_in_a_message(self) -> None:
        """fs's readdir op cuts a page to the boot's message size (at least one entry);
        read whole, the cut pages are still the whole listing."""
        from libipc.readdir import whole_listing
        from servers.fs.server import page_that_fits
        listing = [{"name": f"{i:03d}" + "x" * 240, "type": "file", "size": 0}
                   for i in range(40)]
        page = page_that_fits(listing, 4096)
        assert 0 < len(page) < 40 and page == listing[:len(page)]
        assert sum(len(e["name"]) + 48 for e in page) <= 4096
        assert listing[:1] == page_that_fits(listing, 10)

        def readdir(path, after, limit):
            rest = [e for e in listing if after is None or e["name"] > after][:limit]
            return page_that_fits(rest, 4096)

        assert listing == list(whole_listing(readdir, "/d"))
