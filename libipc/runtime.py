"""The per-process IPC runtime: calls, sends, notifications, timers, posted work.

One ``Runtime`` per process, driven by one thread (the main thread).  It owns
the process's port and gives it two faces:

* a client face — ``call`` blocks until the REPLY/ERROR with its call id
  arrives; anything else that comes meanwhile (a CALL to this process, a
  NOTIFY) is queued in the inbox, so a server blocked in an outgoing call
  serves the queued requests afterwards (MINIX's servers behave the same) —
  except init's ``heartbeat`` ping, answered at once: a process waiting for
  an answer is not hung, whoever it waits for is (init pings that one too);
  ``call_async`` sends a CALL and returns: its answer is handed to a callback
  on this thread later (init pings every server so and never waits);
* a server face — ``next_event`` hands the server loop the next message,
  posted callable or due timer, sleeping on the ring's futex when idle.

Other threads never touch the ring: they ``post`` a callable and the owner
thread runs it (the console's stdin reader does that).

The transport is abstract: ``Port`` (its rings) for a real process, and for a
server hosted inside the kernel process kernel/hosted.py's ``HostedTransport``,
which keeps the same contract (timeouts, non-blocking sends, back-pressure);
there the kernel loop drives the runtime through ``run_due``/``next_deadline``
instead of ``next_event``.
"""

from __future__ import annotations

import heapq
import itertools
import os
import threading
import time
from collections import deque
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from queue import Empty, SimpleQueue
from typing import Any, Protocol

from libipc._nkffi import lib
from libipc.errors import Interrupted, IpcError, Timeout, error_from_body
from libipc.message import (
    CALL,
    CANCEL,
    ERROR,
    FLAG_NONBLOCK,
    KERNEL,
    NOTIFY,
    NOTIFY_SIGNAL,
    REPLY,
    SEND,
    Message,
    pack,
    unpack,
)

_monotonic = time.monotonic
SWEEP_EVERY = 256   # timers set between two sweeps of the cancelled ones out of the heap
_signals_take = lib.nk_signals_take
_ANSWERS = (REPLY, ERROR)
# init's ping (servers/init.py) exactly as it travels, and the answer to it: a
# process waiting in a call answers it from the wait (libipc.Server's
# ``heartbeat`` op answers it the same otherwise).
HEARTBEAT_OP = "heartbeat"
HEARTBEAT_BODY = pack([HEARTBEAT_OP, {}])
HEARTBEAT_ANSWER = pack(True)


class Transport(Protocol):
    max_body: int

    def send(self, dst: int, kind: int, msg_id: int, body: bytes = b"", flags: int = 0,
             timeout: float | None = 30.0) -> None: ...

    def recv(self, timeout: float | None, bell_seen: int | None = None) -> Message | None: ...

    def send_many(self, dst: int, kind: int, bodies: list[bytes], flags: int = 0,
                  timeout: float | None = 30.0) -> None: ...

    def recv_many(self, timeout: float | None, bell_seen: int | None = None,
                  max_n: int = 256) -> list[Message]: ...

    def bell_seen(self) -> int: ...

    def wake(self) -> None: ...


class Timer:
    """A pending ``Runtime.after`` callback; ``cancel()`` stops it."""

    __slots__ = ("deadline", "fn", "cancelled")

    def __init__(self, deadline: float, fn: Callable[[], None]) -> None:
        self.deadline, self.fn, self.cancelled = deadline, fn, False

    def cancel(self) -> None:
        self.cancelled = True


