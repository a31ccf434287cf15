"""Signals: who may send one, and what the kernel does with it.

A signal is a number (Python's ``signal.SIG*``).  Each process tells the kernel
its disposition for each signal with the ``sigaction`` call — default, ignore
or catch — and the kernel carries out everything but the catching itself, as a
real kernel does (MINIX 3 keeps the same split between PM and the process):

    KILL, STOP, CONT   done by the kernel with the host signal; KILL and STOP
                       cannot be caught or ignored
    caught             the bit is OR-ed into the signal word of the process's
                       down ring, a NOTIFY(NOTIFY_SIGNAL) from the kernel wakes a
                       blocked receive, and a host SIGURG makes Python look
                       between two bytecodes (libipc/signals.py runs the handler)
    ignored            dropped
    default            CHLD, URG, WINCH, CONT: dropped; every other: the process
                       is terminated — its exit record says killed by that signal

Standard signals coalesce: a second SIGUSR1 before the first was taken is the
same bit.  Who may signal whom (``may_signal``) follows the call graph in
either direction: a process may signal itself, its children, a process it may
call, and a process whose ACL names it or, for a public server, holds "@public"
(a public server signals the programs that may call it) — an ACL of "*" does
not count that way, or every program could signal the shell; privileged
processes may signal anyone (the console for Ctrl-C, devices for SIGALRM).
Through the call graph alone only a signal the target catches or ignores gets
through: KILL, STOP, CONT and a default action are for itself, its parent and
privileged processes (the kernel's ``kill`` call is privileged; ``signal`` is no
way around it — else a program could stop the console or end naming).
"""

from __future__ import annotations

import signal as host
from typing import TYPE_CHECKING

from libipc._nkffi import lib

from kernel import endpoint as ep
from kernel.admit import allowed
from libipc.errors import InvalidArgument, PermissionDenied
from libipc.message import NOTIFY_SIGNAL

if TYPE_CHECKING:
    from kernel.kernel import Kernel
    from kernel.proc import Proc

MAX_SIGNAL = 31                      # the standard signals (no real-time ones)
UNCATCHABLE = frozenset((host.SIGKILL, host.SIGSTOP))
IGNORED_BY_DEFAULT = frozenset((host.SIGCHLD, host.SIGURG, host.SIGWINCH, host.SIGCONT))
WAKE = host.SIGURG                   # "look at your signal word" (ignored by default)
ACTIONS = ("default", "ignore", "catch")


def bit(signum: int) -> int:
    return 1 << signum


def check_signum(signum: int, *, zero_ok: bool = False) -> None:
    if not (0 if zero_ok else 1) <= signum <= MAX_SIGNAL:
        raise InvalidArgument(f"signal {signum} is not {0 if zero_ok else 1} to {MAX_SIGNAL}")


def may_signal(src: Proc, dst: Proc) -> bool:
    return _owns(src, dst) or allowed(src, dst) or _named_by(dst, src)


def _owns(src: Proc, dst: Proc) -> bool:
    """``src`` may do anything to ``dst``: stop it, continue it, end it."""
    return src is dst or src.privileged or dst.parent == src.endpoint


def _harmless(dst: Proc, signum: int) -> bool:
    """What ``signum`` does to ``dst`` is up to ``dst``: it catches or ignores it."""
    if signum in (host.SIGKILL, host.SIGSTOP, host.SIGCONT):
        return False
    action = action_of(dst, signum)
    return action != "default" or signum in IGNORED_BY_DEFAULT


def _named_by(client: Proc, server: Proc) -> bool:
    """``client`` may call ``server`` by name or as a public server — not merely by
    "*": a shell that may call anyone must not be signalled by everyone."""
    return server.name in client.acl or (server.public and "@public" in client.acl)


def set_action(caller: Proc, signum: int, action: str) -> str:
    """Record ``caller``'s disposition for ``signum``; returns the previous one."""
    check_signum(signum)
    if action not in ACTIONS:
        raise InvalidArgument(f"sigaction: action must be one of {', '.join(ACTIONS)}")
    if signum in UNCATCHABLE and action != "default":
        raise InvalidArgument(f"sigaction: {host.Signals(signum).name} cannot be caught "
                              "or ignored")
    if caller.hosted is not None and action == "catch":
        raise InvalidArgument(f"sigaction: {caller.name} runs inside the kernel; "
                              "signals are for processes")
    previous = action_of(caller, signum)
    caller.sig_caught &= ~bit(signum)
    caller.sig_ignored &= ~bit(signum)
    if action == "catch":
        caller.sig_caught |= bit(signum)
    elif action == "ignore":
        caller.sig_ignored |= bit(signum)
    return previous


def action_of(proc: Proc, signum: int) -> str:
    if proc.sig_caught & bit(signum):
        return "catch"
    return "ignore" if proc.sig_ignored & bit(signum) else "default"


def send(k: Kernel, src: Proc, dst: Proc, signum: int) -> str:
    """Deliver ``signum`` from ``src`` to ``dst``; returns what became of it."""
    check_signum(signum, zero_ok=True)
    if not may_signal(src, dst):
        raise PermissionDenied(f"{src.name} may not signal {dst.name}")
    if signum and not _owns(src, dst) and not _harmless(dst, signum):
        # (the call graph lets a program signal a server, not stop or end it: that is
        # the privileged kill's work — else any program could stop the console)
        raise PermissionDenied(f"{src.name} may not stop, continue or end {dst.name} "
                               f"(only a signal it catches or ignores)")
    if signum == 0:    # POSIX's kill(pid, 0): only the checks
        return "checked"
    return deliver(k, dst, signum)


def deliver(k: Kernel, dst: Proc, signum: int) -> str:
    """What the kernel does with ``signum`` for ``dst`` (no permission check: the
    kernel's own signals, SIGCHLD, come here directly)."""
    if dst.hosted is not None:
        if action_of(dst, signum) == "default" and signum in IGNORED_BY_DEFAULT:
            return "ignored"
        raise InvalidArgument(f"{dst.name} runs inside the kernel; it takes no signals")
    if signum in (host.SIGKILL, host.SIGSTOP):
        return _host_signal(dst, signum)
    action = action_of(dst, signum)
    if signum == host.SIGCONT:
        _host_signal(dst, signum)   # continues it whatever its disposition
        if action != "catch":
            return "continued"
    if action == "ignore" or (action == "default" and signum in IGNORED_BY_DEFAULT):
        return "ignored"
    if action == "default":
        return _host_signal(dst, host.SIGKILL, killed_by=signum)
    _post(k, dst, signum)
    return "delivered"


def _post(k: Kernel, dst: Proc, signum: int) -> None:
    lib.nk_ring_signals_post(dst.down, bit(signum))
    k.router.post_notify(dst, ep.KERNEL, NOTIFY_SIGNAL)
    dst.signal(WAKE)


def _host_signal(dst: Proc, signum: int, killed_by: int | None = None) -> str:
    if signum == host.SIGKILL:
        dst.killed_by = dst.killed_by or killed_by or host.SIGKILL
    dst.signal(signum)
    return {host.SIGKILL: "killed", host.SIGSTOP: "stopped"}.get(signum, "continued")


def child_exited(k: Kernel, parent: Proc) -> None:
    """SIGCHLD for a parent that catches it (by default it is ignored)."""
    if parent.alive and parent.hosted is None and action_of(parent, host.SIGCHLD) == "catch":
        _post(k, parent, host.SIGCHLD)
