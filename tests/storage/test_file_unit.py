"""libipc.File against an in-process fs (same ops, same limits as the fs server)."""

from __future__ import annotations

import io
import os

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from libipc import File, FileExists, FileNotFound, IsADirectory, MessageTooLarge, NoSpace
from servers.blockdev import RamDisk
from servers.fs.filesystem import FileSystem
from servers.fs.mkfs import format_device
from servers.fs.server import MAX_READ


class LocalFs:
    """The fs server's ops as keyword calls on a FileSystem, with its message limits."""

    def __init__(self, nblocks: int = 1024) -> None:
        device = RamDisk(nblocks)
        format_device(device)
        self.fs = FileSystem(device)
        self.fs.mount()
        self.calls: list[str] = []

    def __getattr__(self, op: str):
        def call(**args):
            self.calls.append(op)
            if op == "read":
                args["size"] = min(args.get("size", 4096), MAX_READ)
            if op == "write" and len(args["data"]) > 64 * 1024:
                raise MessageTooLarge("too big for one message")
            return getattr(self.fs, op)(**args)
        return call


@pytest.fixture
def fs() -> LocalFs:
    return LocalFs()


class TestModes:
    def test_write_then_read_text(self, fs: LocalFs) -> None:
        """"w" creates, text round-trips through UTF-8."""
        with File("/home/t", "w", fs=fs) as f:
            assert 6 == f.write("héllo\n")
        with File("/home/t", fs=fs) as f:
            assert "héllo\n" == f.read()

    def test_w_truncates_an_existing_file(self, fs: LocalFs) -> None:
        """Opening for "w" empties the file, like Python's open."""
        fs.fs.write("/home/t", 0, b"long old content", create=True)
        with File("/home/t", "w", fs=fs) as f:
            f.write("new")
        assert b"new" == fs.fs.read("/home/t", 0, 100)

    def test_a_appends_at_the_end(self, fs: LocalFs) -> None:
        """"a" writes go to the end even after a seek."""
        fs.fs.write("/home/t", 0, b"abc", create=True)
        with File("/home/t", "a", fs=fs) as f:
            f.seek(0)
            f.write("def")
        assert b"abcdef" == fs.fs.read("/home/t", 0, 100)

    def test_r_plus_reads_and_overwrites_in_place(self, fs: LocalFs) -> None:
        """"r+b" reads and writes at the position without truncating."""
        fs.fs.write("/home/t", 0, b"0123456789", create=True)
        with File("/home/t", "r+b", fs=fs) as f:
            assert b"012" == f.read(3)
            f.write(b"XY")
            assert 5 == f.tell()
            assert b"56789" == f.read()
        assert b"012XY56789" == fs.fs.read("/home/t", 0, 100)

    def test_x_refuses_an_existing_file(self, fs: LocalFs) -> None:
        """"x" is exclusive creation."""
        File("/home/new", "x", fs=fs).close()
        with pytest.raises(FileExists):
            File("/home/new", "x", fs=fs)

    def test_r_needs_an_existing_file_not_a_directory(self, fs: LocalFs) -> None:
        """"r" of a missing path is FileNotFound; of a directory IsADirectory."""
        with pytest.raises(FileNotFound):
            File("/home/none", fs=fs)
        with pytest.raises(IsADirectory):
            File("/home", fs=fs)

    @pytest.mark.parametrize("mode", ["", "q", "rw", "rr", "bt", "r+b+", "wbt"])
    def test_invalid_modes_are_value_errors(self, fs: LocalFs, mode: str) -> None:
        """Modes Python's open rejects are rejected here too."""
        with pytest.raises(ValueError):
            File("/home/x", mode, fs=fs)

    def test_wrong_direction_is_unsupported(self, fs: LocalFs) -> None:
        """Reading a "w" file or writing an "r" file is io.UnsupportedOperation."""
        with File("/home/t", "w", fs=fs) as f, pytest.raises(io.UnsupportedOperation):
            f.read()
        with File("/home/t", "r", fs=fs) as f, pytest.raises(io.UnsupportedOperation):
            f.write("x")

    def test_types_follow_the_mode(self, fs: LocalFs) -> None:
        """Binary files take bytes, text files str."""
        with File("/home/t", "wb", fs=fs) as f, pytest.raises(TypeError):
            f.write("text")
        with File("/home/t", "w", fs=fs) as f, pytest.raises(TypeError):
            f.write(b"bytes")

    def test_closed_file_is_value_error(self, fs: LocalFs) -> None:
        """Any I/O after close() is ValueError."""
        f = File("/home/t", "w", fs=fs)
        f.close()
        assert f.closed
        with pytest.raises(ValueError):
            f.write("x")