class Runtime:
    """Calls and events for one process over one transport."""

    def __init__(self, transport: Transport, endpoint: int, name: str) -> None:
        self.transport = transport
        self.endpoint = endpoint
        self.name = name
        self._ids = itertools.count(1)
        self._inbox: deque[Message] = deque()
        self._posted: SimpleQueue[Callable[[], None]] = SimpleQueue()
        self._timers: list[tuple[float, int, Timer]] = []
        self._set_since_sweep = 0
        self._seq = itertools.count()
        self._owner = threading.get_ident()
        self._signals = 0
        # Caught signals (libipc/signals.py): set once a handler is installed; runs the
        # handlers, None: nothing was pending, True: restart the call, False: stop it.
        self.on_signal: Callable[[], bool | None] | None = None
        self._calls_waiting: list[int] = []        # ids of the calls this thread waits in
        # The thread whose calls wait now (None: none waits).  The down ring has one
        # consumer: a second thread's call would take the first one's answers and
        # both would wait until their timeouts, so it is refused (RuntimeError).
        self._calling_thread: int | None = None
        self._calling_lock = threading.Lock()
        self._early: dict[int, Message] = {}       # an outer call's answer, come meanwhile
        self._async: dict[int, Callable[[Message], None]] = {}   # call_async's, by call id
        self._uninterrupted = 0
        self._waits_outside = 0   # waits that are not calls (a pipe region's), in progress
        # Run once no call or other wait of this runtime is in progress any more (set by
        # libipc/signals.py: a signal came that the wait it came in may not have taken).
        self.after_waits: Callable[[], None] | None = None

    # -- client face ------------------------------------------------------------
    def call(self, dst: int, op: str, args: dict[str, Any] | None = None,
             timeout: float | None = None) -> Any:
        """Call ``op`` at endpoint ``dst`` and wait for its reply (or raise its error)."""
        return self.call_body(dst, pack([op, args or {}]), timeout)

    def call_body(self, dst: int, body: bytes, timeout: float | None = None) -> Any:
        """Like ``call`` with an already-packed body (tests use it to send junk)."""
        call_id = next(self._ids)
        waiting = self._calls_waiting
        me = threading.get_ident()
        if self._calling_thread != me:   # (a handler's call inside this thread's nests)
            with self._calling_lock:
                if self._calling_thread is not None:
                    raise RuntimeError(
                        f"libipc: a call from a second thread while another thread's call "
                        f"waits (to endpoint {dst}); make the calls from one thread")
                self._calling_thread = me
        # Counted as waiting before it is put: a handler run by the host SIGURG right
        # after the put makes calls of its own, and their loop keeps this one's answer.
        waiting.append(call_id)
        try:
            self.transport.send(dst, CALL, call_id, body)
            return self._await(dst, call_id, timeout)
        finally:
            waiting.remove(call_id)
            if not waiting:
                self._calling_thread = None
            if self._early:   # (an answer kept for it while a handler raised)
                self._early.pop(call_id, None)
            if self.after_waits is not None and not waiting and not self._waits_outside:
                self._waits_ended()

    def call_async(self, dst: int, op: str, args: dict[str, Any] | None,
                   on_answer: Callable[[Message], None]) -> int:
        """Send a CALL and return its id at once; ``on_answer(msg)`` runs on this thread
        when its REPLY or ERROR comes (``Runtime.result(msg)`` decodes it).  The caller
        never waits; ``forget`` gives up on the answer (and cancels the call)."""
        call_id = next(self._ids)
        self._async[call_id] = on_answer
        try:
            self.transport.send(dst, CALL, call_id, pack([op, args or {}]))
        except BaseException:
            del self._async[call_id]
            raise
        return call_id

    def forget(self, dst: int, call_id: int) -> None:
        """Drop a ``call_async`` answer not come yet; the kernel forgets the call."""
        if self._async.pop(call_id, None) is not None:
            self.transport.send(dst, CANCEL, call_id)

    def _answer_async(self, msg: Message) -> bool:
        """An answer to a ``call_async``: its callback is posted (run by next_event)."""
        on_answer = self._async.pop(msg.id, None)
        if on_answer is None:
            return False
        self._posted.put(lambda: on_answer(msg))
        return True

    def _await(self, dst: int, call_id: int, timeout: float | None) -> Any:
        recv = self.transport.recv
        deadline = None if timeout is None else _monotonic() + timeout
        left = None
        while True:
            if self._early:
                msg = self._early.pop(call_id, None)
                if msg is not None:   # it came while a signal handler's own call waited
                    return self._result(msg)
            if deadline is not None:
                left = deadline - _monotonic()
                if left <= 0:
                    self.transport.send(dst, CANCEL, call_id)
                    raise Timeout(f"no reply from endpoint {dst} within {timeout} s")
            msg = recv(left)
            if msg is None:
                continue
            kind = msg.kind
            if kind in _ANSWERS:
                if msg.id != call_id:
                    if msg.id in self._calls_waiting:
                        self._early[msg.id] = msg
                    elif self._async:
                        self._answer_async(msg)
                    continue  # else the late reply of a call we gave up on
                return self._result(msg)
            if kind == CALL and msg.body == HEARTBEAT_BODY:
                self.transport.send(msg.src, REPLY, msg.id, HEARTBEAT_ANSWER)
                continue   # waiting for someone is not being hung
            if kind == NOTIFY and msg.src == KERNEL and msg.id & NOTIFY_SIGNAL \
                    and self.on_signal is not None:
                self._signalled(dst, call_id, msg)
                continue
            self._inbox.append(msg)

    def _signalled(self, dst: int, call_id: int, msg: Message) -> None:
        """A caught signal came while call ``call_id`` waited: run its handlers; the call
        is cancelled if one raises, or if none asked for restart (POSIX's EINTR) and its
        answer has not come meanwhile."""
        if msg.id & ~NOTIFY_SIGNAL:   # other bits from the kernel (a child's exit) stay
            self._inbox.append(Message(msg.src, msg.dst, NOTIFY, msg.flags,
                                       msg.id & ~NOTIFY_SIGNAL, b""))
        try:
            restart = self.on_signal()
        except BaseException:
            self.transport.send(dst, CANCEL, call_id)
            raise
        if restart is False and not self._uninterrupted and call_id not in self._early:
            # (its answer came while the handler's own call waited: the call is done —
            # the loop returns it, as a read that got its bytes is no EINTR)
            self.transport.send(dst, CANCEL, call_id)
            raise Interrupted(f"a signal handler ran while waiting for endpoint {dst}")

    def waiting_in_call(self) -> bool:
        """A call of this runtime waits for its answer (its loop takes signals itself)."""
        return bool(self._calls_waiting) or self._waits_outside > 0

    @contextmanager
    def waiting_outside(self) -> Iterator[None]:
        """A wait of this thread that is not a call (a pipe region's futex wait,
        libipc/pipe_region.py) takes the signals itself, as a call's loop does."""
        self._waits_outside += 1
        try:
            yield
        finally:
            self._waits_outside -= 1
            if self.after_waits is not None and not self.waiting_in_call():
                self._waits_ended()

    def _waits_ended(self) -> None:
        fn, self.after_waits = self.after_waits, None
        fn()

    @contextmanager
    def uninterrupted(self) -> Iterator[None]:
        """Handlers run, but calls in the block are not cancelled by them (``kill``)."""
        self._uninterrupted += 1
        try:
            yield
        finally:
            self._uninterrupted -= 1

    @staticmethod
    def result(msg: Message) -> Any:
        """The value of an answer (a ``call_async``'s), or raise its error."""
        return Runtime._result(msg)

    @staticmethod
    def _result(msg: Message) -> Any:
        try:
            body = unpack(msg.body)
        except IpcError as exc:
            raise exc from None
        if msg.kind == ERROR:
            raise error_from_body(body)
        return body

    def send(self, dst: int, op: str, args: dict[str, Any] | None = None, *,
             nonblock: bool = False, timeout: float | None = 30.0) -> None:
        """One-way message; blocks while the route is full unless ``nonblock``."""
        flags = FLAG_NONBLOCK if nonblock else 0
        self.transport.send(dst, SEND, 0, pack([op, args or {}]), flags, timeout)

    def send_many(self, dst: int, op: str, args_list: list[dict[str, Any]], *,
                  timeout: float | None = 30.0) -> None:
        """One SEND per argument dict, put in batches (the throughput path)."""
        self.transport.send_many(dst, SEND, [pack([op, a]) for a in args_list], 0, timeout)

    def notify(self, dst: int, bits: int) -> None:
        """Set notification ``bits`` at ``dst``; never blocks, coalesces."""
        self.transport.send(dst, NOTIFY, bits & 0xFFFFFFFFFFFFFFFF)

    def reply(self, dst: int, call_id: int, value: Any) -> None:
        self.transport.send(dst, REPLY, call_id, pack(value))

    def reply_error(self, dst: int, call_id: int, error: IpcError) -> None:
        self.transport.send(dst, ERROR, call_id, pack(error.to_body()))

    def signals(self) -> int:
        """Signals watched with ``transport.ring_on_signal`` that arrived (bit n = signal n)."""
        signals = self._signals = self._signals | _signals_take()
        return signals

    # -- events -------------------------------------------------------------------
    def post(self, fn: Callable[[], None]) -> None:
        """Run ``fn`` on the runtime's thread soon; safe from any thread."""
        self._posted.put(fn)
        if threading.get_ident() != self._owner:
            self.transport.wake()

    def after(self, seconds: float, fn: Callable[[], None]) -> Timer:
        """Run ``fn`` on the runtime's thread after ``seconds``.

        A cancelled timer stays in the heap until its deadline (a day for a sem
        server's longest wait), so every SWEEP_EVERY timers the cancelled ones are
        swept out — in place: ``_run_timers`` may be iterating over the heap."""
        timer = Timer(time.monotonic() + max(0.0, seconds), fn)
        timers = self._timers
        self._set_since_sweep += 1
        if self._set_since_sweep >= SWEEP_EVERY:
            self._set_since_sweep = 0
            if len(timers) >= SWEEP_EVERY:
                timers[:] = [t for t in timers if not t[2].cancelled]
                heapq.heapify(timers)
        heapq.heappush(timers, (timer.deadline, next(self._seq), timer))
        return timer

    def next_event(self, timeout: float | None = None) -> Message | None:
        """Run due posted work and timers; return the next CALL/SEND/NOTIFY, or None.

        Returns None when ``timeout`` passed or after running posted/timer work,
        so the caller's loop can re-check its own state.
        """
        transport = self.transport
        seen = transport.bell_seen()   # before looking: a later post/signal rings it
        if self.signals():
            return None   # a watched signal came: the caller decides what it means
        if self.has_due_work() and self.run_due():   # posted work, then due timers
            return None
        inbox = self._inbox
        if not inbox:   # all that is there, in one call
            self._take(transport.recv_many(self._wait_budget(timeout), seen))
        return self._screen(inbox.popleft()) if inbox else None

    def take_arrived(self) -> None:
        """Take what is on the ring now, without waiting, and run the callbacks of the
        async answers taken (now or before, by a call's wait); other messages wait for
        next_event.  For a timer that is about to judge an answer missing (init's
        heartbeats): under load the answer may have come while this process had no
        CPU, and its timer runs before it reads."""
        self._take(self.transport.recv_many(0))
        self._run_posted()

    def _take(self, msgs: list[Message]) -> None:
        inbox = self._inbox
        for msg in msgs:
            if msg.kind not in _ANSWERS:
                inbox.append(msg)
            elif msg.id in self._calls_waiting:   # (a handler waits inside a call)
                self._early[msg.id] = msg
            elif self._async and self._answer_async(msg):
                pass
            # else a late reply to a cancelled call: dropped

    def _screen(self, msg: Message) -> Message | None:
        """A kernel NOTIFY saying signals wait: their handlers run here, between two
        messages; the NOTIFY's other bits (if any) go on to the caller."""
        if msg.kind != NOTIFY or msg.src != KERNEL or not msg.id & NOTIFY_SIGNAL \
                or self.on_signal is None:
            return msg
        self.on_signal()
        rest = msg.id & ~NOTIFY_SIGNAL
        return Message(msg.src, msg.dst, NOTIFY, msg.flags, rest, b"") if rest else None

    def requeue(self, msg: Message) -> None:
        """Put back a message taken with next_queued: it is the next one again."""
        self._inbox.appendleft(msg)

    def next_queued(self) -> Message | None:
        """The next message already taken off the ring (what one wait brought in a
        batch), without looking at signals, timers or the ring: None when there is none."""
        inbox = self._inbox
        return self._screen(inbox.popleft()) if inbox else None

    # -- for a loop that drives this runtime from outside (the kernel hosts servers so) --
    def has_due_work(self) -> bool:
        """Posted work waiting, or a timer due now."""
        return not self._posted.empty() or (bool(self._timers)
                                            and self._timers[0][0] <= _monotonic())

    def run_due(self) -> bool:
        """Run posted work and due timers; True when anything ran."""
        return self._run_posted() | self._run_timers()

    def next_deadline(self) -> float | None:
        """``time.monotonic()`` of the next live timer, or None (cancelled ones at the
        front are dropped here: they must not wake the loop that drives us)."""
        timers = self._timers
        while timers and timers[0][2].cancelled:
            heapq.heappop(timers)
        return timers[0][0] if timers else None

    def _wait_budget(self, timeout: float | None) -> float | None:
        if self._timers:
            until_timer = max(0.0, self._timers[0][0] - time.monotonic())
            return until_timer if timeout is None else min(timeout, until_timer)
        return timeout

    def _run_posted(self) -> bool:
        posted = self._posted
        ran = False
        while not posted.empty():   # only this thread takes: not empty means one is there
            try:
                fn = posted.get_nowait()
            except Empty:
                break
            ran = True
            fn()
        return ran

    def _run_timers(self) -> bool:
        ran = False
        now = _monotonic()
        timers = self._timers
        while timers and timers[0][0] <= now:
            _, _, timer = heapq.heappop(timers)
            if not timer.cancelled:
                ran = True
                timer.fn()
        return ran


_current: Runtime | None = None
# A server hosted inside the kernel process runs with its own runtime set here
# (several servers share that process, so one global cannot name "current").
_hosted: ContextVar[Any] = ContextVar("nk_hosted_runtime", default=None)


def current() -> Runtime:
    """This process's runtime, connecting to the kernel on first use."""
    global _current
    hosted = _hosted.get()
    if hosted is not None:
        return hosted
    if _current is None:
        from libipc.port import Port
        from libipc.process import start_process
        start_process()
        _current = Runtime(Port.from_env(), int(os.environ["NK_ENDPOINT"]),
                           os.environ.get("NK_NAME", "?"))
        if os.environ.get("NK_SESSION_WAITS"):
            # The session program, started with the servers so that its start-up
            # overlaps theirs: it goes on once init says they all settled.
            from libipc.naming import INIT
            _current.call(INIT, "booted")
            del os.environ["NK_SESSION_WAITS"]   # waited: not again, nor in its children
    return _current


@contextmanager
def running_as(runtime: Any) -> Iterator[None]:
    """Make ``runtime`` current for the code in the block (the kernel hosts servers so)."""
    token = _hosted.set(runtime)
    try:
        yield
    finally:
        _hosted.reset(token)

