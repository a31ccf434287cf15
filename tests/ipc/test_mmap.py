"""Memory-mapped files (libipc.mmap, servers/fs/mapping.py) in real boots: two mappers
share one region, flush and a clean halt write back, read-only is read-only."""

from __future__ import annotations

import pytest

from servers.fs.mkfs import mkfs
from tests.ipc.conftest import scenario_runner

pytestmark = pytest.mark.timeout(120)


def _run(boot, tmp_path, scenario: str, disk=None) -> dict:
    return scenario_runner(boot, tmp_path, "mmap_session.py", fs=True, disk=disk)(scenario)


def test_two_mappers_share_the_bytes_and_flush_writes_back(boot, tmp_path):
    data = _run(boot, tmp_path, "shared")
    assert data["size"] == 65536 and data["same"] is True
    assert data["before_flush"] == "000102"       # the file itself: not yet
    assert data["after_flush"] == "?!+"
    assert data["ro_sees"] == "?!+" and data["ro_write"] == "TypeError"
    assert data["bad"] == ["FileNotFound", "InvalidArgument", "InvalidArgument",
                           "InvalidArgument", "InvalidArgument"]
    assert data["regions_left"] == 0


def test_a_clean_halt_writes_a_mapping_back(boot, tmp_path):
    disk = tmp_path / "disk.img"
    mkfs(disk, "4M")
    assert _run(boot, tmp_path, "dirty", disk=disk)["mapped"] == 65536
    data = _run(boot, tmp_path, "check", disk=disk)
    assert data == {"tail": "dirty", "head_same": True}


def test_a_mapping_follows_its_file_and_never_writes_another(boot, tmp_path):
    """Write-back goes to the mapped inode: after a rename to its new name, after an
    unlink nowhere; a new file by the old name keeps its own bytes (before, the halt
    wrote into the old names and a failed write-back skipped unmount)."""
    disk = tmp_path / "disk.img"
    mkfs(disk, "4M")
    data = _run(boot, tmp_path, "moved", disk=disk)
    assert data == {"c_after_flush": "moved", "gone_maps_new": "fresh", "grants": 2}
    data = _run(boot, tmp_path, "moved_check", disk=disk)
    assert data == {"/a": "other", "/c": "again", "/gone": "fresh", "/after": "kept"}


def test_mappers_that_died_do_not_fill_the_table_for_good(boot, tmp_path):
    """A process that mapped MAX_FILES files and exited holding them does not keep
    everyone from mapping until fs stops: fs asks which mappers are gone."""
    data = _run(boot, tmp_path, "crowded")
    assert data == {"child": 0, "extra": "no error", "written_back": "ZZ"}


def test_fs_killed_or_stopped_under_a_mapping_is_a_clear_error(boot, tmp_path):
    data = _run(boot, tmp_path, "faults")
    assert data["readable"] == "K"                 # the memory stays the process's
    assert data["flush"] in ("InvalidArgument", "ServerDied")   # never a silent success
    assert data["stopped"] == "Timeout" and data["stopped_s"] < 5
    assert data["after"] == "\x00"                 # what was not flushed is lost (documented)