class TestPositions:
    def test_seek_whences_and_tell(self, fs: LocalFs) -> None:
        """SEEK_SET, SEEK_CUR, SEEK_END move the position; reads follow it."""
        fs.fs.write("/home/t", 0, b"0123456789", create=True)
        with File("/home/t", "rb", fs=fs) as f:
            assert 7 == f.seek(-3, os.SEEK_END)
            assert b"78" == f.read(2)
            assert 4 == f.seek(-5, os.SEEK_CUR)
            assert b"4" == f.read(1)
            assert 5 == f.tell()
            with pytest.raises(ValueError):
                f.seek(-1)
            assert b"" == (f.seek(100), f.read())[1]

    def test_write_past_the_end_leaves_a_hole_of_zeros(self, fs: LocalFs) -> None:
        """Seeking past the end and writing zero-fills the gap."""
        with File("/home/t", "w+b", fs=fs) as f:
            f.seek(5000)
            f.write(b"!")
            f.seek(0)
            assert bytes(5000) + b"!" == f.read()

    def test_text_read_counts_characters_not_bytes(self, fs: LocalFs) -> None:
        """read(n) in text mode returns n characters, even multi-byte ones."""
        fs.fs.write("/home/t", 0, "aé€😀b".encode(), create=True)
        with File("/home/t", fs=fs) as f:
            assert "aé" == f.read(2)
            assert "€😀" == f.read(2)
            assert "b" == f.read()

    def test_readline_and_iteration(self, fs: LocalFs) -> None:
        """Lines keep their newline; the last one may lack it."""
        fs.fs.write("/home/t", 0, b"one\ntwo\nthree", create=True)
        with File("/home/t", fs=fs) as f:
            assert "one\n" == f.readline()
            assert ["two\n", "three"] == list(f)


class TestBigFiles:
    def test_large_writes_and_reads_are_split_into_messages(self, fs: LocalFs) -> None:
        """A 300 KiB write and read are done in chunks that each fit a message."""
        data = os.urandom(300 * 1024 + 7)
        with File("/home/big", "wb", fs=fs) as f:
            f.write(data)
        with File("/home/big", "rb", fs=fs) as f:
            assert data == f.read()
            f.seek(100)
            assert data[100:100 + 70000] == f.read(70000)

    def test_a_full_disk_is_no_space(self) -> None:
        """Writing more than fits raises NoSpace; truncate(0) gives the space back."""
        fs = LocalFs(nblocks=160)
        with File("/home/fill", "wb", fs=fs) as f:
            with pytest.raises(NoSpace):
                f.write(bytes(1024 * 1024))
            f.truncate(0)
            f.seek(0)
            f.write(b"fits again")


@settings(max_examples=60, deadline=None)
@given(ops=st.lists(st.tuples(st.integers(0, 20000), st.binary(max_size=9000)), max_size=8))
def test_positioned_writes_match_a_bytesio(ops) -> None:
    """Any sequence of seek+write gives the same bytes as io.BytesIO."""
    fs = LocalFs(nblocks=512)
    model = io.BytesIO()
    with File("/home/m", "w+b", fs=fs) as f:
        for offset, data in ops:
            f.seek(offset)
            model.seek(offset)
            f.write(data)
            model.write(data)
        f.seek(0)
        assert model.getvalue() == f.read()
