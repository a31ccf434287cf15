"""libipc.signals — POSIX-style signals, delivered through the kernel.

    import signal as sig
    import libipc

    def on_usr1(signum, frame):
        print("got", sig.Signals(signum).name)

    libipc.signal(sig.SIGUSR1, on_usr1)     # catch it (returns the old handler)
    libipc.kill("worker", sig.SIGUSR1)      # a name, or an endpoint number
    libipc.alarm(2.5)                       # SIGALRM in 2.5 s (0 cancels)
    libipc.pause()                          # wait until a handler has run

Numbers are Python's ``signal.SIG*``; a handler is ``fn(signum, frame)``, or
``signal.SIG_IGN`` / ``signal.SIG_DFL``.  The kernel keeps each process's
dispositions and carries out the default actions itself (kernel/signals.py):
TERM, INT, HUP, PIPE, USR1, USR2, ALRM and the rest terminate the process, CHLD
is ignored, KILL and STOP can be neither caught nor ignored.

When a handler runs:
* while a libipc call waits (a pipe read, ``sleep``, any server call): the
  call is cancelled and raises ``Interrupted`` after the handler returns —
  unless its answer came meanwhile (it returns that), or the handler was
  installed with ``restart=True``, then the call goes on waiting (as Python's
  own system calls do, PEP 475).  A handler that raises
  (``signal.default_int_handler`` raises KeyboardInterrupt) makes the call
  raise that instead.
* otherwise: between two bytecodes of the main thread, as Python's own
  handlers run (the kernel pokes the process with a host SIGURG; handlers are
  installed from the main thread).

Signals coalesce: two SIGUSR1 sent before the handler ran run it once.
"""

from __future__ import annotations

import os
import signal as host
import threading
import time
from collections.abc import Callable
from typing import Any

from libipc.client import Proxy, kernel
from libipc.errors import InvalidArgument, NoSuchEndpoint
from libipc.naming import forget
from libipc.runtime import Runtime, current

Handler = Callable[[int, Any], Any] | int | host.Handlers
MAX_SIGNAL = 31
UNCATCHABLE = (host.SIGKILL, host.SIGSTOP)
WAKE = host.SIGURG   # the kernel's "look at your signal word" (kernel/signals.py)

_handlers: dict[int, tuple[Callable[[int, Any], Any], bool]] = {}   # caught: (fn, restart)
_ignored: set[int] = set()
_dispatching = [False]
_handled = [0]   # handlers run so far (pause waits for it to change)


def signal(signum: int, handler: Handler, *, restart: bool = False) -> Handler:
    """Set the handler of ``signum``; returns the previous one (SIG_DFL, SIG_IGN or
    a function).  ``restart``: a libipc call the handler interrupted goes on waiting."""
    _check(signum)
    if signum in UNCATCHABLE:
        raise InvalidArgument(f"{host.Signals(signum).name} cannot be caught or ignored")
    previous = getsignal(signum)
    rt = current()
    if handler in (host.SIG_DFL, host.SIG_IGN):
        _handlers.pop(signum, None)
        action = "default" if handler == host.SIG_DFL else "ignore"
        (_ignored.add if action == "ignore" else _ignored.discard)(signum)
    elif callable(handler):
        _install(rt)
        _handlers[signum] = (handler, restart)
        _ignored.discard(signum)
        action = "catch"
    else:
        raise InvalidArgument("signal: handler must be callable, SIG_IGN or SIG_DFL")
    kernel().sigaction(signum=signum, action=action)
    return previous


def getsignal(signum: int) -> Handler:
    """The handler of ``signum`` now (SIG_DFL, SIG_IGN or a function)."""
    _check(signum)
    if signum in _handlers:
        return _handlers[signum][0]
    return host.SIG_IGN if signum in _ignored else host.SIG_DFL


def kill(target: int | str, signum: int) -> str:
    """Send ``signum`` to ``target`` (an endpoint, or a name registered with naming);
    0 only checks that it exists and may be signalled.  Returns what the kernel did:
    "delivered", "ignored", "killed", "stopped", "continued" or "checked"."""
    _check(signum, zero_ok=True)
    rt = current()
    with rt.uninterrupted():   # a signal to ourselves runs its handler, kill() still returns
        if isinstance(target, int):
            return kernel().signal(ep=target, signum=signum)
        try:
            return kernel().signal(ep=_endpoint_of(target), signum=signum)
        except NoSuchEndpoint:   # the endpoint looked up before: its server may have
            forget(target)       # restarted under a new one
            return kernel().signal(ep=_endpoint_of(target), signum=signum)


