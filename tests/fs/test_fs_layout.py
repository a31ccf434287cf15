"""On-disk structures: geometry, superblock, inodes, entries, log header (via cffi)."""

from __future__ import annotations

import pytest
from libipc._nkffi import ffi

from libipc.errors import NameTooLong
from servers.fs import layout
from servers.fs.layout import BSIZE, DIRSIZ, LOGSIZE, compute_geometry


class TestGeometry:
    @pytest.mark.parametrize("nblocks", [128, 512, 8192, 40000, 262144])
    def test_regions_are_back_to_back_and_inside_the_image(self, nblocks: int) -> None:
        """Superblock, log, inodes, bitmap and data follow each other without gaps."""
        sb = compute_geometry(nblocks)
        assert 1 == sb.logstart
        assert LOGSIZE + 1 == sb.nlog
        assert sb.logstart + sb.nlog == sb.inodestart
        assert sb.inodestart + sb.ninodeblocks == sb.bmapstart
        assert sb.bmapstart + sb.nbitmap == sb.datastart
        assert sb.datastart < nblocks
        assert sb.nbitmap * layout.BPB >= nblocks

    def test_inode_count_scales_with_the_image(self) -> None:
        """A 32 MiB image gets one inode per 16 KiB, a whole number of inode blocks."""
        sb = compute_geometry(8192)
        assert 2048 == sb.ninodes
        assert 0 == sb.ninodes % layout.IPB

    def test_a_valid_superblock_has_no_problems(self) -> None:
        """The geometry mkfs computes passes the mount checks."""
        assert [] == layout.superblock_problems(compute_geometry(512), 512)

    def test_geometry_beyond_the_device_is_a_problem(self) -> None:
        """A superblock describing more blocks than the device holds is reported."""
        problems = layout.superblock_problems(compute_geometry(512), 300)
        assert any("device of 300 blocks" in p for p in problems)

    def test_inconsistent_region_starts_are_problems(self) -> None:
        """A datastart that does not follow from the sizes is reported."""
        import dataclasses
        sb = dataclasses.replace(compute_geometry(512), datastart=3)
        assert ["superblock: datastart is 3, the geometry needs"] == [
            p[:len("superblock: datastart is 3, the geometry needs")]
            for p in layout.superblock_problems(sb, 512)]


class TestSuperblock:
    def test_round_trip(self) -> None:
        """superblock_bytes then parse_superblock gives the same fields back."""
        import dataclasses
        sb = dataclasses.replace(compute_geometry(8192), created_ns=123456789)
        raw = layout.superblock_bytes(sb)
        assert BSIZE == len(raw)
        assert sb == layout.parse_superblock(raw)

    def test_bad_magic_is_the_only_problem_reported(self) -> None:
        """Garbage in block 0 is reported as 'not a nanokernel filesystem'."""
        sb = layout.parse_superblock(b"\xab" * BSIZE)
        problems = layout.superblock_problems(sb, 1000)
        assert 1 == len(problems)
        assert "bad magic" in problems[0]

    def test_short_block_parses_as_zeros(self) -> None:
        """parse_superblock of fewer bytes than the struct pads with zeros."""
        assert 0 == layout.parse_superblock(b"").magic


class TestDinode:
    def test_inodes_fill_whole_blocks(self) -> None:
        """An inode block holds IPB whole inodes."""
        assert 0 == BSIZE % ffi.sizeof("struct nk_dinode")
        assert BSIZE // ffi.sizeof("struct nk_dinode") == layout.IPB

    def test_view_writes_through_to_the_buffer(self) -> None:
        """Fields set through dinodes(buf) land in buf and read back from a copy."""
        buf = bytearray(BSIZE)
        view = layout.dinodes(buf)
        view[3].type = layout.T_FILE
        view[3].size = 1 << 40
        view[3].direct[5] = 777
        copy = layout.dinodes(bytes(buf))
        assert (layout.T_FILE, 1 << 40, 777) == (copy[3].type, copy[3].size, copy[3].direct[5])
        assert 0 == copy[2].type

    def test_inode_location(self) -> None:
        """Inode n lives in block inodestart + n // IPB at index n % IPB."""
        sb = compute_geometry(8192)
        assert (sb.inodestart + 1, 3) == layout.inode_location(sb, layout.IPB + 3)


class TestDirent:
    def test_round_trip(self) -> None:
        """An entry written by dirent_bytes reads back its inum and name."""
        raw = layout.dirent_bytes(42, "héllo")
        assert layout.DIRENT_SIZE == len(raw)
        entry = layout.dirents(raw)[0]
        assert 42 == entry.inum
        assert "héllo" == layout.decode_name(ffi.unpack(entry.name, DIRSIZ))

    def test_name_of_exactly_dirsiz_bytes_fits(self) -> None:
        """A DIRSIZ-byte name fills the field with no NUL and still round-trips."""
        name = "n" * DIRSIZ
        assert name == layout.decode_name(layout.encode_name(name))

    def test_longer_name_is_refused(self) -> None:
        """A name over DIRSIZ bytes of UTF-8 raises NameTooLong."""
        with pytest.raises(NameTooLong):
            layout.encode_name("é" * (DIRSIZ // 2 + 1))


class TestLogHeader:
    def test_round_trip(self) -> None:
        """logheader_bytes then parse_logheader gives the block list back."""
        assert (3, [70, 5000, 71]) == layout.parse_logheader(layout.logheader_bytes([70, 5000, 71]))

    def test_garbage_count_is_reported_raw(self) -> None:
        """A count above LOGSIZE is returned as is, with at most LOGSIZE blocks."""
        n, blocks = layout.parse_logheader(b"\xff" * BSIZE)
        assert n > LOGSIZE
        assert LOGSIZE == len(blocks)


class TestBitmapLocation:
    def test_bit_of_a_block(self) -> None:
        """Block b's bit is bit b%8 of byte (b % BPB)//8 of bitmap block b // BPB."""
        sb = compute_geometry(100000)
        assert (sb.bmapstart + 1, 1, 1 << 3) == layout.bitmap_location(sb, layout.BPB + 11)
