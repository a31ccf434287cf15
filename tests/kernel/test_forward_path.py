"""The router's rules on both paths (the ``table`` fixture runs each test on the
forward path in C and on the Python path): the in-process kernel is stepped by
the test, the processes' ends of the channels are played by the test.

The C path learns an ACL decision from the first message of a pair (which the
Python path admits), so each test first makes one call to warm it up: what
follows is what C decides alone."""

from __future__ import annotations

import pytest
from libipc._nkffi import ffi, lib

from kernel.syscalls import do_set_acl
from libipc.message import CALL, CANCEL, ERROR, HEADER_SIZE, REPLY, SEND, pack, unpack
from tests.kernel.conftest import fill

BODY = pack(["ping", {}])


class Ends:
    """The process side of one channel: put messages up, take what came down."""

    def __init__(self, side) -> None:
        self.side = side
        self.hdr = ffi.new("nk_msg_header *")
        self.buf = ffi.new("uint8_t[]", 70000)

    def put(self, dst: int, kind: int, msg_id: int, body: bytes = BODY, src: int = 0) -> None:
        if src:   # a forged source: the kernel must overwrite it
            h = ffi.new("nk_msg_header *", {"src": src, "dst": dst, "kind": kind,
                                            "id": msg_id, "body_len": len(body)})
            rc = lib.nk_ring_putv(self.side.send.cdata, h, HEADER_SIZE, body, len(body))
        else:
            rc = lib.nk_msg_put(self.side.send.cdata, dst, kind, 0, msg_id, body, len(body))
        assert rc >= 0

    def take(self) -> tuple[int, int, int, object] | None:
        n = lib.nk_msg_get(self.side.recv.cdata, self.hdr, self.buf, 70000)
        if n < 0:
            return None
        h = self.hdr
        return h.src, h.kind, h.id, unpack(ffi.buffer(self.buf, n)[:])

    def take_all(self) -> list[tuple[int, int, int, object]]:
        out = []
        while (m := self.take()) is not None:
            out.append(m)
        return out


def step(k, times: int = 3) -> None:
    for _ in range(times):
        k._pass(0)


@pytest.fixture
def pair(table):
    k, add = table
    (a, a_side), (b, b_side) = add("a"), add("b")
    a_end, b_end = Ends(a_side), Ends(b_side)
    a_end.put(b.endpoint, CALL, 1)            # warm-up: the Python path admits the pair
    step(k)
    assert b_end.take()[1] == CALL
    b_end.put(a.endpoint, REPLY, 1, pack("ok"))
    step(k)
    assert a_end.take()[1:3] == (REPLY, 1)
    return k, a, a_end, b, b_end


def routed_in_c(k) -> int:
    return k.table.c.messages_routed


