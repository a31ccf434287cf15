"""The router: move each message from its sender's ring to its receiver's.

Per message, a small pipeline on the fixed header alone (the body is never
unpacked unless it is addressed to the kernel, or tracing wants the op name):

    peek header → check (kind, size, destination, ACL, limits, deadlock)
               → stamp the true source → forward (one copy, ring to ring)
               → book-keeping (outstanding calls, counters, trace)

Rules (docs/protocol.md states them for users):
* CALL   is tracked: the caller may get exactly one REPLY/ERROR, and only
         from the callee (seL4's one-shot reply right).  Others are dropped
         and counted.
* SEND   blocks when the receiver's ring is full: the message stays in the
         sender's ring and the kernel stops reading that ring until room
         appears (back-pressure); with NK_FLAG_NONBLOCK it is refused with
         ``WouldBlock`` instead.
* NOTIFY never blocks: its bits are OR-ed into a per-sender word, delivered
         only when the receiver has drained its ring — so a busy receiver
         gets one message with all the bits, and notifications never fill a ring.
* CANCEL makes the kernel forget a call; a late reply is then dropped.
Replies and kernel-made messages never block the replier either: when the
receiver's ring is full they wait in the receiver's ``pending`` queue.

The admission rules themselves live in kernel/admit.py, shared with the
hosted path (kernel/hosted.py); this file only moves bytes and keeps books.

Two paths, one set of rules: the forward path in C (csrc/nk_route.c) takes
runs of messages off a ring and moves every one it can decide from the
routing table (kernel/table.py) — CALL, SEND, REPLY, ERROR between processes
when every rule is known to pass — and stops at the first it cannot; this
file handles that one (kernel calls, NOTIFY, CANCEL, refusals, full rings,
hosted servers) and calls C again.  With tracing on, or ``NK_ROUTER=python``,
every message takes this file's path: the reference, and what the router
tests run against too.

Fairness: each pass visits every ready ring, starting one further each time,
and takes at most ``BATCH`` messages from each, so a flooding sender cannot
starve the others.
"""

from __future__ import annotations

import time
from typing import TYPE_CHECKING

from libipc._nkffi import ffi, lib

from kernel.admit import (
    admit,
    check_size,
    fitting_reply,
    record_call,
    take_reply_right,
    too_large,
    withdraw_call,
)
from kernel.endpoint import KERNEL
from kernel.ordering import delivery_of
from kernel.proc import Proc
from libipc.errors import IpcError, WouldBlock
from libipc.message import (
    CALL,
    CANCEL,
    ERROR,
    FLAG_NONBLOCK,
    HEADER_SIZE,
    NOTIFY,
    REPLY,
    SEND,
    Message,
    pack,
    parse_call,
    unpack,
)

if TYPE_CHECKING:
    from kernel.kernel import Kernel

BATCH = 32
KINDS = frozenset((CALL, REPLY, ERROR, SEND, NOTIFY, CANCEL))
_peek, _EMPTY, _CORRUPT = lib.nk_msg_peek, lib.NK_ERR_EMPTY, lib.NK_ERR_CORRUPT
_route_c, _SLOW = lib.nk_route_drain, lib.NK_ROUTE_SLOW


