"""libipc.mq — POSIX message queues, kept by the mq server (servers/mq.py).

    from libipc import MessageQueue

    q = MessageQueue("/jobs", create=True, max_messages=10, max_message_size=8192)
    q.send(b"urgent", priority=9)     # waits while full; timeout=0: WouldBlock
    q.send(b"later")                  # priority 0
    q.receive()                       # (b"urgent", 9): highest priority first, FIFO within one
    q.current_messages                # 1
    q.notify(lambda q: ...)           # called when a message arrives in the empty queue
    q.unlink(); q.close()             # or libipc.mq.unlink("/jobs")

mq_overview(7)'s semantics: a name that does not exist without ``create`` is
FileNotFound, ``create=True, exclusive=True`` of one that does is FileExists; the
sizes count only when the queue is made; ``mode`` is "r" (receive only), "w"
(send only) or "rw".  A message is bytes of at most ``max_message_size``
(MessageTooLarge); a priority is 0 to MQ_PRIO_MAX - 1 (32767).  A timed send or
receive gets Timeout from the server when the time is up.

Notification (mq_notify(3) with SIGEV_SIGNAL): ``notify(fn, signum=SIGIO)``
registers this process — one per queue, another's registration is Busy — to be
told when a message arrives in the empty queue while no receive waits for it.
The server sends ``signum`` through the kernel; libipc installs its handler
(with ``restart=True``: a call it interrupts goes on waiting), asks the server
which registrations were used up and runs each ``fn(queue)`` — between two
bytecodes, or inside a libipc call that waits, like any signal handler.  A
registration is used once: register again in ``fn`` to hear of the next
arrival.  ``notify(None)`` removes it; closing the queue does too.
"""

from __future__ import annotations

import signal as host
from collections.abc import Callable

from libipc import named_handle
from libipc.client import Proxy
from libipc.errors import IpcError
from libipc.named_handle import NamedHandle
from libipc.signals import getsignal
from libipc.signals import signal as set_handler

DEFAULT_SIGNAL = host.SIGIO
_registered: dict[tuple[int, int], tuple[MessageQueue, Callable]] = {}   # (ep, handle) ->


class MessageQueue(NamedHandle):
    """An open of the message queue ``name`` (mq_open(3))."""

    server = "mq"

    def __init__(self, name: str, create: bool = False, exclusive: bool = False,
                 max_messages: int = 10, max_message_size: int = 8192, *,
                 mode: str = "rw") -> None:
        info = self._open(name=name, create=create, exclusive=exclusive,
                          max_messages=max_messages, max_message_size=max_message_size,
                          mode=mode)
        self.max_messages = info["max_messages"]
        self.max_message_size = info["max_message_size"]
        self.mode = mode

    def send(self, data: bytes, priority: int = 0, timeout: float | None = None) -> None:
        """Put ``data`` in the queue with ``priority``; waits while it is full: at most
        ``timeout`` seconds (Timeout), not at all for 0 (WouldBlock)."""
        if isinstance(data, memoryview | bytearray):
            data = bytes(data)
        self._wait_call("send", timeout, data=data, priority=priority)

    def receive(self, timeout: float | None = None) -> tuple[bytes, int]:
        """The oldest message of the highest priority, as (data, priority); waits while
        the queue is empty, as ``send`` does while it is full."""
        data, priority = self._wait_call("receive", timeout)
        return data, priority

    @property
    def current_messages(self) -> int:
        """Messages in the queue now."""
        return self._call("attrs")["current_messages"]

    def attrs(self) -> dict:
        """{name, max_messages, max_message_size, current_messages, waiting_receivers,
        waiting_senders, notify, opens, unlinked}."""
        return self._call("attrs")

    def notify(self, fn: Callable[[MessageQueue], object] | None,
               signum: int = DEFAULT_SIGNAL) -> None:
        """Call ``fn(self)`` once when a message arrives in the empty queue and no
        receive waits (see above); None removes the registration."""
        key = (self._ep, self._handle)
        if fn is None:
            self._call("notify", signum=None)
            _registered.pop(key, None)
            return
        if getsignal(signum) is not _on_signal:
            set_handler(signum, _on_signal, restart=True)
        _registered[key] = (self, fn)
        try:
            self._call("notify", signum=signum)
        except BaseException:
            _registered.pop(key, None)
            raise

    def unlink(self) -> None:
        """mq_unlink(3): remove its name now; the queue goes with its last handle (this
        one stays usable).  ``libipc.mq.unlink(name)`` does it by name."""
        unlink(self.name)

    def close(self) -> None:
        _registered.pop((getattr(self, "_ep", 0), getattr(self, "_handle", 0)), None)
        super().close()

    def __exit__(self, *exc: object) -> None:
        self.close()


def _on_signal(signum: int, frame: object) -> None:
    """A queue's notification: ask each server with registrations of ours which
    were used up, and run their functions."""
    for ep in {ep for ep, _ in _registered}:
        try:
            used = Proxy(ep, timeout=named_handle.CONTROL_TIMEOUT_S).notified()
        except IpcError:   # that server is gone (its queues with it) or does not answer
            continue
        for handle in used:
            entry = _registered.pop((ep, handle), None)
            if entry is not None:
                queue, fn = entry
                fn(queue)


def unlink(name: str) -> None:
    """mq_unlink(3) by name, without opening it (FileNotFound if there is none)."""
    named_handle.unlink("mq", name)
