"""The batch path (csrc/nk_batch.c): many messages per C call, each still a whole
message with its own header — put, forwarded by the router's fast path, taken."""

from __future__ import annotations

import os
from pathlib import Path

import msgpack
import pytest
from libipc._nkffi import ffi, lib

from libipc.channel import Channel
from libipc.message import CALL, HEADER_SIZE, SEND
from libipc.port import Port


@pytest.fixture
def pair():
    """Two channels, as the kernel sees them: a's "up" ring feeds b's "down" ring."""
    a, b = Channel.create(256 * 1024), Channel.create(16 * 1024)
    pa = Port(Channel.attach(os.dup(a.fd), "process"))
    pb = Port(Channel.attach(os.dup(b.fd), "process"))
    yield a, b, pa, pb
    for c in (pa, pb):
        c.close()
    for c in (a, b):
        c.close()


def forward_run(a, b, stamp, dst, kind=SEND, max_n=1000):
    moved = ffi.new("uint64_t *")
    n = lib.nk_ring_forward_run(a.recv.cdata, b.send.cdata, stamp, dst, kind, 70_000, max_n,
                                moved)
    return n, moved[0]


class TestBatches:
    def test_put_many_then_get_many_round_trip(self, pair):
        """Every body comes out once, in order, with its own header."""
        a, _, pa, _ = pair
        bodies = [msgpack.packb(["count", {"i": i}]) for i in range(300)]
        pa.send_many(77, SEND, bodies)
        hdrs, lens = ffi.new("nk_msg_header[]", 512), ffi.new("uint32_t[]", 512)
        buf = ffi.new("uint8_t[]", 256 * 1024)
        n = lib.nk_msg_get_many(a.recv.cdata, hdrs, buf, 256 * 1024, lens, 512)
        assert 300 == n
        assert {77} == {hdrs[i].dst for i in range(n)}
        assert {SEND} == {hdrs[i].kind for i in range(n)}
        data, pos, got = ffi.buffer(buf), 0, []
        for i in range(n):
            got.append(data[pos:pos + lens[i]])
            pos += lens[i]
        assert bodies == got

    def test_forward_run_moves_a_run_and_stamps_the_sender(self, pair):
        """The run stops at the first message of another kind or destination."""
        a, b, pa, pb = pair
        pa.send_many(5, SEND, [b"\x90"] * 10)
        pa.send(5, CALL, 1, b"\x90")
        pa.send_many(5, SEND, [b"\x90"] * 3)
        n, moved = forward_run(a, b, stamp=4242, dst=5)
        assert (10, 10 * (HEADER_SIZE + 1)) == (n, moved)
        assert (0, 0) == forward_run(a, b, stamp=4242, dst=5)   # the CALL blocks the run
        msgs = pb.recv_many(0)
        assert 10 == len(msgs)
        assert {4242} == {m.src for m in msgs}

    def test_forward_run_stops_when_the_receiver_is_full(self, pair):
        """Nothing is lost: what does not fit stays in the sender's ring."""
        a, b, pa, pb = pair
        body = b"x" * 1000
        pa.send_many(5, SEND, [body] * 40)
        first, _ = forward_run(a, b, stamp=1, dst=5)
        assert 0 < first < 40
        total, n = 0, first
        while n:
            assert n == len(pb.recv_many(0))
            total += n
            n, _ = forward_run(a, b, stamp=1, dst=5)
        assert 40 == total

    def test_forward_run_refuses_a_lying_body_length(self, pair):
        """A header whose body_len disagrees with the record is left for the slow path."""
        a, b, pa, _ = pair
        hdr = ffi.new("nk_msg_header *")
        hdr.dst, hdr.kind, hdr.body_len = 5, SEND, 999
        lib.nk_ring_putv(pa.channel.send.cdata, hdr, HEADER_SIZE, b"\x90", 1)
        assert (0, 0) == forward_run(a, b, stamp=1, dst=5)


def test_send_many_through_a_real_kernel(tmp_path, nk_env):
    """5,000 SENDs in batches all reach the server, each counted as one routed message."""
    import json
    import subprocess
    import sys

    from tests.conftest import pids_of_boot, wait_until

    out = tmp_path / "out.json"
    driver = Path(__file__).parent / "programs" / "batchdriver.py"
    proc = subprocess.Popen([sys.executable, "-m", "kernel.boot", "--log",
                             str(tmp_path / "boot.log"), str(driver), str(out)],
                            env=nk_env, text=True, stdin=subprocess.DEVNULL,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    _, err = proc.communicate(timeout=60)
    assert 0 == proc.returncode, err
    wait_until(lambda: not pids_of_boot(proc.pid), 5, what="no orphan processes")
    result = json.loads(out.read_text())
    assert 5000 == result["seen"]
    assert 5000 + 2 == result["routed"]   # and the sends_seen CALL and its REPLY
