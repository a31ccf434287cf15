"""log — the write-ahead log that makes multi-block updates atomic (xv6: log.c).

Layer 2.  Every fs operation that changes the disk runs as a transaction:

    log.begin_op()
    buf = log.write_block(b)     # pins b in the cache; modify buf in place
    ...
    log.end_op()                 # or log.abort_op() to undo the whole op

Nothing a transaction changes reaches its home location before the
transaction is committed.  Ops are grouped (group commit): `end_op` only adds
the op to the current group; the group is committed when

  - `begin_op` finds that another op might not fit in the log
    (group + NK_MAXOPBLOCKS > NK_LOGSIZE), or
  - someone calls `commit()` (the fs's `sync()` does, and the fs server may
    on idle), or after every op when group_commit=False (xv6's behaviour).

Commit, in this order (each step a device write that must land before the
next starts):
  1. write the group's blocks to the log area (logstart+1 ...);
  2. write the header naming their home blocks — the commit point;
  3. install: copy each block to its home location;
  4. write an empty header.
Recovery at mount (`recover`) redoes 3 and 4 if the header is not empty;
installing twice is harmless.  A crash therefore loses whole ops, never
part of one: whatever was in the uncommitted group, and nothing else.
With barriers=True the log calls device.flush() between the steps, which is
what ordering needs when the device may lose power; a crashed *process* (the
fs server SIGKILLed) needs no barrier, as every write that returned has
reached the block server or the host's page cache.

An op never touches more than NK_MAXOPBLOCKS distinct blocks; callers that
could (large writes, truncating big files) check `op_room()` and split their
work over several ops, each leaving the fs consistent.  A block written
several times in one group takes one log slot (absorption).

Undo: `abort_op` puts every block the op touched back as it was before the
op (blocks new to the group are simply dropped from the cache, since the
device still has their old contents), so an op that fails half-way — NoSpace,
a corrupt pointer — leaves no trace.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from contextlib import contextmanager

from libipc.errors import CorruptFilesystem
from servers.blockdev import BlockDevice, max_transfer_blocks

from .cache import BlockCache, runs
from .layout import LOGSIZE, MAXOPBLOCKS, Superblock, logheader_bytes, parse_logheader


class LogFailed(CorruptFilesystem):
    """A commit failed half-way; only a remount (which recovers) can go on."""

    code = "CorruptFilesystem"


class Log:
    """The on-disk log and the in-memory state of the current group of ops."""

    def __init__(self, device: BlockDevice, cache: BlockCache, sb: Superblock, *,
                 group_commit: bool = True, barriers: bool = False) -> None:
        self.device = device
        self.cache = cache
        self.sb = sb
        self.group_commit = group_commit
        self.barriers = barriers
        self.max_run = max_transfer_blocks(device)
        self._group: dict[int, None] = {}  # blocks of committed-in-memory ops, in order
        self._in_op = False
        self._op_blocks: set[int] = set()
        self._op_undo: dict[int, bytes | None] = {}  # None: block was new to the group
        self._failure: str | None = None
        self.commits = 0

    # --- transactions -----------------------------------------------------
    def begin_op(self) -> None:
        """Start an op; commits the group first if the op might not fit."""
        if self._failure:
            raise LogFailed(self._failure)
        if self._in_op:
            raise RuntimeError("log: begin_op inside an op")
        if len(self._group) + MAXOPBLOCKS > LOGSIZE:
            self.commit()
        self._in_op = True

    def end_op(self) -> None:
        """Finish the op; its changes join the group (committed now if not grouping)."""
        self._require_op("end_op")
        self._close_op()
        if not self.group_commit:
            self.commit()

    def abort_op(self) -> None:
        """Undo every change of the current op."""
        self._require_op("abort_op")
        for block, before in self._op_undo.items():
            if before is None:
                self._group.pop(block, None)
                self.cache.drop(block)
            else:
                self.cache.read(block)[:] = before
        self._close_op()

    @contextmanager
    def op(self) -> Iterator[None]:
        """`with log.op():` — end_op on success, abort_op on any exception."""
        self.begin_op()
        try:
            yield
        except BaseException:
            self.abort_op()
            raise
        self.end_op()

    def write_block(self, block: int, *, fresh: bool = False) -> bytearray:
        """The buffer of `block` to modify in this op; fresh=True: zero it, skip the read."""
        self._require_op("write_block")
        if not self.sb.inodestart <= block < self.sb.nblocks:
            raise RuntimeError(f"log: write to block {block} outside the home area")
        if block not in self._op_blocks:
            self._note_first_touch(block, fresh)
        if fresh:
            return self.cache.zeroed(block)
        return self.cache.read(block)

    def _note_first_touch(self, block: int, fresh: bool) -> None:
        if len(self._op_blocks) >= MAXOPBLOCKS:
            raise RuntimeError(f"log: op touches more than {MAXOPBLOCKS} blocks")
        self._op_blocks.add(block)
        if block in self._group:
            self._op_undo[block] = bytes(self.cache.read(block))
            return
        self._op_undo[block] = None
        if fresh:
            self.cache.zeroed(block)
        self.cache.pin(block)
        self._group[block] = None

    def op_room(self) -> int:
        """How many more distinct blocks the current op may touch."""
        return MAXOPBLOCKS - len(self._op_blocks)

    def new_in_op(self, blocks: Iterable[int]) -> int:
        """How many of `blocks` the current op has not touched yet."""
        return len(set(blocks) - self._op_blocks)

    @property
    def failed(self) -> bool:
        """A commit failed half-way: nothing more can be done without a remount."""
        return self._failure is not None

    @property
    def pending(self) -> int:
        """Blocks changed by finished ops and not yet committed."""
        return len(self._group)

    # --- commit -----------------------------------------------------------
    def commit(self) -> None:
        """Make every finished op durable in the log, then install it."""
        if self._in_op:
            raise RuntimeError("log: commit inside an op")
        if self._failure:
            raise LogFailed(self._failure)
        if not self._group:
            return
        blocks = list(self._group)
        try:
            self._write_log(blocks)
            self._barrier()
            self._write_header(blocks)  # the commit point
            self._barrier()
            self._install(blocks)
            self._barrier()
            self._write_header([])
            self._barrier()
        except BaseException as e:
            self._failure = (f"log: commit of {len(blocks)} blocks failed ({e}); "
                             "remount to recover")
            raise
        for b in blocks:
            self.cache.unpin(b)
        self._group.clear()
        self.commits += 1

    def _write_log(self, blocks: list[int]) -> None:
        for i in range(0, len(blocks), self.max_run):
            chunk = blocks[i:i + self.max_run]
            data = b"".join(self.cache.read(b) for b in chunk)
            self.device.write(self.sb.logstart + 1 + i, data)

    def _write_header(self, blocks: list[int]) -> None:
        self.device.write(self.sb.logstart, logheader_bytes(blocks))

    def _install(self, blocks: list[int]) -> None:
        for start, count in runs(sorted(blocks), self.max_run):
            data = b"".join(self.cache.read(b) for b in range(start, start + count))
            self.device.write(start, data)

    def _barrier(self) -> None:
        if self.barriers:
            self.device.flush()

    # --- recovery ---------------------------------------------------------
    def recover(self) -> int:
        """Install a committed transaction left by a crash; returns its block count."""
        n, homes = parse_logheader(self.device.read(self.sb.logstart, 1))
        if n == 0:
            return 0
        problem = header_problem(self.sb, n, homes)
        if problem:
            raise CorruptFilesystem(problem)
        for i, home in enumerate(homes):
            self.device.write(home, self.device.read(self.sb.logstart + 1 + i, 1))
            self.cache.drop(home)
        self.device.flush()
        self._write_header([])
        self.device.flush()
        return n

    def _require_op(self, what: str) -> None:
        if not self._in_op:
            raise RuntimeError(f"log: {what} outside an op")

    def _close_op(self) -> None:
        self._in_op = False
        self._op_blocks.clear()
        self._op_undo.clear()


def header_problem(sb: Superblock, n: int, homes: list[int]) -> str | None:
    """Why a log header with these contents cannot be replayed (None if it can)."""
    if n > LOGSIZE or n > sb.nlog - 1:
        return f"log: header lists {n} blocks, the log holds {min(LOGSIZE, sb.nlog - 1)}"
    for home in homes:
        if not sb.inodestart <= home < sb.nblocks:
            return f"log: header names block {home}, outside the home area"
    return None
