"""A call from a second thread while another thread's call waits is refused at once
(RuntimeError), not left to lose answers: the down ring has one consumer, and before,
a receiving thread and a sending thread on one message queue both hung until their
timeouts after a few rounds (docs/ipc.md, Semaphores: Threads)."""

from __future__ import annotations

import threading

import pytest

from libipc.message import REPLY, pack
from libipc.runtime import Message, Runtime

pytestmark = pytest.mark.timeout(30)


class HeldTransport:
    """Answers every CALL with REPLY "ok", but only once ``go`` is set."""

    def __init__(self) -> None:
        self.go = threading.Event()
        self.sent: list[tuple[int, int, int]] = []
        self.in_recv = threading.Event()
        self._answers: list[Message] = []
        self._lock = threading.Lock()

    def send(self, dst: int, kind: int, call_id: int, body: bytes = b"", **_: object) -> None:
        with self._lock:
            self.sent.append((dst, kind, call_id))
            self._answers.append(Message(dst, 4200, REPLY, 0, call_id, pack("ok")))

    def recv(self, timeout: float | None = None) -> Message | None:
        self.in_recv.set()
        if not self.go.wait(timeout):
            return None
        with self._lock:
            return self._answers.pop(0) if self._answers else None


def test_a_second_threads_call_is_refused_while_one_waits():
    transport = HeldTransport()
    rt = Runtime(transport, 4200, "t")
    got = []
    waiter = threading.Thread(target=lambda: got.append(rt.call(7, "wait", timeout=10)))
    waiter.start()
    assert transport.in_recv.wait(5)
    with pytest.raises(RuntimeError, match="second thread"):
        rt.call(8, "other", timeout=10)
    assert [dst for dst, _, _ in transport.sent] == [7]    # nothing of it was sent
    transport.go.set()
    waiter.join(5)
    assert got == ["ok"]
    assert rt.call(8, "other", timeout=10) == "ok"          # once no call waits: fine


def test_one_thread_other_than_the_first_may_make_all_the_calls():
    transport = HeldTransport()
    transport.go.set()
    rt = Runtime(transport, 4200, "t")
    assert rt.call(7, "a") == "ok"
    got = []
    worker = threading.Thread(target=lambda: got.extend(rt.call(7, "b") for _ in range(3)))
    worker.start()
    worker.join(5)
    assert got == ["ok"] * 3
    assert rt.call(7, "c") == "ok"
