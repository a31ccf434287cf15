"""Crash consistency: stop the disk after N writes, remount, and find a valid state.

A scenario of operations runs once on a healthy disk, recording the tree after
every log op (the only states a crash may leave).  Then, for many N, it runs
on a device that lets exactly N writes through (optionally tearing the next
multi-block write); after the crash a fresh mount must recover an image that
fsck calls clean, holding one of the recorded states no older than the last
sync that finished before the crash.
"""

from __future__ import annotations

import shutil
from collections.abc import Callable
from pathlib import Path

import pytest

from servers.blockdev import DiskImage
from servers.fs.faults import CountingDevice, CrashingDevice, SimulatedCrash
from servers.fs.filesystem import FileSystem
from servers.fs.fsck import fsck
from servers.fs.layout import BSIZE

Tree = dict[str, bytes | None]
BIG = bytes(range(256)) * (60 * BSIZE // 256)  # 60 blocks: several ops, indirect blocks


def _sync(fs: FileSystem) -> None:
    fs.sync()


STEPS: list[Callable[[FileSystem], object]] = [
    lambda fs: fs.mkdir("/home/u"),
    lambda fs: fs.write("/home/u/a", 0, b"first file", create=True),
    _sync,
    lambda fs: fs.write("/home/u/big", 0, BIG, create=True),
    lambda fs: fs.rename("/home/u/a", "/home/u/b"),
    lambda fs: fs.mkdir("/d"),
    lambda fs: fs.truncate("/home/u/big", 5000),
    lambda fs: fs.write("/d/x", 0, b"x" * 3 * BSIZE, create=True),
    _sync,
    lambda fs: fs.write("/home/u/big", 10 * BSIZE, BIG[:30 * BSIZE]),
    lambda fs: fs.unlink("/home/u/b"),
    lambda fs: fs.rename("/home/u", "/d/u"),
    lambda fs: fs.write("/d/x", BSIZE // 2, b"overwrite" * 100),
    lambda fs: fs.unlink("/d/u/big"),
    lambda fs: fs.rmdir("/d/u"),
    lambda fs: fs.rename("/d/x", "/etc/motd"),
    _sync,
]
SYNC_STEPS = [i for i, step in enumerate(STEPS) if step is _sync]


def read_tree(fs: FileSystem, path: str = "/") -> Tree:
    tree: Tree = {path: None}
    for entry in fs.readdir(path):
        child = path.rstrip("/") + "/" + entry["name"]
        if entry["type"] == "dir":
            tree.update(read_tree(fs, child))
        else:
            tree[child] = fs.read(child, 0, entry["size"])
    return tree


class _Recording:
    """The dry run: every op-boundary state, where each sync was, how many writes."""

    def __init__(self, template: Path, work: Path, group_commit: bool) -> None:
        shutil.copyfile(template, work)
        device = CountingDevice(DiskImage(work))
        fs = FileSystem(device, group_commit=group_commit)
        fs.mount()
        self.states: list[Tree] = [read_tree(fs)]
        log = fs._vol_.log
        end_op = log.end_op

        def recording_end_op() -> None:
            end_op()
            self.states.append(read_tree(fs))

        log.end_op = recording_end_op  # type: ignore[method-assign]
        self.sync_marks: list[int] = []  # per step: state index made durable, if a sync
        writes_before = device.writes
        for step in STEPS:
            step(fs)
            self.sync_marks.append(len(self.states) - 1)
        self.total_writes = device.writes - writes_before
        self.final = self.states[-1]


def _crash_run(template: Path, work: Path, writes: int, *, tear: bool,
               group_commit: bool) -> int:
    """Run the scenario until the disk stops; returns how many steps finished."""
    shutil.copyfile(template, work)
    image = DiskImage(work)
    fs = FileSystem(CrashingDevice(image, writes, tear=tear), group_commit=group_commit)
    fs.mount()
    done = 0
    try:
        for step in STEPS:
            step(fs)
            done += 1
    except SimulatedCrash:
        pass
    finally:
        image.close()
    return done


@pytest.fixture(scope="module")
def template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    from servers.fs.mkfs import mkfs
    path = tmp_path_factory.mktemp("crash") / "template.img"
    mkfs(path, "1M")
    return path


class TestCrashRecovery:
    @pytest.mark.parametrize("group_commit", [True, False], ids=["group", "every-op"])
    def test_every_crash_point_recovers_to_a_recorded_state(
            self, template: Path, tmp_path: Path, group_commit: bool) -> None:
        """For each N, a crash after N writes mounts to a clean, recorded state."""
        recording = _Recording(template, tmp_path / "dry.img", group_commit)
        assert recording.total_writes > 20
        work = tmp_path / "crash.img"
        for writes in range(recording.total_writes + 1):
            tear = writes % 2 == 1
            finished = _crash_run(template, work, writes, tear=tear,
                                  group_commit=group_commit)
            with DiskImage(work) as image:
                fs = FileSystem(image)
                fs.mount()
                state = read_tree(fs)
            report = fsck(work)
            where = f"crash after {writes} writes (tear={tear}, {finished} steps done)"
            assert report.clean, f"{where}\n{report.render()}"
            durable_from = max((recording.sync_marks[i] for i in SYNC_STEPS
                                if i < finished), default=0)
            assert state in recording.states[durable_from:], where
        assert recording.final == state

    def test_crash_between_commit_point_and_install_is_replayed(
            self, template: Path, tmp_path: Path) -> None:
        """If the header is written but nothing installed, mount installs the transaction."""
        work = tmp_path / "d.img"
        shutil.copyfile(template, work)
        image = DiskImage(work)
        fs = FileSystem(image)
        fs.mount()
        fs.write("/kept", 0, b"committed", create=True)
        # let through the log blocks and the header, then stop: installed nothing
        log = fs._vol_.log
        log.device = CrashingDevice(image, 2)
        with pytest.raises(SimulatedCrash):
            fs.sync()
        image.close()
        report = fsck(work)
        assert report.clean
        assert any("not installed yet" in note for note in report.notes)
        with DiskImage(work) as image:
            again = FileSystem(image)
            again.mount()
            assert 0 < again.recovered_blocks
            assert b"committed" == again.read("/kept", 0, 100)
        assert [] == fsck(work).notes[:-1]

    def test_failed_commit_refuses_further_operations(self, template: Path,
                                                      tmp_path: Path) -> None:
        """After a device failure mid-commit, ops raise CorruptFilesystem until remount."""
        from libipc.errors import CorruptFilesystem
        work = tmp_path / "d.img"
        shutil.copyfile(template, work)
        image = DiskImage(work)
        fs = FileSystem(image)
        fs.mount()
        fs.create("/f")
        fs._vol_.log.device = CrashingDevice(image, 1)
        with pytest.raises(SimulatedCrash):
            fs.sync()
        with pytest.raises(CorruptFilesystem, match="remount"):
            fs.create("/g")
        image.close()
