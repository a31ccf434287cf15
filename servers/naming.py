"""naming — the name server: which endpoint serves "fs", "console", …

Why the system needs it: endpoints change every time a server restarts, names
do not.  Clients ask naming once (``lookup``) and libipc caches the answer
until the server behind it dies; a restarted server registers again.

It lives in the well-known slot 2, so everyone reaches it at endpoint 2
(``libipc.naming.NAMING``) without looking anything up.

Ownership: a process may register only its own kernel name — the name init
gave it at spawn, as the kernel reports it for the kernel-stamped sender
(``ctx.sender.name``).  So nobody can squat "fs": the kernel says who is
asking.  A name held by another live process is refused too.  Names die
with their owner: naming watches every exit (kernel ``watch``) and frees the
dead process's names when told (NOTIFY_EXIT → kernel ``wait``).

Ops:
    register(name)    → None      PermissionDenied: not your name / held by another
    unregister(name)  → None      only by its owner
    lookup(name)      → endpoint  NoSuchEndpoint when nobody holds it
    list()            → {name: endpoint}
    wait(name)        → endpoint  as lookup, but deferred until ``name`` registers
                                  (DS's subscribe: a client started before its server
                                  waits for the name instead of polling for it)
    restore(names)    → int       init only: after naming restarted, init hands back
                                  the names of the servers still running (each is
                                  checked against the kernel like a register)
"""

from __future__ import annotations

from libipc import (
    Deferred,
    IpcError,
    NoSuchEndpoint,
    PermissionDenied,
    Server,
    Timeout,
    TooManyCalls,
    kernel,
    op,
)
from libipc.limits import DEFAULT_MAX_CALLS
from libipc.message import KERNEL, NOTIFY_EXIT, NOTIFY_REGISTERED
from libipc.naming import INIT

MAX_WAITERS = 1024   # wait(name) callers held at once (each is a deferred reply)
MAX_WAITS_PER_CALLER = DEFAULT_MAX_CALLS   # one caller's: no more than it can call
SLOT_MASK = 0xFFF   # an endpoint's slot bits (kernel/endpoint.py); init is slot 1


class Naming(Server):
    name = "naming"
    register_name = False   # naming cannot ask itself; it records its own name at start

    def __init__(self) -> None:
        super().__init__()
        self.names: dict[str, int] = {}
        self.waiters: dict[str, list[Deferred]] = {}   # wait(name) callers, per name

    def start(self) -> None:
        kernel().watch(on=True)
        self.names[self.name] = self.runtime.endpoint
        self.runtime.notify(INIT, NOTIFY_REGISTERED)

    @op
    def register(self, ctx, name: str) -> None:
        """Record that ``name`` is served by the caller."""
        owner = ctx.sender.name
        if owner != name:
            self.log.warning("squat_refused", name=name, sender=ctx.sender.endpoint,
                             sender_name=owner)
            raise PermissionDenied(f"register: {owner!r} may only register its own name, "
                                   f"not {name!r}")
        holder = self.names.get(name)
        if holder is not None and holder != ctx.sender.endpoint and self._alive(holder):
            raise PermissionDenied(f"register: {name!r} is held by endpoint {holder}")
        self.names[name] = ctx.sender.endpoint
        self._answer_waiters(name)
        self.log.info("registered", name=name, ep=ctx.sender.endpoint)
        self.runtime.notify(INIT, NOTIFY_REGISTERED)   # init waits for it (no polling)

    @op
    def unregister(self, ctx, name: str) -> None:
        """Give up ``name`` (only its holder may)."""
        holder = self.names.get(name)
        if holder is None:
            raise NoSuchEndpoint(f"unregister: no server is registered as {name!r}")
        if holder != ctx.sender.endpoint:
            raise PermissionDenied(f"unregister: {name!r} is held by endpoint {holder}")
        del self.names[name]
        self.log.info("unregistered", name=name, ep=holder)

    @op
    def restore(self, ctx, names: dict) -> int:
        """init only: re-record the names of running servers after naming restarted.

        Each entry must still pass the ownership rule (a live process whose kernel
        name is that name); the others are skipped.  Returns how many were taken."""
        if ctx.sender.endpoint & SLOT_MASK != INIT:
            raise PermissionDenied("restore: only init may restore the name table")
        taken = 0
        for name, endpoint in names.items():
            try:
                info = kernel().whoami(ep=int(endpoint))
            except (IpcError, TypeError, ValueError):
                continue
            if info["name"] == name and info["state"] == "running" and name not in self.names:
                self.names[name] = info["ep"]
                self._answer_waiters(name)
                taken += 1
        self.log.info("restored", names=taken, offered=len(names))
        return taken

    @op
    def lookup(self, ctx, name: str) -> int:
        """The endpoint serving ``name``."""
        endpoint = self.names.get(name)
        if endpoint is None:
            raise NoSuchEndpoint(f"lookup: no server is registered as {name!r}")
        return endpoint

    @op
    def wait(self, ctx, name: str) -> int | None:
        """The endpoint serving ``name``, once it is registered (replies at once if it is).
        The caller's own call timeout bounds the wait."""
        endpoint = self.names.get(name)
        if endpoint is not None:
            return endpoint
        mine = [d for ds in self.waiters.values() for d in ds if d.dst == ctx.sender.endpoint]
        if len(mine) >= MAX_WAITS_PER_CALLER:
            # Its oldest waits were given up on (its calls time out; the kernel allows
            # only max_calls at once): answer them, so no caller can fill the table.
            self._drop_waiter(mine[0], Timeout("wait: superseded by newer waits"))
        if sum(map(len, self.waiters.values())) >= MAX_WAITERS:
            raise TooManyCalls(f"wait: {MAX_WAITERS} callers are waiting for names already")
        self.waiters.setdefault(name, []).append(ctx.defer())
        return None

    def _drop_waiter(self, deferred: Deferred, error: IpcError | None = None) -> None:
        for name, ds in list(self.waiters.items()):
            if deferred in ds:
                ds.remove(deferred)
                if not ds:
                    del self.waiters[name]
        if error is not None:
            deferred.error(error)

    def _answer_waiters(self, name: str) -> None:
        for deferred in self.waiters.pop(name, []):
            deferred.reply(self.names[name])   # a caller that gave up: the kernel drops it

    @op
    def list(self, ctx) -> dict:
        """Every registered name and its endpoint."""
        return dict(self.names)

    def on_notify(self, src: int, bits: int) -> None:
        if src == KERNEL and bits & NOTIFY_EXIT:
            for record in kernel().wait():
                self._forget(record["ep"])

    def _forget(self, endpoint: int) -> None:
        for name in [n for n, e in self.names.items() if e == endpoint]:
            del self.names[name]
            self.log.info("freed", name=name, ep=endpoint)
        for deferred in [d for ds in self.waiters.values() for d in ds if d.dst == endpoint]:
            self._drop_waiter(deferred)   # it died waiting: nobody to answer

    def _alive(self, endpoint: int) -> bool:
        """Whether ``endpoint`` still runs (its exit may not have reached us yet)."""
        try:
            alive = kernel().whoami(ep=endpoint)["state"] == "running"
        except NoSuchEndpoint:
            alive = False
        if not alive:
            self._forget(endpoint)
        return alive


if __name__ == "__main__":
    Naming.main()
