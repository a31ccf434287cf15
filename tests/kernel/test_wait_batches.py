"""Kernel call ``wait`` hands exit records over in batches that fit a message."""

from __future__ import annotations

from types import SimpleNamespace

from kernel.syscalls import WAIT_BATCH, do_wait
from libipc.message import NOTIFY_EXIT, pack


class TestWaitBatches:
    def test_many_exits_come_in_batches_and_none_is_lost(self):
        """500 records: three calls, oldest first, a NOTIFY while some are left."""
        notified = []
        kernel = SimpleNamespace(router=SimpleNamespace(
            post_notify=lambda proc, src, bits: notified.append(bits)))
        caller = SimpleNamespace(exits=[{"ep": i, "name": "x" * 32, "pid": i, "status": -9,
                                         "parent": 1} for i in range(500)])
        got = []
        while True:
            batch = do_wait(kernel, caller)
            if not batch:
                break
            assert len(batch) <= WAIT_BATCH
            assert len(pack(batch)) < 64 * 1024
            got += batch
        assert list(range(500)) == [r["ep"] for r in got]
        assert [NOTIFY_EXIT, NOTIFY_EXIT] == notified
