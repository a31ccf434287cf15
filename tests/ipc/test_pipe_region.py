"""A pipe's region (csrc/nk_pipe.c through libipc.pipe_region) without a boot: the
byte ring against a model, writers and readers in several processes, a lock holder
killed, sleepers woken by the server's end counts and by the server's death.

This test process plays the pipe server (it makes the region and sets the end
counts) unless a test forks a server of its own to kill it; the ends are forked
children that map the region from a memfd this process made (inherited at the
fork; in a boot, an end gets its descriptor from the kernel by the server's
grant — tests/ipc/test_pipe.py) and watch the server's pid, as an end does.  Waits that
only a wake-up may end run with a slice of 60 s, so a lost wake-up fails the
test (pytest-timeout) instead of passing late.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import mmap
import os
import random
import signal
import struct
import threading
import time

import hypothesis.strategies as st
import pytest
from hypothesis import settings
from hypothesis.stateful import RuleBasedStateMachine, invariant, rule
from libipc._nkffi import ffi, lib

from libipc.errors import BrokenPipe, InvalidArgument, RingCorrupted, ServerDied, WouldBlock
from libipc.pipe_region import PIPE_BUF, Region
from tests.ring.ringtools import Child, wait_for

LONG = os.environ.get("NK_STRESS") == "long"
SMALL = 2 * PIPE_BUF   # the smallest capacity: wraps every other write
LONG_SLICE_S = 60.0


_FDS: dict[int, int] = {}   # a region's nonce -> the memfd it lives in (inherited by children)


def region(capacity: int = SMALL, readers: int = 1, writers: int = 1) -> Region:
    fd = os.memfd_create("nk-test-pipe")
    r = Region.create(capacity, fd=fd)
    _FDS[r.nonce] = fd
    r.set_ends(readers, writers)
    return r


def share(r: Region, pid: int | None = None) -> dict:
    """What a forked end needs to map ``r``: its memfd, its nonce, the server's pid."""
    return {"fd": _FDS[r.nonce], "nonce": r.nonce, "pid": pid or os.getpid()}


def mapped(info: dict, slice_s: float | None = None) -> Region:
    """The region as an end's process maps it (watching the server's pid)."""
    m = Region.attach(info["fd"], info["nonce"], info["pid"])
    if slice_s is not None:
        m.set_slice(slice_s)
    return m


# -- the byte ring against a model ------------------------------------------------------
class PipeMachine(RuleBasedStateMachine):
    """Nonblocking reads and writes of any size, and the server's end counts, against
    a bytearray: what comes out, when a write is refused, and when it is split."""

    def __init__(self) -> None:
        super().__init__()
        self.r = region(SMALL)
        self.model = bytearray()
        self.readers, self.writers = 1, 1
        self.written = 0

    def teardown(self) -> None:
        self.r.close()

    @rule(size=st.one_of(st.integers(1, PIPE_BUF), st.integers(PIPE_BUF + 1, 3 * SMALL),
                         st.sampled_from([PIPE_BUF, SMALL, SMALL - 1])))
    def write(self, size):
        data = bytes((self.written + i) % 251 for i in range(size))
        room = SMALL - len(self.model)
        if self.readers == 0:
            expected = BrokenPipe
        elif size <= PIPE_BUF:
            expected = size if size <= room else WouldBlock   # atomic: all or nothing
        else:
            expected = min(size, room) or WouldBlock          # may be split: what fits
        try:
            got = self.r.write(data, nonblock=True)
        except (BrokenPipe, WouldBlock) as exc:
            got = type(exc)
        assert expected == got
        if isinstance(got, int):
            self.model += data[:got]
            self.written += got

    @rule(size=st.integers(1, 3 * SMALL))
    def read(self, size):
        if self.model:
            expected = bytes(self.model[:size])
        elif self.writers == 0:
            expected = b""   # end of file
        else:
            expected = WouldBlock
        try:
            got = self.r.read(size, nonblock=True)
        except WouldBlock:
            got = WouldBlock
        assert expected == got
        if isinstance(got, bytes):
            del self.model[:len(got)]

    @rule(size=st.integers(1, SMALL))
    def readinto(self, size):
        buf = bytearray(size)
        try:
            n = self.r.readinto(memoryview(buf), nonblock=True)
        except WouldBlock:
            assert not self.model and self.writers
            return
        assert bytes(self.model[:size]) == bytes(buf[:n])
        del self.model[:n]

    @rule(readers=st.integers(0, 2), writers=st.integers(0, 2))
    def set_ends(self, readers, writers):
        self.r.set_ends(readers, writers)
        self.readers, self.writers = readers, writers

    @invariant()
    def buffered_is_the_models(self):
        assert len(self.model) == self.r.buffered()


