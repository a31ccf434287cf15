"""mq — POSIX message queues as a user-space server (QNX's mqueue resource manager).

QNX keeps message queues in a resource manager, a process like any other;
MINIX 3 keeps System V's message queues in its ``ipc`` server.  This server
holds POSIX's named queues (mq_overview(7): mq_open, mq_send, mq_timedsend,
mq_receive, mq_timedreceive, mq_getattr, mq_notify, mq_close, mq_unlink).
Programs use ``libipc.MessageQueue`` (libipc/mq.py).

Semantics:
    send      puts a message of at most the queue's max_message_size bytes
              (MessageTooLarge) with a priority 0..MQ_PRIO_MAX-1; a full queue
              makes the call wait (a deferred reply) up to ``timeout`` — this
              server answers Timeout itself — or gives WouldBlock for timeout=0
    receive   takes the oldest message of the highest priority (FIFO within a
              priority); an empty queue makes the call wait, as for send.
              Waiting receivers are served oldest first, and so are waiting
              senders (each freed slot takes the longest-waiting one's message)
    notify    (mq_notify(3)) one process per queue may ask to be told, by a
              signal through the kernel (this server is privileged, so it may
              signal anyone), when a message arrives in the empty queue and no
              receive is waiting for it; the registration is used up by that
              (register again), removed by notify(None), by closing its handle
              or by its process's death; another process's registration is Busy.
              ``notified()`` says which of the caller's registrations were used
              up since it last asked (libipc's handler asks, then runs each fn)
    modes     a handle opened "r" may only receive, "w" only send, "rw" both
A process that dies: its handles close, its waiting calls are dropped, its
registration goes.  A withdrawn receive (libipc: the caller gave up on it, see
servers/named_ipc.py) puts its message back at the head of its priority; a
withdrawn send is taken out of the queue if no one has received it yet.

Ops (``handle`` is a number from ``open``, usable only by the process that opened it):
    open(name, create=False, exclusive=False, max_messages=10, max_message_size=8192,
         mode="rw")                 → {handle, name, max_messages, max_message_size,
                                       current_messages}
    send(handle, data, priority=0, timeout=None, seq=0) → None
    receive(handle, timeout=None, seq=0) → [data, priority]
    attrs(handle)                   → {name, max_messages, max_message_size,
                                       current_messages, waiting_receivers,
                                       waiting_senders, notify, opens, unlinked}
    notify(handle, signum=None)     → None    (signum: register; None: remove)
    notified()                      → [handle, ...]
    close(handle) → None;  unlink(name) → None;  list() → [{name, current_messages, ...}]
    withdraw(handle, seq)           (a SEND from libipc)

Bounded memory (every queue together; past a limit: NoSpace or TooManyCalls):
MAX_QUEUES queues; per queue at most MQ_MAXMSG messages of at most
MQ_MSGSIZE_MAX bytes (what fits in one message of this boot); the room every
queue may use, max_messages × max_message_size, is reserved when it is made and
at most MQ_BYTES in all; at most MAX_WAITING_SENDERS sends wait holding their data,
MAX_WAITING_RECEIVERS receives wait; RECENT_RECEIVES messages are kept for a
withdraw (the oldest is forgotten first).  If the mq server dies its queues die
with it (and every message in them): waiting calls get ServerDied at once, the
restarted server knows no queue and no handle.
"""

from __future__ import annotations

import heapq
import itertools
import signal
from collections import OrderedDict, deque

from libipc import (
    Deferred,
    FileExists,
    FileNotFound,
    InvalidArgument,
    IpcError,
    MessageTooLarge,
    NoSpace,
    Timeout,
    TooManyCalls,
    WouldBlock,
    kernel,
    op,
)
from libipc.errors import Busy
from libipc.limits import DEFAULT_MAX_MESSAGE, data_per_message
from servers.named_ipc import Handles, WatchesExits, canonical_name, check_timeout

