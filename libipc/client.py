"""Client proxies: ``lookup("fs").read(path="/etc/motd")`` is one CALL.

A ``Proxy`` turns attribute calls into ``Runtime.call``.  A proxy made by
``lookup(name)`` resolves the name through the naming server and caches the
endpoint.  When the server behind it restarted, the old endpoint is stale:
the kernel answers ``NoSuchEndpoint`` (the call never reached anyone, so the
proxy looks the name up again and retries once) or ``ServerDied`` (the call
may have run: the error goes to the caller, the next call looks up afresh).
"""

from __future__ import annotations

from typing import Any

from libipc.errors import NoSuchEndpoint, ServerDied
from libipc.message import KERNEL
from libipc.runtime import Runtime, current

# ``proxy.read`` makes a method ``read`` of the class on first use (up to this many op
# names; past it each lookup makes a fresh callable as it always did): afterwards it is
# found without ``__getattr__``, by every proxy — ``lookup("fs").read(...)`` included.
MAX_CACHED_OPS = 1024


class Proxy:
    """Calls to one endpoint (or one name) as method calls."""

    def __init__(self, endpoint: int | None = None, name: str | None = None,
                 timeout: float | None = None, runtime: Runtime | None = None) -> None:
        self._endpoint = endpoint
        self._name = name
        self._timeout = timeout
        self._runtime = runtime

    @property
    def endpoint(self) -> int:
        if self._endpoint is None:
            from libipc.naming import resolve
            self._endpoint = resolve(self._name, runtime=self._rt)
        return self._endpoint

    @property
    def _rt(self) -> Runtime:
        return self._runtime or current()

    def with_timeout(self, timeout: float | None) -> Proxy:
        """The same target, with calls that give up after ``timeout`` seconds."""
        return Proxy(self._endpoint, self._name, timeout, self._runtime)

    def call(self, op: str, /, **args: Any) -> Any:
        """Call ``op`` with keyword arguments; errors come back as IpcError subclasses."""
        rt = self._runtime or current()
        endpoint = self._endpoint
        if endpoint is None:
            endpoint = self.endpoint
        try:
            return rt.call(endpoint, op, args, self._timeout)
        except NoSuchEndpoint:
            if self._name is None:
                raise
            self._forget()
            return self._rt.call(self.endpoint, op, args, self._timeout)
        except ServerDied:
            if self._name is not None:
                self._forget()
            raise

    def send(self, op: str, /, **args: Any) -> None:
        """One-way message (no reply)."""
        self._rt.send(self.endpoint, op, args)

    def _forget(self) -> None:
        from libipc.naming import forget
        forget(self._name)
        self._endpoint = None

    def __getattr__(self, op: str) -> Any:
        if op.startswith("_"):
            raise AttributeError(op)
        method = _op_method(op)
        # not over a class attribute (a property that raised AttributeError comes here too)
        if len(_cached_ops) < MAX_CACHED_OPS and not hasattr(Proxy, op):
            _cached_ops.add(op)
            setattr(Proxy, op, method)
        return method.__get__(self, type(self))

    def __repr__(self) -> str:
        return f"Proxy({self._name or self._endpoint})"


_cached_ops: set[str] = set()


def _op_method(op: str) -> Any:
    def method(self: Proxy, **args: Any) -> Any:
        return self.call(op, **args)
    method.__name__ = method.__qualname__ = op
    method.__doc__ = f"Call {op!r} at the proxy's target."
    return method


def lookup(name: str, timeout: float | None = None) -> Proxy:
    """A proxy for the server registered as ``name`` (resolved on first call); for
    ``NAME@NODE``, the server NAME on node NODE, through the bridge (libipc/remote.py)."""
    if "@" in name:
        from libipc.remote import RemoteProxy, split_address
        target, node = split_address(name)
        return RemoteProxy(target, node, timeout=timeout)
    return Proxy(name=name, timeout=timeout)


def kernel(timeout: float | None = None) -> Proxy:
    """A proxy for the kernel's calls at endpoint 0 (spawn, ps, stats, …)."""
    return Proxy(KERNEL, timeout=timeout)
