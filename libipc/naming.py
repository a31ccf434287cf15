"""Client side of the naming server, which lives at a well-known endpoint.

``NAMING`` is an alias the kernel resolves to whichever process occupies the
naming slot now, so it stays valid across naming's restarts.  Resolved names
are cached per process; ``forget`` drops one after its server went away.

naming itself may be down for a moment (killed, restarting: init starts a new
one in the same slot and hands it back the names of the servers still up).  A
call to it then fails at once — the kernel has no process in slot 2 — so every
call here waits for the slot to be filled again, up to NAMING_WAIT_S, before it
gives up: a missing name server is a transient condition, as MINIX's DS is to
its clients, not a reason for a server to die at start.
"""

from __future__ import annotations

import time
from typing import Any

from libipc.errors import NoSuchEndpoint, ServerDied
from libipc.runtime import Runtime, current

INIT = 1     # alias: the current occupant of slot 1 (init)
NAMING = 2   # alias: the current occupant of slot 2 (naming)
NAMING_WAIT_S = 10.0   # how long a call waits for a restarting naming

_cache: dict[str, int] = {}


def resolve(name: str, runtime: Runtime | None = None) -> int:
    """The endpoint registered for ``name`` (NoSuchEndpoint when none)."""
    endpoint = _cache.get(name)
    if endpoint is None:
        endpoint = call_naming("lookup", {"name": name}, runtime)
        _cache[name] = endpoint
    return endpoint


def forget(name: str | None) -> None:
    if name is not None:
        _cache.pop(name, None)


def register(name: str, runtime: Runtime | None = None) -> None:
    """Register this process as ``name``; naming checks the kernel-stamped sender."""
    call_naming("register", {"name": name}, runtime)


def call_naming(op: str, args: dict[str, Any], runtime: Runtime | None = None) -> Any:
    """``op`` at naming, waiting (bounded) while naming is down or restarting."""
    rt = runtime or current()
    deadline = time.monotonic() + NAMING_WAIT_S
    naming_was_up = False
    while True:
        try:
            return rt.call(NAMING, op, args)
        except (NoSuchEndpoint, ServerDied):
            # NoSuchEndpoint is also naming's own answer ("nobody holds that name"):
            # it is that when it comes while naming is up — asked again to be sure,
            # as a new naming may have filled slot 2 just after the kernel said no
            up = _naming_is_up(rt)
            if (up and naming_was_up) or time.monotonic() > deadline:
                raise
            naming_was_up = up
            if not up:
                time.sleep(0.02)


def _naming_is_up(rt: Runtime) -> bool:
    try:
        rt.call(0, "whoami", {"ep": NAMING})
        return True
    except NoSuchEndpoint:
        return False