MAX_QUEUES = 256
MQ_MAXMSG = 1024                       # max_messages of one queue, at most
MQ_MSGSIZE_MAX = data_per_message(DEFAULT_MAX_MESSAGE)   # bytes of a message (default boot)
MQ_BYTES = 64 * 1024 * 1024            # max_messages × max_message_size, every queue together
MQ_PRIO_MAX = 32768                    # priorities 0 .. MQ_PRIO_MAX - 1 (Linux's)
MAX_WAITING_SENDERS = 256              # sends waiting on full queues (each holds its data)
MAX_WAITING_RECEIVERS = 4096
RECENT_RECEIVES = 64                   # handed-out messages kept for a withdraw
MODES = ("r", "w", "rw")
UNCATCHABLE = (signal.SIGKILL, signal.SIGSTOP)


class Queue:
    __slots__ = ("name", "max_messages", "max_message_size", "heap", "receivers", "senders",
                 "opens", "unlinked", "notify")

    def __init__(self, name: str, max_messages: int, max_message_size: int) -> None:
        self.name, self.max_messages, self.max_message_size = name, max_messages, \
            max_message_size
        self.heap: list[list] = []   # [-priority, order, data, priority, origin]
        self.receivers: deque[Waiter] = deque()
        self.senders: deque[Waiter] = deque()   # on a full queue, with their data
        self.opens = 0
        self.unlinked = False
        self.notify: tuple[Handle, int] | None = None   # (its handle, the signal)

    @property
    def room(self) -> int:
        return self.max_messages * self.max_message_size


class Handle:
    __slots__ = ("token", "queue", "holder", "mode")

    def __init__(self, queue: Queue, holder: int, mode: str) -> None:
        self.token = 0
        self.queue, self.holder, self.mode = queue, holder, mode


class Waiter:
    """A waiting receive, or a waiting send with its message."""

    __slots__ = ("deferred", "handle", "seq", "timer", "timeout", "data", "priority")

    def __init__(self, deferred: Deferred, handle: Handle, seq: int, timeout: float | None,
                 data: bytes | None = None, priority: int = 0) -> None:
        self.deferred, self.handle, self.seq, self.timeout = deferred, handle, seq, timeout
        self.data, self.priority = data, priority
        self.timer = None


