"""Servers on other nodes, reached through this node's bridge (servers/bridge/).

QNX's Qnet is the model: a remote server is called with the same messages as a local
one, so a program does not know where its server runs.

    lookup("fs@a").stat(path="/home/x")      # fs on node a
    libipc.open("/net/a/home/x")             # a's files (Qnet's pathname space)
    libipc.nodes()                           # the peers, their state and counters

A ``RemoteProxy`` packs each call as it would for a local server and hands the packed
body to the bridge (op ``call``), which carries it to node ``a``'s bridge, which calls
the server there and brings the answer back as it came: the caller gets the remote
server's result or its error (``FileNotFound``…), or the link's own: ``NodeDown``
(the link dropped, the peer went silent or restarted, mid-call), ``Timeout`` (the
call's deadline passed), ``PermissionDenied`` (node a's ``[remote]`` ACL), or
``WouldBlock`` (the link's queue is full).  Every remote call has a deadline (30 s
unless the proxy was made with a timeout) and is sent once: never re-sent.
"""

from __future__ import annotations

import os
import re
from typing import Any

from libipc.client import Proxy
from libipc.errors import InvalidArgument, NoSuchEndpoint
from libipc.message import pack

BRIDGE = "bridge"
REMOTE_TIMEOUT = 30.0    # seconds: a remote call's deadline when the caller set none
SLACK_S = 5.0            # the local call waits this much longer: the bridge answers first
NODE_RE = re.compile(r"^[a-z][a-z0-9_-]{0,31}$")
NET_PREFIX = "/net/"


def split_address(address: str) -> tuple[str, str | None]:
    """``"fs@a"`` -> ("fs", "a"); ``"fs"`` -> ("fs", None)."""
    name, at, node = address.partition("@")
    if not at:
        return address, None
    if not name or not NODE_RE.match(node):
        raise InvalidArgument(f"{address!r}: a remote name is NAME@NODE "
                              "(NODE: 1-32 of a-z, 0-9, _ and -, starting with a letter)")
    return name, node


def this_node() -> str | None:
    """This node's name (``boot --node NAME`` gives every process NK_NODE), or None."""
    return os.environ.get("NK_NODE") or None


def split_net_path(path: str) -> tuple[str | None, str]:
    """``"/net/a/home/x"`` -> ("a", "/home/x"); a local path -> (None, path)."""
    if not path.startswith(NET_PREFIX):
        return None, path
    node, _, rest = path[len(NET_PREFIX):].partition("/")
    if not NODE_RE.match(node):
        raise InvalidArgument(f"{path!r}: a network path is /net/NODE/PATH")
    return node, "/" + rest


class RemoteProxy(Proxy):
    """Calls to the server ``target`` on node ``node``, through the local bridge.

    A ``Proxy`` (``isinstance`` holds, ``proxy.op(**args)`` works the same); its
    ``endpoint`` is the local bridge's.  Grants and regions do not cross nodes, so
    ``libipc.File`` moves a remote file's bytes in messages."""

    remote = True

    def __init__(self, target: str, node: str, timeout: float | None = None,
                 runtime: Any = None) -> None:
        super().__init__(name=f"{target}@{node}", timeout=timeout, runtime=runtime)
        self.target, self.node = target, node
        deadline = REMOTE_TIMEOUT if timeout is None else float(timeout)
        self._deadline = deadline
        self._bridge = Proxy(name=BRIDGE, timeout=deadline + SLACK_S, runtime=runtime)

    @property
    def endpoint(self) -> int:
        try:
            return self._bridge.endpoint
        except NoSuchEndpoint:
            raise NoSuchEndpoint(f"{self._name}: this system has no bridge (boot it with "
                                 "--node NAME to reach other nodes)") from None

    def with_timeout(self, timeout: float | None) -> RemoteProxy:
        return RemoteProxy(self.target, self.node, timeout, self._runtime)

    def call(self, op: str, /, **args: Any) -> Any:
        _ = self.endpoint   # (a clear error when there is no bridge)
        return self._bridge.call("call", node=self.node, to=self.target,
                                 body=pack([op, args]), timeout=self._deadline)

    def send(self, op: str, /, **args: Any) -> None:
        """A one-way message to the remote server: returns once the remote bridge has put
        it in the server's ring (``WouldBlock`` when the link's queue is full,
        ``NodeDown`` when the link dropped with it) — never dropped without a word."""
        _ = self.endpoint
        self._bridge.call("send", node=self.node, to=self.target, bodies=[pack([op, args])])

    def send_many(self, op: str, args_list: list[dict[str, Any]]) -> None:
        """Many one-way messages in one batch: one local call, one round trip."""
        _ = self.endpoint
        self._bridge.call("send", node=self.node, to=self.target,
                          bodies=[pack([op, args]) for args in args_list])

    def _forget(self) -> None:
        self._bridge._forget()

    def __repr__(self) -> str:
        return f"RemoteProxy({self._name})"


def is_remote(proxy: Any) -> bool:
    """A RemoteProxy?  (``is True``: any other Proxy answers ``.remote`` with an op.)"""
    return getattr(proxy, "remote", False) is True


def _bridge_call(what: str, op: str, **args: Any) -> Any:
    from libipc.client import lookup
    try:
        return lookup(BRIDGE).call(op, **args)
    except NoSuchEndpoint as exc:
        if "bridge" not in (exc.message or ""):   # (the far node's: no such process)
            raise
        raise NoSuchEndpoint(f"{what}: this system has no bridge (boot it with --node "
                             "NAME)") from None


def nodes() -> list[dict[str, Any]]:
    """This node's peers: name, state (up/down/connecting/refused), since, round trip,
    counters."""
    return _bridge_call("nodes", "nodes")


def signal_remote(name: str, node: str, signal_name: str) -> int:
    """Send ``signal_name`` to every process called ``name`` on ``node`` (its ``[remote]``
    ACL must give this node "@signal"); how many there were."""
    return _bridge_call(f"kill {name}@{node}", "signal", node=node, name=name,
                        signal_name=signal_name)
