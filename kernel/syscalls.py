"""Kernel calls: the CALLs addressed to endpoint 0.

One line per call in ``CALLS`` (VFS's table.c is the model): the handler and
whether only privileged processes may make it.  Handlers' first lines are
their guards.  Arguments are checked against the handler's signature, like a
server's ``@op`` (missing, unexpected, mistyped → InvalidArgument).
"""

from __future__ import annotations

import os
import signal
import stat
from pathlib import Path
from typing import TYPE_CHECKING, Any

from kernel import signals
from libipc.errors import InvalidArgument, NoSuchEndpoint, NoSuchOp, PermissionDenied
from libipc.message import KERNEL, NOTIFY_EXIT, parse_call, unpack
from libipc.server import validator_for

if TYPE_CHECKING:
    from kernel.kernel import Kernel
    from kernel.proc import Proc


def do_spawn(k: Kernel, caller: Proc, argv: list, name: str, acl: list | None = None,
             privileged: bool = False, public: bool = False, slot: int | None = None,
             console: bool = False, restarts: int = 0, env: dict | None = None) -> dict:
    """Start a process running ``python argv…``; returns its endpoint and pid."""
    if not name or len(name) > 32:
        raise InvalidArgument("spawn: name must be 1 to 32 characters")
    try:
        proc = k.spawn([str(a) for a in argv], name=name, parent=caller.endpoint,
                       privileged=privileged, acl=[str(a) for a in acl or ()], public=public,
                       slot=slot, console=console, restarts=restarts,
                       env={str(a): str(b) for a, b in (env or {}).items()})
    except ValueError as exc:   # a NUL byte, "=" in a variable's name: the OS refuses them
        raise InvalidArgument(f"spawn: {exc!s:.200}") from None
    return {"ep": proc.endpoint, "pid": proc.pid}


def do_host(k: Kernel, caller: Proc, module: str, name: str, acl: list | None = None,
            privileged: bool = False, public: bool = False, args: list | None = None,
            slot: int | None = None) -> dict:
    """Host the Server class of ``module`` inside the kernel process (monolithic placement)."""
    if not name or len(name) > 32:
        raise InvalidArgument("host: name must be 1 to 32 characters")
    proc = k.host.host(module, name, parent=caller.endpoint, acl=[str(a) for a in acl or ()],
                       public=public, privileged=privileged, args=[str(a) for a in args or ()],
                       slot=slot)
    return {"ep": proc.endpoint, "pid": proc.pid}


def do_kill(k: Kernel, caller: Proc, ep: int, signal_name: str = "KILL") -> bool:
    """Send a signal (KILL, TERM, INT) to the process at ``ep``."""
    target = k.resolve(ep)
    if target is None:
        raise NoSuchEndpoint(f"kill: no process at endpoint {ep}")
    if target.hosted is not None:
        raise InvalidArgument(f"kill: {target.name} runs inside the kernel; it cannot be killed")
    if signal_name not in ("KILL", "TERM", "INT"):
        raise InvalidArgument(f"kill: unknown signal {signal_name!r} (KILL, TERM or INT)")
    target.popen.send_signal(getattr(signal, f"SIG{signal_name}"))
    return True


def do_signal(k: Kernel, caller: Proc, ep: int, signum: int) -> str:
    """Send signal ``signum`` to the process at ``ep`` (kernel/signals.py says who may,
    and what happens); 0 only checks.  Returns "delivered", "ignored", "killed", ..."""
    if ep == KERNEL:
        raise InvalidArgument("signal: the kernel takes no signals")
    target = k.resolve(ep)
    if target is None:
        raise NoSuchEndpoint(f"signal: no process at endpoint {ep}")
    return signals.send(k, caller, target, signum)


def do_sigaction(k: Kernel, caller: Proc, signum: int, action: str) -> str:
    """Set the caller's disposition for ``signum``: "default", "ignore" or "catch";
    returns the previous one."""
    return signals.set_action(caller, signum, action)


def do_shm_create(k: Kernel, caller: Proc, size: int) -> dict:
    """A new shared-memory region of ``size`` bytes, held by the caller (kernel/grants.py);
    its descriptor comes over the caller's descriptor link."""
    return k.grants.create(k, caller, size)


def do_shm_grant(k: Kernel, caller: Proc, region: int, ep: int, writable: bool = False) -> int:
    """Let the process at ``ep`` map ``region`` (read-only unless ``writable``)."""
    target = k.resolve(ep)
    if target is None:
        raise NoSuchEndpoint(f"shm_grant: no process at endpoint {ep}")
    return k.grants.grant(k, caller, target, region, writable)


def do_shm_map(k: Kernel, caller: Proc, grant: int) -> dict:
    """Map what ``grant`` gives the caller; its descriptor comes over the link."""
    return k.grants.map(k, caller, grant)


def do_shm_revoke(k: Kernel, caller: Proc, grant: int) -> bool:
    """``grant`` can no longer be mapped (mappings made already stay)."""
    return k.grants.revoke(k, caller, grant)


def do_shm_close(k: Kernel, caller: Proc, region: int) -> bool:
    """The caller no longer holds ``region``; the last holder's close frees it."""
    return k.grants.close(k, caller, region)


def do_exit(k: Kernel, caller: Proc, status: int = 0) -> bool:
    """Say goodbye: the caller exits with ``status`` right after this returns."""
    caller.status = status
    return True


def do_ps(k: Kernel, caller: Proc) -> list:
    """Every live process, in endpoint order."""
    return [p.info(k.table) for p in sorted(k.slots.values(), key=lambda p: p.slot)]