def alarm(seconds: float) -> None:
    """SIGALRM to this process after ``seconds`` (the devices server's clock); a new
    alarm replaces the last one, 0 cancels it."""
    Proxy(name="devices").alarm(seconds=seconds)


def pause(timeout: float | None = None) -> bool:
    """Wait until a caught signal's handler has run (True) or ``timeout`` passed
    (False).  Messages that come meanwhile are kept for whoever reads them next."""
    rt = current()
    seen = _handled[0]
    deadline = None if timeout is None else time.monotonic() + timeout
    kept = []
    try:
        while _handled[0] == seen:
            left = None if deadline is None else deadline - time.monotonic()
            if left is not None and left <= 0:
                return False
            msg = rt.next_event(left)
            if msg is not None:
                kept.append(msg)
        return True
    finally:
        for msg in reversed(kept):
            rt.requeue(msg)


def raise_sigpipe() -> None:
    """What a write to a pipe without readers does before it raises BrokenPipe: SIGPIPE
    to the writer, whose default action ends the process (status 128 + 13)."""
    rt = current()
    kill(rt.endpoint, host.SIGPIPE)


# -- delivery ------------------------------------------------------------------------
def _install(rt: Runtime) -> None:
    """Once: the runtime asks us when its call sees NOTIFY_SIGNAL, and the host SIGURG
    runs handlers between bytecodes (only the main thread may set a Python handler)."""
    if rt.on_signal is None:
        rt.on_signal = lambda: dispatch(rt, None)
    if threading.current_thread() is threading.main_thread() \
            and host.getsignal(WAKE) is not _on_wake:
        host.signal(WAKE, _on_wake)


def _on_wake(signum: int, frame: Any) -> None:
    rt = current()
    if rt.waiting_in_call():
        # The call's loop takes the signals (it must cancel itself first) — if their
        # NOTIFY comes before its answer.  Behind it, the call returns without a look:
        # look once it has.
        rt.after_waits = _poke
        return
    dispatch(rt, frame)


def _poke() -> None:
    """Make the main thread look at the signal word soon (between two bytecodes)."""
    os.kill(os.getpid(), WAKE)


def dispatch(rt: Runtime, frame: Any) -> bool | None:
    """Take the signals posted to this process and run their handlers.  None: none was
    waiting; True: each handler that ran asked for restart; False: a call must stop.

    A signal that comes while a handler runs (its NOTIFY may be used up by a call the
    handler makes, its SIGURG finds us busy) is in the word again: taken before we
    leave, so none is left waiting for a wake-up that already happened."""
    take = getattr(rt.transport, "take_signals", None)
    if _dispatching[0] or take is None:
        return None
    ran, restart = False, True
    while bits := take():
        _dispatching[0] = True
        try:
            for signum in range(1, MAX_SIGNAL + 1):
                if not bits & (1 << signum):
                    continue
                bits &= ~(1 << signum)
                entry = _handlers.get(signum)
                if entry is None:
                    continue   # (its handler was removed after the signal was sent)
                ran, restart = True, restart and entry[1]
                _handled[0] += 1
                entry[0](signum, frame)
        except BaseException:
            # The ones not run yet go back, and a poke makes them run soon, between
            # bytecodes (or when the call this handler interrupted has ended) — also
            # when none is left from this take: a signal that came while the handler
            # ran had its SIGURG answered by the "dispatching" guard above.
            rt.transport.post_signals(bits)
            _dispatching[0] = False
            if rt.waiting_in_call():
                rt.after_waits = _poke
            else:
                _poke()
            raise
        finally:
            _dispatching[0] = False
    return restart if ran else None


def _endpoint_of(name: str) -> int:
    try:
        return Proxy(name=name).endpoint
    except NoSuchEndpoint:
        raise NoSuchEndpoint(f"kill: no server named {name!r:.100}") from None


def _check(signum: int, zero_ok: bool = False) -> None:
    if not isinstance(signum, int) or isinstance(signum, bool) \
            or not (0 if zero_ok else 1) <= signum <= MAX_SIGNAL:
        raise InvalidArgument(f"signal {signum!r:.40} is not {0 if zero_ok else 1} to {MAX_SIGNAL}")

