"""Runtime.call_async (init's pings: never waited for) and the heartbeat answered
from inside a call's wait (a process waiting for someone is not hung)."""

from __future__ import annotations

from collections import deque

from libipc.message import CALL, CANCEL, REPLY, Message, pack
from libipc.runtime import HEARTBEAT_ANSWER, HEARTBEAT_BODY, Runtime

ME, PEER, INIT = 9, 7, 1


class FakeTransport:
    """Answers queued by the test; every send recorded."""

    max_body = 65536

    def __init__(self) -> None:
        self.incoming: deque[Message] = deque()
        self.sent: list[tuple[int, int, int, bytes]] = []
        self.on_send = None

    def send(self, dst, kind, msg_id, body=b"", flags=0, timeout=30.0):
        self.sent.append((dst, kind, msg_id, bytes(body)))
        if self.on_send is not None:
            self.on_send(dst, kind, msg_id)

    def recv(self, timeout, bell_seen=None):
        return self.incoming.popleft() if self.incoming else None

    def recv_many(self, timeout, bell_seen=None, max_n=256):
        out = list(self.incoming)
        self.incoming.clear()
        return out

    def bell_seen(self):
        return 0

    def wake(self):
        pass


def answer(src: int, call_id: int, value) -> Message:
    return Message(src, ME, REPLY, 0, call_id, pack(value))


class TestCallAsync:
    def test_the_answer_goes_to_the_callback_on_a_later_turn_of_the_loop(self):
        """call_async returns at once; next_event hands the answer to the callback."""
        t = FakeTransport()
        rt = Runtime(t, ME, "test")
        got = []
        call_id = rt.call_async(PEER, "heartbeat", {}, lambda m: got.append(Runtime.result(m)))
        assert [(PEER, CALL, call_id, HEARTBEAT_BODY)] == t.sent
        t.incoming.append(answer(PEER, call_id, True))
        assert rt.next_event(0) is None   # took the answer, posted the callback
        rt.next_event(0)                  # ran it
        assert [True] == got

    def test_an_answer_that_comes_during_a_blocking_call_is_kept_for_the_callback(self):
        t = FakeTransport()
        rt = Runtime(t, ME, "test")
        got = []
        ping = rt.call_async(PEER, "heartbeat", {}, lambda m: got.append(m.id))

        def answer_both(dst, kind, msg_id):
            if kind == CALL and dst == INIT:
                t.on_send = None
                t.incoming.extend([answer(PEER, ping, True), answer(INIT, msg_id, "sync")])

        t.on_send = answer_both
        assert "sync" == rt.call(INIT, "status", {}, timeout=1.0)
        rt.next_event(0)
        assert [ping] == got

    def test_forget_cancels_and_drops_the_late_answer(self):
        t = FakeTransport()
        rt = Runtime(t, ME, "test")
        got = []
        call_id = rt.call_async(PEER, "heartbeat", {}, got.append)
        rt.forget(PEER, call_id)
        assert (PEER, CANCEL, call_id) == t.sent[-1][:3]
        t.incoming.append(answer(PEER, call_id, True))
        rt.next_event(0)
        rt.next_event(0)
        assert [] == got


class TestHeartbeatDuringACall:
    def test_a_ping_that_comes_while_waiting_is_answered_at_once(self):
        """Waiting in a call, the runtime answers init's ping itself; other calls wait
        in the inbox for the server loop."""
        t = FakeTransport()
        rt = Runtime(t, ME, "test")
        other = Message(PEER, ME, CALL, 0, 41, pack(["ping", {"text": "x"}]))

        def reply_later(dst, kind, msg_id):
            if kind == CALL and dst == PEER:
                t.on_send = None
                t.incoming.extend([Message(INIT, ME, CALL, 0, 77, HEARTBEAT_BODY), other,
                                   answer(PEER, msg_id, "done")])

        t.on_send = reply_later
        assert "done" == rt.call(PEER, "slow", {}, timeout=1.0)
        assert (INIT, REPLY, 77, HEARTBEAT_ANSWER) in t.sent
        assert other is rt.next_event(0)


class TestTakeArrived:
    def test_an_answer_on_the_ring_runs_its_callback_at_once(self):
        """take_arrived (init, before it calls a server hung): an answer already on the
        ring runs its callback now; a CALL that came with it waits for next_event."""
        t = FakeTransport()
        rt = Runtime(t, ME, "test")
        got = []
        ping = rt.call_async(PEER, "heartbeat", {}, lambda m: got.append(m.id))
        request = Message(PEER, ME, CALL, 0, 99, pack(["x", {}]))
        t.incoming.extend([answer(PEER, ping, True), request])
        rt.take_arrived()
        assert [ping] == got
        assert request == rt.next_event(0)
