"""fsclient — the fs client that never takes a sync for success when writes were lost.

The fs server answers a write at once and commits it about 2 ms later (group
commit, servers/fs/server.py).  A SIGKILL of fs in between loses the write,
and the restarted fs knows nothing of it: a client that then calls sync()
would be told "durable" about data that is gone.  NFSv3's answer is the write
verifier, and this is its client half:

  - every change this client makes (write, create, truncate) is asked with
    verifier=True and answered with the verifier of the fs instance that
    took it (a random id that changes at every fs start and remount);
  - the client keeps each change — the bytes of a write included — from its
    acknowledgement until a sync proves it durable;
  - a sync answered with verifier V proves every kept change acknowledged
    under V: when all of them were, the kept changes are dropped;
  - when any reply (a sync's or a change's) shows a verifier some kept
    change was not acknowledged under, the acknowledged changes may have died
    with an old instance: every kept change is re-sent, in the order it was
    made (a later write to the same bytes lands last), and the sync is asked
    again — before the caller gets an answer;
  - a change that cannot be re-sent (its directory was lost too, the disk is
    full, fs stays away) raises DataLost naming the paths whose changes are
    gone; never a plain success.

The guarantee: after sync() returns, every change made through this client
before it is on disk, across any number of fs and block restarts.

Calls are also carried across an fs restart: an idempotent call (every
read, write by path and offset, stat, non-exclusive create, truncate, sync)
that failed with ServerDied or NoSuchEndpoint waits for the new fs (naming's
``wait``) and is re-issued, until RECOVERY_S after the first failure; a
transfer by grant grants its region to the new fs first (libipc/bulk.py).

Memory: the kept bytes are the callers' own (File.write keeps a reference
to the bytes it was given, no copy), until the next sync.  Past KEEP_MAX
bytes (or KEEP_MAX_CHANGES changes) kept, a change syncs before it returns
(an implicit sync), so a client holds at most KEEP_MAX bytes beyond its
largest single write.

One FsClient per fs name (and call timeout) per process (``client_for``):
every File of a process made without ``fs=`` shares it, so any File's sync()
proves (or re-sends) all of them.

What a re-send cannot know: a change made by someone else, or by a call that
bypassed this client (a raw ``lookup("fs").unlink``), after a kept change and
before the sync.  If fs restarted in between, the re-send applies the kept
change again — it may re-create a file unlinked meanwhile.  Sync before
removing what a File wrote, as NFS clients commit before a remove.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from libipc.client import Proxy
from libipc.errors import DataLost, IpcError, NoSuchEndpoint, ServerDied, Timeout
from libipc.limits import DATA_PER_MESSAGE
from libipc.remote import is_remote

KEEP_MAX = 16 << 20     # bytes of unsynced writes kept per client; past it: implicit sync
KEEP_MAX_CHANGES = 4096   # changes kept (small writes); past it: an implicit sync too
RECOVERY_S = 30.0       # how long a call waits for a dead fs server's successor
MAX_REPLAYS = 8         # re-sends in a row (each after another fs restart) before DataLost
BY_GRANT = DATA_PER_MESSAGE   # a write of more bytes than one message holds goes by grant
GONE = (ServerDied, NoSuchEndpoint)


@dataclass
class Change:
    """One change acknowledged by fs and not yet proven durable."""

    op: str                     # "write" | "create" | "truncate"
    path: str
    args: dict[str, Any] = field(default_factory=dict)   # offset, create | size
    data: memoryview | None = None                       # a write's bytes
    verifier: str | None = None                          # of the instance that took it


class FsClient:
    """Changes to one fs server, kept until a sync with their verifier proves them."""

    def __init__(self, proxy: Proxy) -> None:
        self.fs = proxy
        self.kept: list[Change] = []
        self.kept_bytes = 0
        self.resent = 0          # changes re-sent after a verifier changed (for tests)
        self._waited: int | None = None
        self._resending = False
        self._under: str | None = None   # the verifier every kept change was acknowledged
        # under (kept consistent: a change under another makes everything be re-sent)

    # --- idempotent calls, carried across an fs restart --------------------------
    def call(self, op: str, /, **args: Any) -> Any:
        """``fs.op(**args)``, re-issued to a restarted fs while fs is gone."""
        return self._retrying(lambda: self.fs.call(op, **args))

    def read_by_grant(self, path: str, offset: int, size: int) -> bytes:
        """Up to `size` bytes at `offset`, placed by fs in a region granted to it."""
        from libipc.bulk import staged  # (here: most programs never make a region)

        def attempt() -> bytes:
            with staged(size, self.fs.endpoint) as (view, grant):
                got = self.fs.call("read", path=path, offset=offset, size=size, grant=grant)
                return bytes(view[:got])
        return self._retrying(attempt)

    def _retrying(self, attempt: Callable[[], Any]) -> Any:
        """attempt(), again after each fs death until RECOVERY_S; before an attempt
        on a new fs, what the old one may have lost is re-sent (read your writes)."""
        deadline = None
        while True:
            try:
                return attempt()
            except GONE:
                now = time.monotonic()
                deadline = deadline if deadline is not None else now + RECOVERY_S
                if now >= deadline:
                    raise
            self._await_fs(deadline)
            if self.kept and not self._resending:
                try:
                    verifier = self.fs.call("verifier")
                except GONE:
                    continue   # (died again: the next attempt waits again)
                self._resend(verifier)

    def _await_fs(self, deadline: float) -> None:
        """Wait (until `deadline`) for a server registered under the proxy's name."""
        from libipc.naming import NAMING, forget
        name = self.fs._name   # (libipc-internal: a proxy by name is re-resolved)
        if name is None:
            time.sleep(0.01)   # (a proxy for one endpoint: nothing to wait for)
            return
        forget(name)
        self.fs = Proxy(name=name, timeout=self.fs._timeout, runtime=self.fs._runtime)
        try:
            ep = Proxy(NAMING, timeout=max(0.01, deadline - time.monotonic())).wait(name=name)
        except (Timeout, *GONE):
            return   # (the next attempt fails again, and the deadline decides)
        if ep == self._waited:   # naming has not heard of the death yet: do not spin
            time.sleep(0.005)
        self._waited = ep

    # --- changes ------------------------------------------------------------------
    def write(self, path: str, offset: int, data: memoryview, create: bool = False) -> int:
        """Write `data` at `offset`; the bytes fs wrote (short: the disk is full)."""
        change = Change("write", path, {"offset": offset, "create": create}, data)
        return self._change(change)["written"]

    def append(self, path: str, data: memoryview) -> tuple[int, int]:
        """Write `data` at the end of the file, as fs finds it in the same op (two
        appenders never write over each other); (where it went, bytes written).  Kept
        for a re-send as a write at that offset: a re-send must not append again."""
        change = Change("write", path, {"offset": 0, "create": False, "append": True}, data)
        reply = self._change(change)
        return reply["offset"], reply["written"]

    def create(self, path: str, exclusive: bool = False) -> None:
        if exclusive:   # (not idempotent: FileExists on a retry; re-sent as a plain create)
            reply = self.fs.call("create", path=path, exclusive=True, verifier=True)
            self._keep(Change("create", path), reply)
            return
        self._change(Change("create", path))

    def truncate(self, path: str, size: int) -> None:
        self._change(Change("truncate", path, {"size": size}))

    def sync(self) -> str:
        """Make every kept change durable (re-sending what an fs restart lost); the
        verifier that proves it.  DataLost when some change could not be re-sent."""
        for _ in range(MAX_REPLAYS):
            verifier = self.call("sync", verifier=True)["verifier"]
            if not self.kept or self._under == verifier:
                self._drop()
                return verifier
            self._resend(verifier)
        raise self._lost(f"fs restarted {MAX_REPLAYS} times in a row under the sync")

    def _change(self, change: Change) -> dict[str, Any]:
        reply = self._send(change)   # (an error: nothing acknowledged, nothing kept)
        if change.args.get("append"):   # kept as what it became: a write at that offset
            change.args = {"offset": reply["offset"], "create": False}
        self._keep(change, reply)
        return reply

    def _keep(self, change: Change, reply: dict[str, Any]) -> None:
        if change.data is not None and reply["written"] < len(change.data):
            change.data = change.data[:reply["written"]]   # (a short write: the disk is full)
        change.verifier = reply["verifier"]
        mixed = bool(self.kept) and self._under != change.verifier
        self.kept.append(change)
        self.kept_bytes += len(change.data) if change.data is not None else 0
        if mixed:
            self._resend(change.verifier)   # (an older change's instance died)
        else:
            self._under = change.verifier
        if self.kept_bytes > KEEP_MAX or len(self.kept) > KEEP_MAX_CHANGES:
            self.sync()   # implicit: the memory kept stays bounded

    def _send(self, change: Change) -> dict[str, Any]:
        """One change, asked with verifier=True, carried across fs restarts."""
        if change.op != "write":
            return self.call(change.op, path=change.path, **change.args, verifier=True)
        data = change.data
        assert data is not None
        if len(data) <= BY_GRANT or is_remote(self.fs):   # (no grants
            # across nodes: a remote fs gets the bytes in the message)
            return self.call("write", path=change.path, data=bytes(data), verifier=True,
                             **change.args)
        from libipc.bulk import staged

        def attempt() -> dict[str, Any]:
            with staged(len(data), self.fs.endpoint, writable=False) as (view, grant):
                view[:] = data
                return self.fs.call("write", path=change.path, grant=grant, size=len(data),
                                    verifier=True, **change.args)
        return self._retrying(attempt)

    def _resend(self, verifier: str) -> None:
        """Every kept change again, in order, unless all were acknowledged under
        `verifier` (the latest reply's); again while fs restarts under the re-send."""
        if self._resending or not self.kept or self._under == verifier:
            return   # (a re-send in progress goes on with the newest verifier itself)
        self._resending = True
        try:
            for _ in range(MAX_REPLAYS):
                seen = set()
                for change in self.kept:
                    try:
                        reply = self._send(change)
                    except IpcError as exc:
                        raise self._lost(f"re-sending {change.op} {change.path}: "
                                         f"{exc}") from exc
                    if change.data is not None and reply["written"] < len(change.data):
                        raise self._lost(f"re-sending write {change.path}: disk full")
                    change.verifier = reply["verifier"]
                    seen.add(change.verifier)
                    self.resent += 1
                if len(seen) == 1:   # every change under one instance: consistent again
                    self._under = seen.pop()
                    return
            raise self._lost(f"fs restarted {MAX_REPLAYS} times in a row under the re-sends")
        finally:
            self._resending = False

    def _lost(self, why: str) -> DataLost:
        """DataLost for every kept change (which are given up on: they cannot be re-sent)."""
        paths = sorted({c.path for c in self.kept})
        self._drop()
        return DataLost(f"acknowledged changes lost with an fs restart ({why}): "
                        + ", ".join(paths), paths=paths)

    def _drop(self) -> None:
        self.kept.clear()
        self.kept_bytes = 0
        self._under = None


_clients: dict[tuple[Any, ...], FsClient] = {}


def client_for(proxy: Proxy) -> FsClient:
    """The FsClient of this process for the server behind `proxy`: one per name (or
    endpoint) and call timeout — a caller's timeout stays its own."""
    target = proxy._name if proxy._name is not None else proxy._endpoint
    key = (target, proxy._timeout)
    client = _clients.get(key)
    if client is None:
        client = _clients[key] = FsClient(proxy)
    return client