class MqServer(WatchesExits):
    name = "mq"

    def __init__(self) -> None:
        super().__init__()
        self.queues: dict[str, Queue] = {}    # by name (an unlinked one lives in its handles)
        self.handles = Handles("queue")
        self.reserved = 0                     # Σ room of every live queue
        self.senders_waiting = 0
        self.receivers_waiting = 0
        self.order = itertools.count(1)       # FIFO within a priority
        self.front = itertools.count(-1, -1)  # a message put back goes before them all
        self.recent: OrderedDict[tuple[int, int], list] = OrderedDict()   # withdraw's
        self.fired: dict[int, set[int]] = {}  # endpoint -> its used-up registrations
        self.max_size = MQ_MSGSIZE_MAX

    def start(self) -> None:
        super().start()
        try:   # a message bigger than this boot's limit could not be received
            self.max_size = min(MQ_MSGSIZE_MAX,
                                data_per_message(int(kernel().stats()["max_message"])))
        except (IpcError, KeyError, TypeError, ValueError):
            self.max_size = MQ_MSGSIZE_MAX

    # -- opening ---------------------------------------------------------------------
    @op
    def open(self, ctx, name: str, create: bool = False, exclusive: bool = False,
             max_messages: int = 10, max_message_size: int = 8192, mode: str = "rw") -> dict:
        """mq_open(3); the sizes count only when the queue is made."""
        key = canonical_name(name, "open")
        if mode not in MODES:
            raise InvalidArgument(f"open: mode must be 'r', 'w' or 'rw', not {mode!r:.20}")
        if exclusive and not create:
            raise InvalidArgument("open: exclusive=True needs create=True")
        q = self.queues.get(key)
        if q is not None and exclusive:
            raise FileExists(f"open: queue {key} exists")
        if q is None and not create:
            raise FileNotFound(f"open: no queue {key} (create=True makes it)")
        if q is None:
            q = self._new_queue(key, max_messages, max_message_size)
        h = Handle(q, ctx.sender.endpoint, mode)
        token = self.handles.add(h)   # (NoSpace: nothing made yet)
        if key not in self.queues:
            self.queues[key] = q
            self.reserved += q.room
        q.opens += 1
        return {"handle": token, "name": key, "max_messages": q.max_messages,
                "max_message_size": q.max_message_size, "current_messages": len(q.heap)}

    def _new_queue(self, key: str, max_messages: int, max_message_size: int) -> Queue:
        if not 1 <= max_messages <= MQ_MAXMSG:
            raise InvalidArgument(f"open: max_messages must be 1 to {MQ_MAXMSG}, "
                                  f"not {max_messages}")
        if not 1 <= max_message_size <= self.max_size:
            raise InvalidArgument(f"open: max_message_size must be 1 to {self.max_size} "
                                  f"bytes, not {max_message_size}")
        if len(self.queues) >= MAX_QUEUES:
            raise NoSpace(f"open: {MAX_QUEUES} queues exist already")
        if self.reserved + max_messages * max_message_size > MQ_BYTES:
            raise NoSpace(f"open: queues may hold {MQ_BYTES} bytes in all, "
                          f"{self.reserved} are taken")
        return Queue(key, max_messages, max_message_size)

    # -- sending ---------------------------------------------------------------------
    @op
    def send(self, ctx, handle: int, data: bytes, priority: int = 0,
             timeout: float | None = None, seq: int = 0) -> None:
        """mq_send / mq_timedsend (timeout) / O_NONBLOCK (timeout=0)."""
        h = self._handle(ctx, handle, "send", "w")
        q = h.queue
        check_timeout(timeout, "send")
        if not 0 <= priority < MQ_PRIO_MAX:
            raise InvalidArgument(f"send: priority must be 0 to {MQ_PRIO_MAX - 1}, "
                                  f"not {priority}")
        if len(data) > q.max_message_size:
            raise MessageTooLarge(f"send: {len(data)} bytes, the queue {q.name} takes at "
                                  f"most {q.max_message_size}")
        data = bytes(data)
        if len(q.heap) < q.max_messages:
            self._put(q, data, priority, (h.token, seq))
            return None
        if timeout == 0:
            raise WouldBlock(f"send: the queue {q.name} is full ({q.max_messages} messages)")
        if self.senders_waiting >= MAX_WAITING_SENDERS:
            raise TooManyCalls(f"send: {MAX_WAITING_SENDERS} sends are waiting already")
        w = Waiter(ctx.defer(), h, seq, timeout, data, priority)
        if timeout is not None:
            w.timer = self.runtime.after(timeout, lambda: self._expire(w, q.senders, "send"))
        q.senders.append(w)
        self.senders_waiting += 1
        return None

    def _put(self, q: Queue, data: bytes, priority: int, origin: tuple[int, int]) -> None:
        """A message arrives: to the longest-waiting receiver, else into the queue (and
        a notification, if it was empty and someone registered)."""
        if q.receivers:
            r = q.receivers.popleft()
            self._unwait(r, q.receivers)
            self._hand_out(r.handle, r.seq, data, priority)
            r.deferred.reply([data, priority])
            return
        was_empty = not q.heap
        heapq.heappush(q.heap, [-priority, next(self.order), data, priority, origin])
        if was_empty and q.notify is not None:
            self._fire(q)

    # -- receiving -------------------------------------------------------------------
    @op
    def receive(self, ctx, handle: int, timeout: float | None = None, seq: int = 0) -> list:
        """mq_receive / mq_timedreceive: [data, priority], highest priority first."""
        h = self._handle(ctx, handle, "receive", "r")
        q = h.queue
        check_timeout(timeout, "receive")
        if q.heap:
            _, _, data, priority, _ = heapq.heappop(q.heap)
            self._admit_senders(q)
            self._hand_out(h, seq, data, priority)
            return [data, priority]
        if timeout == 0:
            raise WouldBlock(f"receive: the queue {q.name} is empty")
        if self.receivers_waiting >= MAX_WAITING_RECEIVERS:
            raise TooManyCalls(f"receive: {MAX_WAITING_RECEIVERS} receives are waiting already")
        w = Waiter(ctx.defer(), h, seq, timeout)
        if timeout is not None:
            w.timer = self.runtime.after(timeout, lambda: self._expire(w, q.receivers,
                                                                       "receive"))
        q.receivers.append(w)
        self.receivers_waiting += 1
        return None

    def _hand_out(self, h: Handle, seq: int, data: bytes, priority: int) -> None:
        """Remember what receive ``seq`` was given, in case it is withdrawn."""
        if seq:
            self.recent[(h.token, seq)] = [h.queue, data, priority]
            if len(self.recent) > RECENT_RECEIVES:
                self.recent.popitem(last=False)

    def _admit_senders(self, q: Queue) -> None:
        """Room in ``q``: the longest-waiting senders' messages go in."""
        while q.senders and len(q.heap) < q.max_messages:
            w = q.senders.popleft()
            self._unwait(w, q.senders)
            self._put(q, w.data, w.priority, (w.handle.token, w.seq))
            w.deferred.reply(None)

    # -- waiting ---------------------------------------------------------------------
    def _unwait(self, w: Waiter, queue: deque) -> None:
        if w.data is None:
            self.receivers_waiting -= 1
        else:
            self.senders_waiting -= 1
        if w.timer is not None:
            w.timer.cancel()

    def _expire(self, w: Waiter, queue: deque, what: str) -> None:
        """A timed send or receive's time is up: this server answers Timeout itself."""
        if w in queue:
            queue.remove(w)
            self._unwait(w, queue)
            state = "full" if w.data is not None else "empty"
            w.deferred.error(Timeout(f"{what}: the queue {w.handle.queue.name} stayed "
                                     f"{state} for {w.timeout} s"))

    @op
    def withdraw(self, ctx, handle: int, seq: int) -> None:
        """libipc's word that the caller gave up on call ``seq`` (its own timeout, a
        signal): a waiting call is dropped; a received message goes back to the head
        of its priority; a sent one still in the queue is taken out."""
        h = self.handles.find(handle, ctx.sender.endpoint)
        if h is None or not seq:
            return
        q = h.queue
        for queue in (q.receivers, q.senders):
            for w in queue:
                if w.handle is h and w.seq == seq:
                    queue.remove(w)
                    self._unwait(w, queue)
                    w.deferred.done = True   # (its caller is gone: no answer)
                    return
        given = self.recent.pop((h.token, seq), None)
        if given is not None:
            gq, data, priority = given
            if gq.receivers:
                self._put(gq, data, priority, (0, 0))
            else:
                heapq.heappush(gq.heap, [-priority, next(self.front), data, priority, (0, 0)])
            return
        for i, entry in enumerate(q.heap):
            if entry[4] == (h.token, seq):
                q.heap[i] = q.heap[-1]
                q.heap.pop()
                heapq.heapify(q.heap)
                self._admit_senders(q)
                return

    # -- notification ----------------------------------------------------------------
    @op
    def notify(self, ctx, handle: int, signum: int | None = None) -> None:
        """mq_notify(3): signal ``signum`` to the caller when a message arrives in the
        empty queue and no receive waits; None removes the caller's registration."""
        h = self.handles.get(handle, ctx.sender.endpoint, "notify")
        q = h.queue
        mine = q.notify is not None and q.notify[0].holder == h.holder
        if signum is None:
            if mine:
                q.notify = None
            return
        if not 1 <= signum <= 31 or signum in UNCATCHABLE:
            raise InvalidArgument(f"notify: signal {signum} is not one of 1 to 31 that a "
                                  "process may catch")
        if q.notify is not None and not mine:
            raise Busy(f"notify: another process is registered for {q.name}")
        q.notify = (h, signum)

    @op
    def notified(self, ctx) -> list:
        """The caller's handles whose registration a message used up since it asked."""
        return sorted(self.fired.pop(ctx.sender.endpoint, ()))

    def _fire(self, q: Queue) -> None:
        h, signum = q.notify
        q.notify = None
        self.fired.setdefault(h.holder, set()).add(h.token)
        try:
            kernel().signal(ep=h.holder, signum=signum)
        except IpcError as exc:   # (it died meanwhile: its exit will clean up)
            self.log.warning("notify_failed", ep=h.holder, error=str(exc))

    # -- looking ---------------------------------------------------------------------
    @op
    def attrs(self, ctx, handle: int) -> dict:
        """mq_getattr(3), and who waits."""
        q = self.handles.get(handle, ctx.sender.endpoint, "attrs").queue
        return {"name": q.name, "max_messages": q.max_messages,
                "max_message_size": q.max_message_size, "current_messages": len(q.heap),
                "waiting_receivers": len(q.receivers), "waiting_senders": len(q.senders),
                "notify": q.notify is not None, "opens": q.opens, "unlinked": q.unlinked}

    @op
    def list(self, ctx) -> list:
        """Every named queue (not the unlinked ones still open)."""
        return [{"name": q.name, "current_messages": len(q.heap),
                 "max_messages": q.max_messages, "max_message_size": q.max_message_size,
                 "opens": q.opens} for q in sorted(self.queues.values(), key=lambda q: q.name)]

    # -- closing ---------------------------------------------------------------------
    @op
    def close(self, ctx, handle: int) -> None:
        """mq_close(3)."""
        self._close(self.handles.get(handle, ctx.sender.endpoint, "close"))

    @op
    def unlink(self, ctx, name: str) -> None:
        """mq_unlink(3): the name goes now; the queue (and what is in it) with its
        last handle."""
        key = canonical_name(name, "unlink")
        q = self.queues.pop(key, None)
        if q is None:
            raise FileNotFound(f"unlink: no queue {key}")
        q.unlinked = True
        if q.opens == 0:
            self._destroy(q)

    def _handle(self, ctx, token: int, what: str, needs: str) -> Handle:
        h = self.handles.get(token, ctx.sender.endpoint, what)
        if needs not in h.mode:
            raise InvalidArgument(f"{what}: {h.queue.name} was opened {h.mode!r}")
        return h

    def _close(self, h: Handle, dead: bool = False) -> None:
        self.handles.remove(h)
        q = h.queue
        for queue in (q.receivers, q.senders):
            for w in [w for w in queue if w.handle is h]:   # (another thread's call)
                queue.remove(w)
                self._unwait(w, queue)
                if dead:
                    w.deferred.done = True
                else:
                    w.deferred.error(InvalidArgument(f"{q.name}: its handle was closed"))
        if q.notify is not None and q.notify[0] is h:
            q.notify = None
        fired = self.fired.get(h.holder)
        if fired is not None:
            fired.discard(h.token)
            if not fired:
                del self.fired[h.holder]
        for key in [k for k in self.recent if k[0] == h.token]:
            del self.recent[key]
        q.opens -= 1
        if q.opens == 0 and q.unlinked:
            self._destroy(q)

    def _destroy(self, q: Queue) -> None:
        """The last handle of an unlinked queue closed: it goes, with its messages."""
        self.reserved -= q.room
        q.heap.clear()
        for key in [k for k, v in self.recent.items() if v[0] is q]:
            del self.recent[key]

    def process_exited(self, endpoint: int) -> None:
        """A process died: its handles close for it, its waiting calls are dropped,
        its registrations go."""
        for h in self.handles.held_by(endpoint):
            self._close(h, dead=True)
        self.fired.pop(endpoint, None)


if __name__ == "__main__":
    MqServer.main()