PipeMachine.TestCase.settings = settings(
    max_examples=800 if LONG else 40, stateful_step_count=50, deadline=None)
TestByteRingAgainstModel = pytest.mark.stress(PipeMachine.TestCase)


class TestRegion:
    def test_a_wrong_nonce_or_a_bad_description_is_not_mapped(self):
        """An end maps only the region the server's reply names."""
        r = region()
        info = share(r)
        with pytest.raises(InvalidArgument):
            mapped({**info, "nonce": info["nonce"] ^ 2})
        assert Region.map({"pid": "x"}) is None
        assert Region.map(None) is None
        r.close()

    def test_a_region_without_shared_memory_is_private(self):
        """(fd -1, or no region from the kernel: nothing to grant, ends use messages.)"""
        r = Region.create(SMALL, fd=-1)
        r.set_ends(1, 1)
        assert (False, None) == (r.shared, r.grant(1))
        assert 3 == r.write(b"abc")
        assert b"abc" == r.read(10)
        r.close()

    def test_scribbled_indices_are_corrupt_not_a_stray_access(self):
        """An end that sets head beyond the ring makes the pipe corrupt for everyone."""
        r = region()
        r.write(b"abc")
        offs = ffi.new("uint64_t[3]")
        lib.nk_pipe_layout(offs, offs + 1, offs + 2)
        raw = mmap.mmap(share(r)["fd"], r.size)
        struct.pack_into("<Q", raw, offs[0], 10 * SMALL)   # head
        with pytest.raises(RingCorrupted):
            r.read(10)
        with pytest.raises(RingCorrupted):
            r.write(b"x")
        raw.close()
        r.close()


# -- several processes ------------------------------------------------------------------
RECORD_HDR = struct.Struct("<HIH")   # writer, sequence, body length


def records(writer: int, count: int):
    """Writer ``writer``'s records: header + body, 8 to PIPE_BUF bytes each."""
    rng = random.Random(writer)
    for seq in range(count):
        size = rng.choice((PIPE_BUF, rng.randrange(RECORD_HDR.size, PIPE_BUF + 1)))
        body = rng.randbytes(size - RECORD_HDR.size)
        yield RECORD_HDR.pack(writer, seq, len(body)) + body


def write_records(info: dict, writer: int, count: int) -> None:
    w, recs = mapped(info), list(records(writer, count))   # made first: the loop only writes
    for rec in recs:
        assert len(rec) == w.write(rec)


class TestSeveralProcesses:
    @pytest.mark.stress
    @pytest.mark.timeout(600 if LONG else 60)
    def test_writers_of_pipe_buf_records_never_interleave(self):
        """Four writers, records up to PIPE_BUF bytes, a reader taking odd-sized chunks:
        every record arrives whole and in its writer's order, counted and hashed."""
        writers, count = 4, 40_000 if LONG else 400
        r = region(4 * PIPE_BUF, writers=writers)
        expected = {w: hashlib.sha256(b"".join(records(w, count))).hexdigest()
                    for w in range(writers)}
        statuses = []

        def close_when_they_exit():   # the server's part: a dead writer's end closes
            statuses.extend(kid.join(600 if LONG else 50) for kid in kids)
            r.set_ends(1, 0)

        stream, rng = bytearray(), random.Random(1)
        seen = dict.fromkeys(range(writers), 0)
        hashes = {w: hashlib.sha256() for w in range(writers)}
        with contextlib.ExitStack() as stack:
            kids = [stack.enter_context(Child(write_records, share(r), w, count,
                                              limit=600 if LONG else 50))
                    for w in range(writers)]
            closer = threading.Thread(target=close_when_they_exit, daemon=True)
            closer.start()
            while chunk := r.read(rng.choice((1, 100, 5000, PIPE_BUF + 1, 1 << 20))):
                stream += chunk
                while len(stream) >= RECORD_HDR.size:   # take the whole records there
                    w, seq, n = RECORD_HDR.unpack_from(stream)
                    if len(stream) < RECORD_HDR.size + n:
                        break
                    assert w in seen and seq == seen[w], (w, seq)   # whole, in order
                    hashes[w].update(stream[:RECORD_HDR.size + n])
                    seen[w] += 1
                    del stream[:RECORD_HDR.size + n]
        closer.join(10)
        r.close()
        assert [0] * writers == statuses
        assert b"" == bytes(stream)
        assert dict.fromkeys(range(writers), count) == seen
        assert expected == {w: h.hexdigest() for w, h in hashes.items()}

    @pytest.mark.timeout(60)
    @pytest.mark.parametrize("side", ["writer", "reader"])
    def test_a_process_killed_holding_the_lock_does_not_block_the_others(self, side):
        """A holds its side's lock, asleep (a write to a full pipe, a read of an empty
        one); B waits for the lock; A is SIGKILLed: B goes on, and A took nothing."""
        r = region()
        if side == "writer":
            r.write(b"f" * SMALL)   # full: A waits for room holding wlock
            target, blocked = _write_one, 1
        else:
            target, blocked = _read_one, 0
        with Child(target, share(r), b"A") as a:
            wait_for(lambda: r.blocked()[blocked] == 1, 10, "A asleep in the pipe")
            with Child(target, share(r), b"B") as b:
                wait_for(lambda: r.blocked()[blocked] == 2, 10, "B waiting for the lock")
                os.kill(a.pid, signal.SIGKILL)
                assert -signal.SIGKILL == a.join(10)
                if side == "writer":
                    assert b"f" * SMALL == r.read(SMALL)   # room for one record
                else:
                    r.write(b"B" * PIPE_BUF)
                assert 0 == b.join(10)
        if side == "writer":
            assert b"B" * PIPE_BUF == r.read(SMALL, nonblock=True)   # B's, whole; none of A's
        with pytest.raises(WouldBlock):
            r.read(1, nonblock=True)
        r.close()