class TestForwardPath:
    def test_a_call_and_its_reply_with_the_true_sender(self, pair):
        k, a, a_end, b, b_end = pair
        before = routed_in_c(k)
        a_end.put(b.endpoint, CALL, 2, src=b.endpoint)   # forged: claims to be b
        step(k)
        assert (a.endpoint, CALL, 2) == b_end.take()[:3]
        b_end.put(a.endpoint, REPLY, 2, pack("pong"))
        step(k)
        assert (b.endpoint, REPLY, 2, "pong") == a_end.take()
        moved_by_c = routed_in_c(k) - before
        assert moved_by_c == (2 if k.router.c_path else 0)
        assert 0 == k.table.calls_of(a)

    def test_a_reply_right_is_used_once(self, pair):
        k, a, a_end, b, b_end = pair
        a_end.put(b.endpoint, CALL, 2)
        step(k)
        b_end.take()
        b_end.put(a.endpoint, REPLY, 2, pack("first"))
        b_end.put(a.endpoint, REPLY, 2, pack("second"))
        b_end.put(a.endpoint, ERROR, 3, pack("never called"))
        step(k)
        assert [(REPLY, 2, "first")] == [m[1:] for m in a_end.take_all()]
        assert 2 == k.counters.dropped_replies

    def test_only_the_callee_may_answer(self, table):
        k, add = table
        (a, a_side), (b, b_side), (_, c_side) = add("a"), add("b"), add("c")
        a_end, b_end, c_end = Ends(a_side), Ends(b_side), Ends(c_side)
        for _ in range(2):   # the second round is C's
            a_end.put(b.endpoint, CALL, 7)
            step(k)
            assert b_end.take()[1] == CALL
            c_end.put(a.endpoint, REPLY, 7, pack("forged"))
            step(k)
            assert a_end.take() is None
            b_end.put(a.endpoint, REPLY, 7, pack("true"))
            step(k)
            assert (b.endpoint, REPLY, 7, "true") == a_end.take()

    def test_a_changed_acl_voids_what_c_remembered(self, pair):
        k, a, a_end, b, b_end = pair
        do_set_acl(k, a, a.endpoint, ["nobody"])
        a_end.put(b.endpoint, SEND, 0)
        step(k)
        assert b_end.take() is None
        src, kind, _, body = a_end.take()
        assert (0, ERROR, "PermissionDenied") == (src, kind, body["code"])

    def test_a_cycle_of_calls_is_refused(self, pair):
        k, a, a_end, b, b_end = pair
        b_end.put(a.endpoint, CALL, 1)   # warm the other direction up too
        step(k)
        a_end.take()
        a_end.put(b.endpoint, REPLY, 1, pack("ok"))
        step(k)
        b_end.take()
        a_end.put(b.endpoint, CALL, 5)       # a waits on b ...
        step(k)
        assert b_end.take()[1] == CALL
        b_end.put(a.endpoint, CALL, 6)       # ... so b calling a would deadlock
        step(k)
        assert a_end.take() is None
        _, kind, msg_id, body = b_end.take()
        assert (ERROR, 6, "Deadlock") == (kind, msg_id, body["code"])

    def test_the_call_limit_holds(self, pair):
        k, a, a_end, b, b_end = pair
        for i in range(k.max_calls + 1):
            a_end.put(b.endpoint, CALL, 100 + i)
        step(k, 6)
        assert k.max_calls == len(b_end.take_all())
        _, kind, msg_id, body = a_end.take()
        assert (ERROR, 100 + k.max_calls, "TooManyCalls") == (kind, msg_id, body["code"])

    def test_a_duplicate_call_id_is_refused(self, pair):
        k, a, a_end, b, b_end = pair
        a_end.put(b.endpoint, CALL, 9)
        a_end.put(b.endpoint, CALL, 9)
        step(k)
        assert 1 == len(b_end.take_all())
        _, kind, _, body = a_end.take()
        assert (ERROR, "InvalidArgument") == (kind, body["code"])

    def test_held_messages_are_not_overtaken(self, pair):
        """Calls the kernel queued for a full receiver go first, even once its ring has
        room again and a new call arrives in the same pass as the queue's flush."""
        k, a, a_end, b, b_end = pair
        fill(b.down)
        while lib.nk_ring_put(b.down, b"x", 1) >= 0:   # not even a small call fits
            pass
        a_end.put(b.endpoint, CALL, 11)
        a_end.put(b.endpoint, CALL, 12)
        step(k)
        assert len(b.pending) == 2
        while lib.nk_ring_discard(b_end.side.recv.cdata) >= 0:   # b reads the filler
            pass
        a_end.put(b.endpoint, CALL, 13)
        step(k)
        assert [11, 12, 13] == [m[2] for m in b_end.take_all() if m[1] == CALL]

    def test_a_cancelled_call_gets_no_late_reply(self, pair):
        k, a, a_end, b, b_end = pair
        a_end.put(b.endpoint, CALL, 21)
        step(k)
        b_end.take()
        a_end.put(b.endpoint, CANCEL, 21, b"")
        step(k)
        b_end.put(a.endpoint, REPLY, 21, pack("late"))
        step(k)
        assert a_end.take() is None
        assert 0 == k.table.calls_of(a)

    def test_a_dead_callee_gives_server_died_and_frees_the_row(self, pair):
        k, a, a_end, b, b_end = pair
        a_end.put(b.endpoint, CALL, 31)
        step(k)
        k._exited(b, -9)
        step(k)
        _, kind, msg_id, body = a_end.take()
        assert (ERROR, 31, "ServerDied") == (kind, msg_id, body["code"])
        assert 0 == k.table.calls_of(a)
        assert 0 == k.table.c.slot[b.slot].endpoint

    def test_ps_adds_up_both_paths(self, pair):
        k, a, a_end, b, b_end = pair
        for _ in range(5):
            a_end.put(b.endpoint, SEND, 0)
        step(k)
        row = a.info(k.table)
        assert 6 == row["msgs_out"]   # the warm-up call and five SENDs
        assert 6 == b.info(k.table)["msgs_in"]


