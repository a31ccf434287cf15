"""libipc.named_handle — what Semaphore and MessageQueue share: a handle opened at
one server (servers/named_ipc.py), the calls made with it, and the word that
tells that server about a call its caller gave up on.

A handle belongs to the server process that made it: its calls go to that
endpoint, not to the name, so after the server restarted (its objects gone) a
call says ServerDied at once instead of reaching a successor that never heard
of the handle.

Blocking calls (``wait_call``) carry a ``seq`` and a timeout the *server*
keeps (it answers Timeout itself); the client's own call timeout is only a
backstop, ``timeout + GRACE_S``, for a server that does not answer (stopped).
A call given up on here — that backstop, or a signal handler's Interrupted —
is followed by a one-way ``withdraw(handle, seq)``: the kernel does not tell
the server, so libipc does, and the server undoes what it did for the call.
"""

from __future__ import annotations

import contextlib
import itertools
import time
from typing import Any

from libipc.client import Proxy, lookup
from libipc.errors import IpcError, NoSuchEndpoint, ServerDied, Timeout
from libipc.limits import MAX_WAIT_S
from libipc.runtime import current

CONTROL_TIMEOUT_S = 10.0   # open, close, release, …: answered at once by a live server
GRACE_S = 10.0             # a timed wait's backstop, past its own timeout


_FOREVER = object()   # a wait without a time limit


class NamedHandle:
    """One open of a named object at the server ``server`` (its name in naming)."""

    server = ""          # set by the subclass: "sem", "mq"
    name: str
    closed = True

    def _open(self, **args: Any) -> dict:
        proxy = lookup(self.server, timeout=CONTROL_TIMEOUT_S)
        info = proxy.call("open", **args)
        self._ep = proxy.endpoint
        self._handle = info["handle"]
        self._seqs = itertools.count(1)
        self.name = info["name"]
        self.closed = False
        return info

    def _call(self, op: str, call_timeout: float | None | object = None, /,
              **args: Any) -> Any:
        """``op`` with this handle at its server, giving up after ``call_timeout``
        (CONTROL_TIMEOUT_S unless given; _FOREVER: no limit)."""
        if call_timeout is None:
            call_timeout = CONTROL_TIMEOUT_S
        elif call_timeout is _FOREVER:
            call_timeout = None
        if self.closed:
            raise ValueError(f"{type(self).__name__} {self.name}: closed")
        try:
            return Proxy(self._ep, timeout=call_timeout).call(op, handle=self._handle, **args)
        except NoSuchEndpoint:
            raise ServerDied(f"{op} {self.name}: the {self.server} server restarted and "
                             f"its objects are gone (open {self.name} again)") from None
        except ServerDied:
            raise ServerDied(f"{op} {self.name}: the {self.server} server died "
                             f"(its objects are gone)") from None

    def _wait_call(self, op: str, timeout: float | None, **args: Any) -> Any:
        """A call that may wait at the server up to ``timeout`` (None: as long as it
        takes); withdrawn if this process gives up on it first."""
        seq = next(self._seqs)
        # (a longer timeout is refused by the server: the backstop need not be longer)
        backstop = min(timeout, MAX_WAIT_S) + GRACE_S if _is_number(timeout) else _FOREVER
        started = time.monotonic()
        try:
            return self._call(op, backstop, timeout=timeout, seq=seq, **args)
        except Timeout:
            if backstop is not _FOREVER and time.monotonic() - started >= backstop:   # ours
                self._withdraw(seq)
                raise Timeout(f"{op} {self.name}: the {self.server} server did not answer "
                              f"within {backstop} s") from None
            raise
        except IpcError as exc:
            if exc.code == "Interrupted":
                self._withdraw(seq)
            raise
        except BaseException:   # a signal handler raised (KeyboardInterrupt, …)
            self._withdraw(seq)
            raise

    def _withdraw(self, seq: int) -> None:
        # (the server gone, or its route full: nothing more we can do)
        with contextlib.suppress(IpcError):
            current().send(self._ep, "withdraw", {"handle": self._handle, "seq": seq},
                           nonblock=True)

    def close(self) -> None:
        """Close this handle (the object stays while it has a name or other handles)."""
        if not self.closed:
            try:
                self._call("close")
            finally:
                self.closed = True

    def __enter__(self):
        return self

    def __repr__(self) -> str:
        state = "closed" if self.closed else f"handle {self._handle:#x}"
        return f"<{type(self).__name__} {getattr(self, 'name', '?')} {state}>"


def _is_number(x: Any) -> bool:
    return isinstance(x, int | float) and not isinstance(x, bool) and x == x


def unlink(server: str, name: str) -> None:
    """Take ``name`` away at ``server`` (FileNotFound if there is none)."""
    lookup(server, timeout=CONTROL_TIMEOUT_S).unlink(name=name)