def _write_one(info: dict, byte: bytes) -> None:
    assert PIPE_BUF == mapped(info).write(byte * PIPE_BUF)


def _read_one(info: dict, byte: bytes) -> None:
    assert byte * PIPE_BUF == mapped(info).read(PIPE_BUF)


# -- sleepers woken -----------------------------------------------------------------------
def _expect_eof(info: dict) -> None:
    assert b"" == mapped(info, LONG_SLICE_S).read(10)


def _expect_broken_pipe(info: dict) -> None:
    w = mapped(info, LONG_SLICE_S)
    with pytest.raises(BrokenPipe):
        w.write(b"x" * PIPE_BUF)


@pytest.mark.timeout(60)
class TestSleepersWake:
    def test_a_sleeping_reader_sees_end_of_file_when_the_last_writer_closes(self):
        r = region(writers=2)
        with Child(_expect_eof, share(r)) as kid:
            wait_for(lambda: r.blocked()[0] == 1, 10, "the reader asleep")
            r.set_ends(1, 1)   # one writer left: still asleep
            r.set_ends(1, 0)
            assert 0 == kid.join(10)
        r.close()

    def test_a_sleeping_writer_sees_broken_pipe_when_the_last_reader_closes(self):
        r = region()
        r.write(b"f" * SMALL)
        with Child(_expect_broken_pipe, share(r)) as kid:
            wait_for(lambda: r.blocked()[1] == 1, 10, "the writer asleep")
            r.set_ends(0, 1)
            assert 0 == kid.join(10)
        r.close()

    @pytest.mark.parametrize("side", ["reader", "writer"])
    def test_a_sleeper_gets_server_died_when_the_server_is_killed(self, side):
        """SIGKILL of the process that made the region: ServerDied within a slice or
        two (NK_PIPE_SLICE_NS), never a hang."""
        rd, wr = os.pipe()
        memfd = os.memfd_create("nk-test-pipe")   # (the child's region, mapped here too)
        with Child(_serve_region, wr, memfd, side == "writer") as server:
            os.close(wr)
            info = json.loads(os.read(rd, 4096))
            os.close(rd)
            end = mapped(info)
            killed = []

            def kill_when_asleep():
                wait_for(lambda: end.blocked()[0 if side == "reader" else 1] == 1, 10,
                         "the end asleep")
                killed.append(time.monotonic())
                os.kill(server.pid, signal.SIGKILL)

            threading.Thread(target=kill_when_asleep, daemon=True).start()
            with pytest.raises(ServerDied):
                if side == "reader":
                    end.read(10)
                else:
                    end.write(b"x" * PIPE_BUF)
            assert time.monotonic() - killed[0] < 2.0
            with pytest.raises(ServerDied):   # and every call after
                end.write(b"x")
            end.close()
        os.close(memfd)


def _serve_region(fd: int, memfd: int, full: bool) -> None:
    r = Region.create(SMALL, fd=memfd)
    r.set_ends(1, 1)
    if full:
        r.write(b"f" * SMALL)
    os.write(fd, json.dumps({"fd": memfd, "nonce": r.nonce, "pid": os.getpid()}).encode())
    os.close(fd)
    signal.pause()