def do_stats(k: Kernel, caller: Proc) -> dict:
    """Kernel-wide counters and the per-process rows of ``ps``."""
    counts = k.counters.as_dict()
    counts["messages_routed"] += k.table.c.messages_routed   # (the C path counts its own)
    counts["ring_crossings"] += k.table.c.ring_crossings
    return {
        **counts,
        "processes": len(k.slots), "uptime_s": round(__import__("time").monotonic()
                                                     - k.started, 3),
        "max_message": k.max_message, "max_calls": k.max_calls,
        "tracing": k.tracer.enabled, "procs": do_ps(k, caller),
        "shm_regions": len(k.grants.regions), "shm_bytes": k.grants.total,
        "shm_grants": len(k.grants.grants),
    }


def do_whoami(k: Kernel, caller: Proc, ep: int | None = None) -> dict:
    """The caller's identity, or that of the process at ``ep``."""
    target = caller if ep is None else k.procs.get(ep) or k.resolve(ep)
    if target is None:
        raise NoSuchEndpoint(f"whoami: no process at endpoint {ep}")
    return {"ep": target.endpoint, "name": target.name, "pid": target.pid,
            "privileged": target.privileged, "parent": target.parent, "state": target.state,
            "public": target.public, "shm_held": k.grants.held_by(target)}


def do_trace(k: Kernel, caller: Proc, on: bool, path: str | None = None,
             exclude: list | None = None) -> dict:
    """Turn message tracing on or off; returns where events go.  ``exclude``: endpoints
    whose messages are left out (a reader of the trace that prints it, and where it
    prints: else each printed line would be traced, and printed, and traced...);
    given with ``on``, it replaces the last such list (none: every message)."""
    if path:   # refused before the tracer lets go of the file it has
        _check_trace_file(path)
    if exclude is not None and not all(isinstance(e, int) for e in exclude):
        raise InvalidArgument("trace: exclude must be a list of endpoints")
    where = k.tracer.turn(on, Path(path) if path else None,
                          frozenset(exclude or ()) if on else None)
    if on and where is None:
        raise InvalidArgument("trace: no trace file (boot with --trace FILE or pass path)")
    return {"on": k.tracer.enabled, "path": str(where) if where else None}


def _check_trace_file(path: str) -> None:
    """A plain file we can append to, or InvalidArgument.  Opened without blocking:
    the kernel's open of a FIFO nobody reads would never return."""
    try:
        fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT | os.O_NONBLOCK, 0o644)
    except (OSError, ValueError) as exc:
        reason = getattr(exc, "strerror", None) or exc
        raise InvalidArgument(f"trace: cannot write {path!r:.200}: {reason}") from None
    try:
        if not stat.S_ISREG(os.fstat(fd).st_mode):
            raise InvalidArgument(f"trace: {path!r:.200} is not a regular file")
    finally:
        os.close(fd)


def do_halt(k: Kernel, caller: Proc, status: int = 0) -> bool:
    """Stop every process and end the boot with ``status``."""
    if not 0 <= status <= 255:   # an exit status is one byte: 256 would end the boot with 0
        raise InvalidArgument(f"halt: status {status} is not 0 to 255")
    k.halt(status, reason=f"halt by {caller.name}")
    return True


WAIT_BATCH = 200   # exit records per reply: well under the message limit


def do_wait(k: Kernel, caller: Proc) -> list:
    """Exit records of the caller's children (and of all, for watchers), oldest first;
    at most WAIT_BATCH per call — if more are left, another NOTIFY_EXIT says so."""
    records, caller.exits = caller.exits[:WAIT_BATCH], caller.exits[WAIT_BATCH:]
    if caller.exits:
        k.router.post_notify(caller, 0, NOTIFY_EXIT)
    return records


def do_watch(k: Kernel, caller: Proc, on: bool = True) -> bool:
    """Be told (NOTIFY + ``wait``) of every process's exit, not only children's."""
    caller.watcher = on
    return True


def do_set_acl(k: Kernel, caller: Proc, ep: int, acl: list) -> bool:
    """Replace the ACL of the process at ``ep``."""
    target = k.resolve(ep)
    if target is None:
        raise NoSuchEndpoint(f"set_acl: no process at endpoint {ep}")
    target.acl = frozenset(str(a) for a in acl)
    k.table.forget(target)   # the C path's remembered ACL decisions are void
    return True


# name -> (handler, privileged only); VALIDATORS below checks each one's arguments
CALLS: dict[str, tuple[Any, bool]] = {
    "spawn": (do_spawn, True),
    "host": (do_host, True),
    "kill": (do_kill, True),
    "signal": (do_signal, False),
    "shm_create": (do_shm_create, False),
    "shm_grant": (do_shm_grant, False),
    "shm_map": (do_shm_map, False),
    "shm_revoke": (do_shm_revoke, False),
    "shm_close": (do_shm_close, False),
    "sigaction": (do_sigaction, False),
    "exit": (do_exit, False),
    "ps": (do_ps, False),
    "stats": (do_stats, False),
    "whoami": (do_whoami, False),
    "trace": (do_trace, False),
    "halt": (do_halt, True),
    "wait": (do_wait, False),
    "watch": (do_watch, True),
    "set_acl": (do_set_acl, True),
}


# Argument checkers compiled once per call (libipc.server.validator_for): the same
# errors as a server's @op, at a fraction of inspect's cost.
VALIDATORS = {name: validator_for(handler) for name, (handler, _) in CALLS.items()}


def dispatch_syscall(k: Kernel, caller: Proc, body: bytes) -> Any:
    op, args = parse_call(unpack(body))
    entry = CALLS.get(op)
    if entry is None:
        raise NoSuchOp(f"kernel has no call {op!r:.100}")
    handler, privileged = entry
    if privileged and not caller.privileged:
        raise PermissionDenied(f"{op}: {caller.name} is not privileged")
    VALIDATORS[op](op, args)
    return handler(k, caller, **args)
