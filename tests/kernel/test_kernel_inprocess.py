"""The kernel loop driven in-process: real channels (memfds), real child processes
(`sleep`) behind each table entry, the Kernel object stepped by the test — for the
orderings a whole boot reaches only by chance.
"""

from __future__ import annotations

import mmap
import os
import signal
import struct
import threading
import time

import pytest
from libipc._nkffi import ffi, lib

from kernel.hosted import HostedServer
from kernel.kernel import Kernel
from kernel.proc import State
from libipc.errors import ServerDied, Timeout
from libipc.message import SEND, pack
from libipc.runtime import running_as
from tests.kernel.conftest import fill


class TestBlockedSenders:
    def test_a_sender_unblocked_by_an_earlier_one_in_the_same_pass_is_skipped(self, table):
        """A's drain corrupts B (B scribbled its ring) and so unblocks it, while the pass
        still has B in its list: the kernel goes on (it used to die of an AttributeError)."""
        k, add = table
        a, a_side = add("a")
        b, b_side = add("b")
        x, _ = add("x")
        c, _ = add("c")
        first, second = list({a, b})   # the pass's own order
        first_side = a_side if first is a else b_side
        second_side = b_side if first is a else a_side
        k.block(first, x, 64)               # x has room: first is unblocked and drained
        k.block(second, c, 10 ** 9)         # never room
        body = pack(["hello", {}])
        assert 0 == lib.nk_msg_put(first_side.up.cdata, second.endpoint, SEND, 0, 0, body,
                                   len(body))
        fill(second.down)                   # full: the kernel re-reads second's tail...
        half = second.channel.size // 2
        with mmap.mmap(second_side.fd, second.channel.size) as mm:
            mm[half + 128:half + 136] = struct.pack("<Q", 12345678)   # ...and finds junk
        k._pass(0)
        assert State.CORRUPT == second.state
        assert second not in k.blocked


class TestHostedBackPressure:
    def test_a_hosted_send_to_a_full_ring_goes_when_room_appears(self, table):
        """The kernel's wait includes the room a hosted sender waits for: the SEND goes
        as soon as the process reads, not at the end of its timeout."""
        k, add = table
        p, p_side = add("p")
        hosted = hosted_server(k)
        fill(p.down)

        def reader() -> None:
            time.sleep(0.2)
            buf = ffi.new("uint8_t[]", 70000)
            while lib.nk_ring_get(p_side.recv.cdata, buf, 70000) >= 0:
                pass

        threading.Thread(target=reader, daemon=True).start()
        t0 = time.monotonic()
        hosted.transport.send(p.endpoint, SEND, 0, pack(["op", {"data": b"y" * 2000}]), 0,
                              timeout=5.0)
        assert time.monotonic() - t0 < 2.0
        assert not k.room_wanted


def hosted_server(k: Kernel, name: str = "h") -> HostedServer:
    proc = k.add_hosted_proc(name, parent=0, acl=["*"], public=False, privileged=False,
                             argv=[])
    hosted = HostedServer(k.host, proc, server=None)
    proc.hosted = hosted
    return hosted


class TestHostedCallerFaults:
    def test_a_hosted_call_to_a_process_killed_mid_call_is_server_died(self, table):
        """The callee is SIGKILLed while the hosted caller waits: ServerDied, at once."""
        k, add = table
        p, _ = add("p")
        hosted = hosted_server(k)
        threading.Timer(0.2, lambda: p.signal(signal.SIGKILL)).start()
        t0 = time.monotonic()
        with running_as(hosted.runtime), pytest.raises(ServerDied):
            hosted.runtime.call(p.endpoint, "anything", {}, timeout=10.0)
        assert time.monotonic() - t0 < 5.0
        assert 0 == k.table.calls_of(hosted.proc)

    def test_a_hosted_call_to_a_stopped_process_times_out_and_is_withdrawn(self, table):
        """The callee is SIGSTOPped: the hosted caller's timeout ends the call, and the
        call is withdrawn (a late reply would be dropped)."""
        k, add = table
        p, _ = add("p")
        hosted = hosted_server(k)
        p.signal(signal.SIGSTOP)
        try:
            t0 = time.monotonic()
            with running_as(hosted.runtime), pytest.raises(Timeout):
                hosted.runtime.call(p.endpoint, "anything", {}, timeout=0.3)
            assert 0.3 <= time.monotonic() - t0 < 5.0
            assert 0 == k.table.calls_of(hosted.proc)
            assert [] == k.table.waiting_on(p)
        finally:
            p.signal(signal.SIGCONT)


class TestCloseReleasesDescriptors:
    def test_close_closes_every_process_descriptor_link(self, tmp_path):
        """Kernel.close (a halt's last resort) closes the kernel's end of each live
        process's descriptor link, as an exit does (before, only exits did)."""
        program = tmp_path / "idle.py"
        program.write_text("import time\ntime.sleep(60)\n")
        before = len(os.listdir("/proc/self/fd"))
        k = Kernel(ring_capacity=64 * 1024)
        proc = k.spawn([str(program)], name="idle", parent=0)
        k.close()
        assert proc.fdlink.fileno() == -1
        k.tracer.close()
        assert len(os.listdir("/proc/self/fd")) <= before