def scribble_after_admit(monkeypatch, proc, side, field: str, value: int) -> None:
    """The sender rewrites its message in its own ring (shared memory) once the kernel
    has admitted it and before the kernel moves it: what the receiver gets must be the
    message that was checked.  ``proc``'s ring must be fresh (its first record)."""
    import kernel.router as router

    real = router.admit
    head, tail, data = (ffi.new("uint64_t *") for _ in range(3))
    lib.nk_ring_layout(head, tail, data)
    hdr = ffi.cast("nk_msg_header *", ffi.cast("uint8_t *", side._cbuf) + data[0] + 8)

    def admit(k, src, *args):
        dst = real(k, src, *args)
        if src is proc:
            setattr(hdr, field, value)
        return dst

    monkeypatch.setattr(router, "admit", admit)


class TestScribbledHeaders:
    def test_a_send_turned_reply_after_admission_stays_a_send(self, table, monkeypatch):
        """b waits for a's answer to its call 7; a SENDs to b and rewrites the SEND into
        a REPLY 7 while the kernel checks it, then answers honestly: b must get the SEND
        and one reply, never two answers to one call."""
        k, add = table
        (a, a_side), (b, b_side) = add("a"), add("b")
        a_end, b_end = Ends(a_side), Ends(b_side)
        b_end.put(a.endpoint, CALL, 7)
        step(k)
        assert (b.endpoint, CALL, 7) == a_end.take()[:3]
        scribble_after_admit(monkeypatch, a, a_side, "kind", REPLY)
        a_end.put(b.endpoint, SEND, 7)
        step(k)
        a_end.put(b.endpoint, REPLY, 7, pack("the answer"))
        step(k)
        assert [(a.endpoint, SEND, 7, ["ping", {}]),
                (a.endpoint, REPLY, 7, "the answer")] == b_end.take_all()

    def test_a_queued_call_keeps_the_id_the_kernel_tracks(self, table, monkeypatch):
        """A call queued for a full receiver is the call admitted and recorded, whatever
        the caller wrote over its id meanwhile: b's answer reaches a."""
        k, add = table
        (a, a_side), (b, b_side) = add("a"), add("b")
        a_end, b_end = Ends(a_side), Ends(b_side)
        scribble_after_admit(monkeypatch, a, a_side, "id", 6)
        fill(b.down)
        a_end.put(b.endpoint, CALL, 5)
        step(k)
        assert 1 == len(b.pending)
        while lib.nk_ring_discard(b_side.recv.cdata) >= 0:   # b reads the filler
            pass
        step(k)
        assert [(a.endpoint, CALL, 5)] == [m[:3] for m in b_end.take_all()]
        b_end.put(a.endpoint, REPLY, 5, pack("ok"))
        step(k)
        assert (b.endpoint, REPLY, 5, "ok") == a_end.take()


class TestTracingTurnedOnMidRun:
    def test_a_call_right_behind_trace_on_is_traced(self, pair, tmp_path):
        """a turns tracing on and calls b at once: the kernel routes both in one drain of
        a's ring, and the call must be traced (C does not trace: it must not route it)."""
        import json

        k, a, a_end, b, b_end = pair
        trace = tmp_path / "trace.jsonl"
        a_end.put(0, CALL, 40, pack(["trace", {"on": True, "path": str(trace)}]))
        a_end.put(b.endpoint, CALL, 41)
        step(k)
        assert (a.endpoint, CALL, 41) == b_end.take()[:3]
        events = [json.loads(line) for line in trace.read_text().splitlines()]
        assert [("CALL", 41)] == [(e["kind"], e["id"]) for e in events
                                  if e["src"] == a.endpoint and e["dst"] == b.endpoint]
        k.tracer.turn(False)
