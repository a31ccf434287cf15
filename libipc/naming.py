"""Client side of the naming server, which lives at a well-known endpoint.

``NAMING`` is an alias the kernel resolves to whichever process occupies the
naming slot now, so it stays valid across naming's restarts.  Resolved names
are cached per process; ``forget`` drops one after its server went away.
"""

from __future__ import annotations

from libipc.runtime import Runtime, current

INIT = 1     # alias: the current occupant of slot 1 (init)
NAMING = 2   # alias: the current occupant of slot 2 (naming)

_cache: dict[str, int] = {}


def resolve(name: str, runtime: Runtime | None = None) -> int:
    """The endpoint registered for ``name`` (NoSuchEndpoint when none)."""
    endpoint = _cache.get(name)
    if endpoint is None:
        rt = runtime or current()
        endpoint = rt.call(NAMING, "lookup", {"name": name})
        _cache[name] = endpoint
    return endpoint


def forget(name: str | None) -> None:
    if name is not None:
        _cache.pop(name, None)


def register(name: str, runtime: Runtime | None = None) -> None:
    """Register this process as ``name``; naming checks the kernel-stamped sender."""
    (runtime or current()).call(NAMING, "register", {"name": name})
