"""Blocking waits: woken by the other process, bounded by their timeout, free while idle.

The waiting side is a real child process (it attaches the channel by fd, as a
spawned server does).  Before poking it, the parent checks that the child is
really asleep — scheduler state S — rather than sleeping itself and hoping.
The child reports what it saw through the channel's other ring.
"""

from __future__ import annotations

import json
import os
import threading
import time

import pytest
from libipc._nkffi import lib

from libipc.channel import Channel
from libipc.errors import Timeout
from tests.ring.ringtools import Child, proc_cpu_seconds, proc_state, wait_for

IDLE_S = 1.0
MAX_IDLE_CPU = 0.05   # of wall time


def report(chan: Channel, **facts) -> None:
    chan.send.put(json.dumps(facts).encode(), timeout=10)


def child_waits_for_one_record(fd: int) -> None:
    chan = Channel.attach(os.dup(fd))
    report(chan, ready=True)
    data = chan.recv.get(timeout=20)
    report(chan, data=data.decode(), sleeps=chan.recv.stats()["sleeps"])


def child_waits_for_room(fd: int) -> None:
    chan = Channel.attach(os.dup(fd))
    ring = chan.send
    while ring.put_many([b"f" * ring.max_payload]):   # fill the process→kernel ring
        pass
    ring.put(b"last one", timeout=20)                  # blocks until the kernel takes one
    ring.put(json.dumps({"sleeps": ring.stats()["sleeps"]}).encode(), timeout=20)


def child_times_out(fd: int, timeout: float) -> None:
    chan = Channel.attach(os.dup(fd))
    cpu0, t0 = time.process_time(), time.monotonic()
    readable = chan.recv.wait_readable(timeout)
    wall, cpu = time.monotonic() - t0, time.process_time() - cpu0
    try:
        chan.recv.get(timeout=0.05)
        raised = None
    except Timeout as exc:
        raised = type(exc).__name__
    report(chan, readable=readable, wall=wall, cpu=cpu, raised=raised)


def asleep(pid: int) -> bool:
    return proc_state(pid) == "S"


class TestWakeUp:
    def test_blocked_reader_wakes_on_put_from_another_process(self):
        """A child asleep in get() on an empty ring wakes with the record the parent puts."""
        with Channel.create(4096) as chan, Child(child_waits_for_one_record, chan.fd) as child:
            assert {"ready": True} == json.loads(chan.recv.get(timeout=10))
            wait_for(lambda: asleep(child.pid), 10, "the child to block in get()")
            t0 = time.monotonic()
            chan.send.put(b"wake up")
            answer = json.loads(chan.recv.get(timeout=10))
            assert time.monotonic() - t0 < 5
            assert "wake up" == answer["data"]
            assert 1 <= answer["sleeps"]   # it really slept on the futex, it did not spin
            assert 0 == child.join(10)

    def test_blocked_writer_wakes_when_room_is_freed(self):
        """A child asleep in put() on a full ring wakes when the parent takes a record."""
        with Channel.create(4096) as chan, Child(child_waits_for_room, chan.fd) as child:
            wait_for(lambda: chan.recv.readable() and asleep(child.pid), 10,
                     "the child to block in put() on a full ring")
            full = b"f" * chan.recv.max_payload
            got = [chan.recv.get(timeout=10) for _ in range(3)]
            assert [full, full, b"last one"] == got
            sleeps = json.loads(chan.recv.get(timeout=10))["sleeps"]
            assert 1 <= sleeps
            assert 0 == child.join(10)

    def test_kick_cuts_a_c_level_wait_short(self, ring):
        """nk_ring_kick wakes a waiter with nothing to read: the C wait returns 0 early."""
        result = {}

        def waiter():
            result["tid"] = threading.get_native_id()
            t0 = time.monotonic()
            result["rc"] = lib.nk_ring_wait_readable(ring.consumer.cdata, 20 * 10**9)
            result["waited"] = time.monotonic() - t0

        thread = threading.Thread(target=waiter)
        thread.start()
        try:
            wait_for(lambda: "tid" in result and thread_state(result["tid"]) == "S", 10,
                     "the waiter thread to sleep")
            ring.consumer.kick()
            thread.join(10)
            assert not thread.is_alive()
        finally:
            if thread.is_alive():      # never leave it behind: put something it can take
                ring.producer.put(b"release")
                thread.join(10)
        assert 0 == result["rc"]
        assert result["waited"] < 10


def thread_state(tid: int) -> str:
    """Scheduler state of one thread of this process."""
    with open(f"/proc/self/task/{tid}/stat") as f:
        return f.read().rsplit(")", 1)[1].split()[0]


class TestTimeout:
    def test_waiter_in_another_process_times_out(self):
        """Nothing comes: wait_readable returns False after its timeout, get raises Timeout."""
        with Channel.create(4096) as chan, Child(child_times_out, chan.fd, 0.3) as child:
            facts = json.loads(chan.recv.get(timeout=10))
            assert 0 == child.join(10)
        assert facts["readable"] is False
        assert 0.3 <= facts["wall"] < 3.0
        assert "Timeout" == facts["raised"]

    def test_timeout_is_honoured_in_process(self, ring):
        """get(timeout) gives up no earlier than asked and not much later."""
        t0 = time.monotonic()
        with pytest.raises(Timeout):
            ring.consumer.get(timeout=0.2)
        assert 0.2 <= time.monotonic() - t0 < 2.0

    def test_kick_does_not_end_a_python_wait_early(self, ring):
        """Ring.get(timeout) keeps waiting through a kick: it returns only with data or Timeout."""
        timer = threading.Timer(0.05, ring.consumer.kick)
        timer.start()
        t0 = time.monotonic()
        with pytest.raises(Timeout):
            ring.consumer.get(timeout=0.3)
        timer.join()
        assert 0.3 <= time.monotonic() - t0


class TestIdleCost:
    def test_idle_waiter_uses_no_cpu(self):
        """A child waiting a whole second for data that never comes uses < 5% of a CPU."""
        with Channel.create(4096) as chan, Child(child_times_out, chan.fd, IDLE_S) as child:
            facts = json.loads(chan.recv.get(timeout=10))
            assert 0 == child.join(10)
        assert facts["readable"] is False
        assert IDLE_S <= facts["wall"]
        assert facts["cpu"] < MAX_IDLE_CPU * facts["wall"], facts

    def test_waiter_without_timeout_sleeps_until_woken(self):
        """A child blocked in get() with no timeout: its CPU time (from /proc) stays flat."""
        with Channel.create(4096) as chan, Child(child_waits_for_one_record, chan.fd) as child:
            assert {"ready": True} == json.loads(chan.recv.get(timeout=10))
            wait_for(lambda: asleep(child.pid), 10, "the child to block in get()")
            cpu0, t0 = proc_cpu_seconds(child.pid), time.monotonic()
            time.sleep(IDLE_S)         # the measurement window itself
            cpu, wall = proc_cpu_seconds(child.pid) - cpu0, time.monotonic() - t0
            chan.send.put(b"done")
            assert "done" == json.loads(chan.recv.get(timeout=10))["data"]
            assert 0 == child.join(10)
        assert cpu < MAX_IDLE_CPU * wall
