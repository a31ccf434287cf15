"""Bulk reads and writes by grant (libipc/file.py, servers/fs/bulk.py, block's window in
servers/block.py and servers/fs/ipcdevice.py), in real boots on a disk image."""

from __future__ import annotations

import pytest

from servers.fs.mkfs import mkfs
from tests.ipc.conftest import scenario_runner

pytestmark = pytest.mark.timeout(180)


@pytest.fixture
def bulk(boot, tmp_path):
    disk = tmp_path / "disk.img"
    mkfs(disk, "96M")
    return scenario_runner(boot, tmp_path, "bulk_session.py", fs=True, disk=disk)


def test_a_64_mib_file_goes_both_ways_in_one_call_each(bulk):
    data = bulk("big", timeout=150)
    assert data["exact"] and data["sha"]
    # [msgs in, bytes in, msgs out, bytes out] of the session: one fs call each way
    # (open's create/stat/truncate, the kernel calls for the region and ps, around
    # it) and the 64 MiB never went through a ring: a few hundred bytes of messages
    write, read = data["write"], data["read"]
    assert write[2] <= 12 and write[3] < 4096 and write[1] < 4096, data
    assert read[2] <= 12 and read[1] < 4096 and read[3] < 4096, data
    assert data["read_block"][0] <= 60, data      # ~16 window calls of 4 MiB, not 1100
    assert data["unaligned"] and data["tell"] == 12345 + 5 * (1 << 20) + 7
    assert data["short"] == 1000
    assert data["holey"]


def test_bad_grants_are_refused_and_a_restarted_block_gets_a_new_window(bulk):
    data = bulk("faults", timeout=120)
    assert data["not_for_fs"] == "PermissionDenied"     # the kernel: not fs's grant
    assert data["read_only"] == "InvalidArgument"       # fs would write into it
    assert data["too_big"] == "InvalidArgument"
    assert data["not_int"] == "InvalidArgument"
    assert data["forged"] == "PermissionDenied"
    assert data["after"] == 1 << 20 and data["in_place"]   # fs still serves
    assert data["after_block_restart"]


def test_the_bigfile_demo_runs_as_docs_ipc_shows_it(boot):
    """`run examples/bigfile.py /home/big 8`: the bytes come back, and the read is a few
    messages (60 KiB messages would need ~140 calls, each a request and a reply)."""
    import re
    result = boot("-c", "run examples/bigfile.py /home/big 8", timeout=90)
    out = result.output
    assert "same bytes: yes" in out, out + result.log
    read = int(re.search(r"read it back in .* \((\d+) messages routed\)", out).group(1))
    assert read < 60, out