class Router:
    def __init__(self, kernel: Kernel, c_path: bool = True) -> None:
        self.k = kernel
        self.counters = kernel.counters
        self.c_path = c_path
        self._table = kernel.table.c
        self._len = ffi.new("int64_t *")
        self._n = ffi.new("uint32_t *")
        self._hdr = ffi.new("nk_msg_header *")   # the header at the head, as checked
        self._got = ffi.new("nk_msg_header *")   # what nk_msg_get finds there (see _take)
        self._out = ffi.new("nk_msg_header *")
        self._body = ffi.new("uint8_t[]", kernel.max_record)
        self._moved = ffi.new("uint64_t *")

    # -- one pass ---------------------------------------------------------------
    def fast(self) -> bool:
        """May the forward path in C route now?  (Tracing, recording and ordered
        delivery want every message here.)"""
        return self.c_path and not self.per_message()

    def per_message(self) -> bool:
        """Must each message be seen here, one by one (traced, recorded, ordered)?"""
        return self.k.tracer.enabled or self.k.recorder is not None or self.k.order is not None

    def drain(self, proc: Proc, budget: int = BATCH) -> None:
        """Route up to ``budget`` messages from ``proc``'s ring."""
        limit = self.k.max_pending
        fast = self.fast()
        while budget > 0:
            if not proc.alive or proc.blocked_on is not None or proc.pending_bytes > limit:
                return   # (the last test is backlogged(), inlined: this runs per message)
            if fast:
                stop = _route_c(self._table, proc.slot, budget, self._hdr, self._len, self._n)
                budget -= self._n[0]
                if stop != _SLOW:
                    return   # empty, or its share of this pass used up
                # the message at the head needs the rules below
            budget -= 1
            if not self.route_head(proc):
                return
            fast = self.fast()   # (that may have been the kernel call turning tracing on)

    def route_head(self, proc: Proc) -> bool:
        """Route the message at the head of ``proc``'s ring; False if there was none
        (or the ring is corrupt)."""
        hdr = self._hdr
        n = _peek(proc.up, hdr)
        if n < 0:
            if n == _CORRUPT:
                self.k.ring_corrupt(proc)
            if n in (_EMPTY, _CORRUPT):
                return False
            self._discard(proc, "malformed header")   # NK_ERR_BADMSG
            return True
        if self.k.recorder is not None:
            self.k.recorder.took(delivery_of(proc, hdr, self.k))
        self._route(proc, n)
        return True

    def _route(self, src: Proc, size: int) -> None:
        h = self._hdr
        kind, dst_ep, msg_id = h.kind, h.dst, h.id
        if kind not in KINDS or h.flags & ~FLAG_NONBLOCK:
            self._discard(src, f"bad kind {kind} or flags {h.flags}")
            return
        if kind not in (REPLY, ERROR) or dst_ep == KERNEL:   # (replies: see _reply)
            try:
                check_size(self.k, size - HEADER_SIZE)
            except IpcError as exc:
                self._refuse(src, kind, msg_id, exc)
                return
        if dst_ep == KERNEL:
            self._to_kernel(src, kind, msg_id)
            return
        if kind in (REPLY, ERROR):
            self._reply(src, dst_ep, kind, msg_id, size)
        elif kind == CANCEL:
            self._consume(src)
            self.cancel(src, msg_id)
        elif kind == NOTIFY:
            self._notify(src, dst_ep, msg_id, size)
        else:
            self._call_or_send(src, dst_ep, kind, msg_id, size)

    # -- per kind -----------------------------------------------------------------
    def _call_or_send(self, src: Proc, dst_ep: int, kind: int, msg_id: int, size: int) -> None:
        try:
            dst = admit(self.k, src, dst_ep, kind, msg_id, size - HEADER_SIZE)
        except IpcError as exc:
            self._refuse(src, kind, msg_id, exc)
            return
        op = self._peek_op(src, size) if self.k.tracer.enabled else None
        if dst.hosted is not None:
            self._hand_over(src, dst)
        elif dst.pending or not self._forward(src, dst, size):
            if kind == CALL:
                # A call never stalls its caller's ring — its CANCEL after a timeout, its
                # calls to others must get through: it waits in the callee's queue
                # (TooManyCalls bounds how many a caller can have there).
                self._queue_copy(src, dst)
            elif self._hdr.flags & FLAG_NONBLOCK:
                self._refuse(src, kind, msg_id, WouldBlock(f"{dst.name}'s ring is full"))
                return
            else:
                self.k.block(src, dst, size)   # SEND back-pressure: it stays in src's ring
                return
        if kind == CALL:
            record_call(self.k, src, dst, msg_id)
        self._trace(src, dst, kind, msg_id, size, op=op)
        if kind == SEND and dst.hosted is None and not self.per_message():
            self._forward_run(src, dst, dst_ep)

    def _forward_run(self, src: Proc, dst: Proc, dst_ep: int) -> None:
        """More SENDs to the same place right behind this one: move them in one C call
        (the checks just made hold for all of them: same sender, receiver, kind)."""
        n = lib.nk_ring_forward_run(src.up, dst.down,
                                    src.endpoint, dst_ep, SEND, self.k.max_record, BATCH,
                                    self._moved)
        if n > 0:
            self._count(src, dst, self._moved[0], messages=n)

    def _reply(self, src: Proc, dst_ep: int, kind: int, msg_id: int, size: int) -> None:
        right = take_reply_right(self.k, src, dst_ep, msg_id)
        if right is None:
            self._discard(src, f"reply {msg_id} to {dst_ep}: no such call outstanding")
            self.counters.dropped_replies += 1
            src.dropped += 1
            return
        dst, t0 = right
        latency = (time.monotonic() - t0) * 1e6 if self.k.tracer.enabled else None
        if size > self.k.max_record:   # undeliverable: the caller must not wait forever
            self._consume(src)
            self.post_error(dst, src.endpoint, msg_id, too_large(self.k, size - HEADER_SIZE))
        elif dst.hosted is not None:
            self._hand_over(src, dst)
        elif dst.pending or not self._forward(src, dst, size):
            self._queue_copy(src, dst)
        self._trace(src, dst, kind, msg_id, size, latency_us=latency)

    def cancel(self, src: Proc, msg_id: int) -> None:
        """The caller withdraws call ``msg_id``: forget it, and undeliver it if it still
        waits in the callee's queue."""
        callee = withdraw_call(self.k, src, msg_id)
        if callee is not None:
            self._unqueue_call(callee, src.endpoint, msg_id)

    def _unqueue_call(self, callee: Proc, caller_ep: int, msg_id: int) -> None:
        """A cancelled call still waiting in the callee's queue is not delivered at all."""
        for i, ((src_ep, kind, _, pending_id), body) in enumerate(callee.pending):
            if (src_ep, kind, pending_id) == (caller_ep, CALL, msg_id):
                del callee.pending[i]
                callee.pending_bytes -= HEADER_SIZE + len(body)
                if not callee.pending:
                    self.k.table.set_held(callee, False)
                return

    def _notify(self, src: Proc, dst_ep: int, bits: int, size: int) -> None:
        self._consume(src)
        dst = self.k.resolve(dst_ep)
        if dst is None or not dst.alive:
            return  # notifications are best-effort signals, never errors
        self.post_notify(dst, src.endpoint, bits)
        self._trace(src, dst, NOTIFY, bits, size)

    def _to_kernel(self, src: Proc, kind: int, msg_id: int) -> None:
        if kind != CALL:
            self._consume(src)
            return  # only CALLs mean anything to the kernel; the rest is dropped
        body = self._take(src)
        if body is None:
            return
        src.msgs_out += 1
        self.counters.ring_crossings += 1
        self.k.syscall(src, msg_id, body)

    # -- moving bytes ---------------------------------------------------------------
    def _forward(self, src: Proc, dst: Proc, size: int) -> bool:
        rc = lib.nk_ring_forward(src.up, dst.down, src.endpoint, self._hdr)
        if rc == lib.NK_ERR_FULL:
            return False
        if rc == lib.NK_ERR_CORRUPT_DST:
            self.k.ring_corrupt(dst)
            self._consume(src)
            return True
        if rc < 0:
            self.k.ring_corrupt(src)
            return True
        self._count(src, dst, size)
        used = lib.nk_ring_used(dst.down)
        if used > dst.ring_high_water:
            dst.ring_high_water = used
        return True

    def _hand_over(self, src: Proc, dst: Proc) -> None:
        """To a server hosted in the kernel: off the ring, into its inbox (one crossing)."""
        body = self._take(src)
        if body is None:
            return
        h = self._hdr
        self._count(src, dst, HEADER_SIZE + len(body), crossings=1)
        dst.hosted.deliver(Message(src.endpoint, dst.endpoint, h.kind, h.flags, h.id, body))

    def _take(self, src: Proc) -> bytes | None:
        """Take the message at the head of ``src``'s ring off it: its body.  The header
        that counts is the one checked (``self._hdr``), not what the sender may have
        written over its record since — the ring is memory it shares with us; a record
        whose length changed meanwhile is a corrupt ring (None)."""
        n = lib.nk_msg_get(src.up, self._got, self._body, self.k.max_record)
        if n != self._hdr.body_len:
            self.k.ring_corrupt(src)
            return None
        return ffi.buffer(self._body, n)[:]

    def _count(self, src: Proc, dst: Proc, size: int, crossings: int = 2,
               messages: int = 1) -> None:
        c = self.counters
        c.messages_routed += messages
        c.ring_crossings += crossings * messages
        src.msgs_out += messages
        src.bytes_out += size
        dst.msgs_in += messages
        dst.bytes_in += size

    def _queue_copy(self, src: Proc, dst: Proc) -> None:
        """Take the message out of src's ring into dst's pending queue (src stamped)."""
        body = self._take(src)
        if body is None:
            return
        h, n = self._hdr, len(body)
        dst.pending.append(((src.endpoint, h.kind, h.flags, h.id), body))
        dst.pending_bytes += HEADER_SIZE + n
        self.k.table.set_held(dst, True)   # nothing may overtake it on the C path
        self.k.mail.add(dst)
        self._count(src, dst, HEADER_SIZE + n, crossings=1)   # the put is counted in flush

    def deliver_made(self, src: Proc, dst: Proc, kind: int, msg_id: int, body: bytes,
                     flags: int = 0, latency_us: float | None = None) -> None:
        """A message a server hosted in the kernel sends (already admitted): counted and
        traced like a routed one; to another hosted server it is a function call."""
        op = _op_of(body) if kind == CALL and self.k.tracer.enabled else None
        self._trace(src, dst, kind, msg_id, HEADER_SIZE + len(body), op=op,
                    latency_us=latency_us)
        if dst.hosted is not None:   # not a routed message: a function call
            size = HEADER_SIZE + len(body)
            src.msgs_out += 1
            src.bytes_out += size
            dst.msgs_in += 1
            dst.bytes_in += size
            self.counters.direct_calls += kind == CALL
            dst.hosted.deliver(Message(src.endpoint, dst.endpoint, kind, flags, msg_id, body))
            return
        self._count(src, dst, HEADER_SIZE + len(body), crossings=0)   # the put: flush
        self._enqueue(dst, src.endpoint, kind, flags, msg_id, body)

    def post(self, dst: Proc, src_ep: int, kind: int, msg_id: int, body: bytes) -> None:
        """A message made by the kernel itself (reply, error): queue it, deliver when room."""
        if kind in (REPLY, ERROR):
            # A huge ps, a hosted server's result: the caller gets the error, where an
            # over-long record would have been taken for a corrupt ring and killed it.
            kind, body = fitting_reply(self.k, kind, body)
        if dst.hosted is not None:
            dst.hosted.deliver(Message(src_ep, dst.endpoint, kind, 0, msg_id, body))
            return
        self._enqueue(dst, src_ep, kind, 0, msg_id, body)

    def _enqueue(self, dst: Proc, src_ep: int, kind: int, flags: int, msg_id: int,
                 body: bytes) -> None:
        dst.pending.append(((src_ep, kind, flags, msg_id), body))
        dst.pending_bytes += HEADER_SIZE + len(body)
        self.k.table.set_held(dst, True)   # nothing may overtake it on the C path
        self.k.mail.add(dst)
        self.flush(dst)

    def post_error(self, dst: Proc, src_ep: int, msg_id: int, exc: IpcError) -> None:
        self.post(dst, src_ep, ERROR, msg_id, pack(exc.to_body()))

    def post_notify(self, dst: Proc, src_ep: int, bits: int) -> None:
        if dst.hosted is not None:
            dst.hosted.deliver(Message(src_ep, dst.endpoint, NOTIFY, 0, bits, b""))
            return
        dst.notify_bits[src_ep] = dst.notify_bits.get(src_ep, 0) | bits
        self.k.mail.add(dst)
        self.flush(dst)

    def flush(self, dst: Proc) -> None:
        """Deliver ``dst``'s pending messages and notifications while its ring has room."""
        if not dst.alive or dst.hosted is not None:
            self.k.mail.discard(dst)
            return
        ring = dst.down
        out = self._out
        while dst.pending:
            (src_ep, kind, flags, msg_id), body = dst.pending[0]
            out.src, out.dst, out.kind, out.flags = src_ep, dst.endpoint, kind, flags
            out.id, out.body_len = msg_id, len(body)
            rc = lib.nk_ring_putv(ring, out, HEADER_SIZE, body, len(body))
            if rc == lib.NK_ERR_FULL:
                return
            dst.pending.popleft()
            dst.pending_bytes -= HEADER_SIZE + len(body)
            if not dst.pending:
                self.k.table.set_held(dst, False)
            self.counters.ring_crossings += 1
            if rc < 0:
                self.k.ring_corrupt(dst)
                return
        if not dst.notify_bits:
            self.k.mail.discard(dst)   # nothing held for it any more
            return
        if lib.nk_ring_used(ring) != 0 and not self.k.reproducible:
            # The receiver is busy: let more bits coalesce (seL4's notification word).
            # Not in a recorded or ordered run: how many bits coalesce would depend on
            # how fast the receiver drained its ring, and a replay could not repeat it.
            return
        for src_ep in list(dst.notify_bits):
            out.src, out.dst, out.kind, out.flags = src_ep, dst.endpoint, NOTIFY, 0
            out.id, out.body_len = dst.notify_bits[src_ep], 0
            rc = lib.nk_ring_putv(ring, out, HEADER_SIZE, b"", 0)
            if rc == lib.NK_ERR_FULL:
                return
            del dst.notify_bits[src_ep]
        self.k.mail.discard(dst)   # nothing held for it any more

    def has_room(self, dst: Proc, size: int) -> bool:
        """Would a message of ``size`` bytes (header included) go into ``dst``'s ring now,
        behind whatever the kernel already holds for it?"""
        if dst.hosted is not None or not dst.alive:
            return True
        return not dst.pending and lib.nk_ring_writable(dst.down, size) == 1

    def backlogged(self, proc: Proc) -> bool:
        """Has ``proc`` left so much undelivered (replies to its kernel calls, refusals)
        that the kernel stops taking its messages until it reads?  Bounds the kernel's
        memory against a process that sends without ever reading."""
        return proc.pending_bytes > self.k.max_pending

    def pending_len(self, dst: Proc) -> int:
        """Bytes the next pending delivery to ``dst`` needs (for the writer wait)."""
        if dst.pending:
            return HEADER_SIZE + len(dst.pending[0][1])
        return HEADER_SIZE

    # -- refusing ---------------------------------------------------------------------
    def _refuse(self, src: Proc, kind: int, msg_id: int, exc: IpcError) -> None:
        """Drop the message; a CALL or SEND gets the error back (same id)."""
        self._consume(src)
        self.counters.refused += 1
        if kind in (CALL, SEND):
            self.post_error(src, KERNEL, msg_id, exc)
        if self.k.tracer.enabled:
            self.k.tracer.message(src=src.endpoint, src_name=src.name, dst=KERNEL,
                                  dst_name="kernel", kind=ERROR, msg_id=msg_id, size=0,
                                  note=f"refused: {exc.code}")

    def _discard(self, src: Proc, why: str) -> None:
        self._consume(src)
        self.k.log.warning("message_dropped", src=src.endpoint, name=src.name, why=why)

    def _consume(self, src: Proc) -> None:
        rc = lib.nk_ring_discard(src.up)
        if rc == lib.NK_ERR_CORRUPT:
            self.k.ring_corrupt(src)

    # -- tracing ------------------------------------------------------------------------
    def _peek_op(self, src: Proc, size: int) -> str | None:
        buf = ffi.new("uint8_t[]", size)
        n = lib.nk_ring_peek(src.up, buf, size)
        if n < 0:
            return None
        return _op_of(ffi.buffer(buf, size)[HEADER_SIZE:])

    def _trace(self, src: Proc, dst: Proc, kind: int, msg_id: int, size: int,
               op: str | None = None, latency_us: float | None = None) -> None:
        if self.k.tracer.enabled:
            self.k.tracer.message(src=src.endpoint, src_name=src.name, dst=dst.endpoint,
                                  dst_name=dst.name, kind=kind, msg_id=msg_id, size=size,
                                  op=op, latency_us=latency_us)


def _op_of(body: bytes) -> str:
    """A call's op, for the trace (only decoded while tracing)."""
    try:
        op, _ = parse_call(unpack(body))
        return op
    except IpcError:
        return "<malformed>"
