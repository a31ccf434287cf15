"""The bridge server: this node's link to its peers (QNX's Qnet, on ZeroMQ).

A user-space server like the others, started by init only on a node (``boot --node
NAME``; boot.toml's ``node = true``) and restarted by it.  Its main thread does the
nanokernel IPC; its ZeroMQ thread (link.py) owns the sockets.  Both sides:

  * **outgoing** — a local program's ``lookup("fs@a").stat(...)`` is a CALL of our
    ``call`` op carrying the packed body; we send it to peer a with a call id and a
    deadline, and answer the program with a's answer exactly as it came (the remote
    server's result or error), or with NodeDown (the link dropped, a went silent or
    restarted), Timeout (the deadline passed), WouldBlock (the link's queue is full).
    Nothing is ever re-sent: a call runs at most once.
  * **incoming** — a peer's call is checked against ``[remote]`` in boot.toml (deny by
    default: servers/bridge/acl.py), then made to the local server as a ``@via`` call
    carrying the caller's node (from its CURVE key, so never forged) and endpoint
    there: the server's ``ctx.sender`` is ``RemoteSender("a:4321")`` (libipc/server.py
    accepts ``@via`` only from this bridge).  Its answer goes back as it came.

ops: ``call``, ``send`` (SENDs, acknowledged once the link took them), ``signal``
(``kill -TERM prog@a``), ``nodes`` (the peers, their state and counters).
"""

from __future__ import annotations

import contextlib
import itertools
import os
import secrets
import signal
import sys
import time
from dataclasses import dataclass, field
from typing import Any

import msgpack

from libipc import InvalidArgument, IpcError, NodeDown, NoSuchEndpoint, Server, op
from libipc.errors import PermissionDenied, Timeout, WouldBlock, error_from_body
from libipc.message import ERROR, KERNEL, REPLY, unpack
from libipc.naming import forget, resolve
from libipc.remote import REMOTE_TIMEOUT
from libipc.server import VIA_OP
from servers.bridge.acl import NEVER, RemoteAcl
from servers.bridge.link import Links
from servers.bridge.nodeconf import NodeConf, node_conf

pack = msgpack.packb
MAX_TIMEOUT = 3600.0
MAX_BATCH = 4096        # SENDs in one `send` call
CONNECT_WAIT_S = 5.0    # a call to a peer not connected yet (since boot) waits this long
INFLIGHT = 12           # local calls made for peers at once (the kernel's call limit is
                        # per process; the rest wait their turn in the bridge)
MAX_WAITING = 10_000    # … at most this many (then WouldBlock to the peer)
HOST_SIGNALS = ("KILL", "TERM", "INT")   # sent as the kernel's kill does (a server's SIGTERM
                                         # watch stops it cleanly); others as its `signal`


@dataclass
class Link:
    """What the main thread knows of one peer (the ZeroMQ thread tells it)."""
    name: str
    address: str
    state: str = "connecting"       # up | down | connecting | refused
    since: float = field(default_factory=time.time)
    why: str = ""
    incarnation: str | None = None
    incarnations: int = 0           # how many this bridge has seen
    rtt: float | None = None
    calls: int = 0                  # calls sent over it
    answers: int = 0
    failed: int = 0                 # calls failed by the link (NodeDown/Timeout/WouldBlock)
    sends: int = 0
    served: int = 0                 # its calls and sends served here
    parked: list = field(default_factory=list)   # calls waiting for the first connection

    def row(self) -> dict[str, Any]:
        return {"node": self.name, "address": self.address, "state": self.state,
                "since": round(self.since, 3), "why": self.why,
                "incarnation": self.incarnation, "incarnations": self.incarnations,
                "rtt_ms": None if self.rtt is None else round(self.rtt * 1000, 3),
                "calls": self.calls, "answers": self.answers, "failed": self.failed,
                "sends": self.sends, "served": self.served}


@dataclass
class Pending:
    """A local program's call, out on a link."""
    deferred: Any
    node: str
    timer: Any = None


class Bridge(Server):
    name = "bridge"

    def __init__(self) -> None:
        super().__init__()
        self.conf: NodeConf = node_conf(os.environ)
        self.incarnation = secrets.token_hex(8)
        self.links: dict[str, Link] = {name: Link(name, addr)
                                       for name, addr in self.conf.peers.items()}
        self.pending: dict[int, Pending] = {}
        self.ids = itertools.count(1)
        self.acl = RemoteAcl(self.conf.remote)
        self.eps: dict[str, int] = {}           # local names resolved (forgotten on error)
        self.public: dict[int, bool] = {}       # endpoint -> public (an endpoint is never reused
                                                # by another process)
        self.inflight = 0
        self.waiting: list[tuple] = []          # peers' calls waiting for a slot
        self.intruders = 0
        self.late = 0
        self.zmq: Links | None = None

    # --- life cycle -------------------------------------------------------------------------
    def start(self) -> None:
        # Two threads share the GIL: at the default 5 ms switch interval an answer the
        # ZeroMQ thread got waited up to 5 ms whenever this one ran Python (the bench's
        # p99); 0.5 ms keeps that wait short.
        sys.setswitchinterval(0.0005)
        conf = self.conf
        self.zmq = Links(conf.node, self.incarnation, conf.listen, conf.peers, conf.keys,
                         conf.trusted, conf.peer_keys, self._deliver)
        self.zmq.answer = self._answered
        self.zmq.start()
        self.zmq.ready.wait(10.0)
        if self.zmq.error:
            self.log.error("listen_failed", error=self.zmq.error)
            raise SystemExit(f"bridge: {self.zmq.error}")
        self.log.info("bridge_up", node=conf.node, listen=conf.listen,
                      peers=conf.peers, trusted=sorted(conf.trusted.values()),
                      incarnation=self.incarnation)

    def stop(self) -> None:
        if self.zmq is not None:
            self.zmq.stop()

    def _deliver(self, event: tuple) -> None:
        """From the ZeroMQ thread: run on ours (the only one making IPC calls)."""
        self.runtime.post(lambda: self._event(event))

    # --- ops for local programs -------------------------------------------------------------
    @op
    def call(self, ctx, node: str, to: str, body: bytes, timeout: float = REMOTE_TIMEOUT):
        """Call server ``to`` on ``node`` with ``body`` (packed [op, args]); the answer is
        the remote server's, as it came."""
        link = self._link(node)
        timeout = self._timeout(timeout)
        header_of = lambda call_id: pack([call_id, ctx.sender.endpoint, to, timeout])  # noqa: E731
        self._gate(ctx, link, lambda deferred=None: self._out(
            ctx, deferred, link, b"C", header_of, body, timeout))
        return None

    @op
    def send(self, ctx, node: str, to: str, bodies: list) -> int:
        """One-way messages to ``to`` on ``node``, as one batch: answered (with how many)
        once node's bridge has put them all in the server's ring — so a batch lost with
        the link fails with NodeDown instead of vanishing; WouldBlock when the link's
        queue is full.  The server's answers, if any, are not waited for."""
        link = self._link(node)
        if not bodies or len(bodies) > MAX_BATCH or not all(isinstance(b, bytes) for b in bodies):
            raise InvalidArgument(f"send: bodies must be 1-{MAX_BATCH} packed messages (bytes)")
        header_of = lambda call_id: pack([call_id, ctx.sender.endpoint, to])  # noqa: E731
        batch = pack(bodies)

        def go(deferred=None) -> None:
            link.sends += len(bodies)
            self._out(ctx, deferred, link, b"S", header_of, batch, REMOTE_TIMEOUT)
        self._gate(ctx, link, go)
        return None

    @op
    def signal(self, ctx, node: str, name: str, signal_name: str = "TERM"):
        """Send ``signal_name`` to the process ``name`` on ``node`` (if its [remote] ACL
        gives this node "@signal")."""
        link = self._link(node)
        if not isinstance(name, str) or not isinstance(signal_name, str):
            raise InvalidArgument("signal: name and signal_name are strings")
        header_of = lambda call_id: pack([call_id, ctx.sender.endpoint, name, signal_name])  # noqa: E731
        self._gate(ctx, link, lambda deferred=None: self._out(
            ctx, deferred, link, b"K", header_of, b"", REMOTE_TIMEOUT))
        return None

    def _out(self, ctx, deferred, link: Link, kind: bytes, header_of, body: bytes,
             timeout: float) -> None:
        """Send one call over ``link``; its answer (or the link's failure, or its
        deadline) answers ``deferred`` (ctx's, made now, when None)."""
        call_id = next(self.ids)
        pending = Pending(deferred or ctx.defer(), link.name)
        pending.timer = self.runtime.after(timeout, lambda: self._expired(call_id, timeout))
        self.pending[call_id] = pending
        link.calls += 1
        self.zmq.command(b"out", link.name.encode(), kind, header_of(call_id), body,
                         str(call_id).encode())

    @op
    def nodes(self, ctx) -> list:
        """Every peer: state (up/down/connecting/refused) since when and why, round
        trip, incarnation, and what went over the link."""
        return [link.row() for link in self.links.values()]

    @op
    def whoami(self, ctx) -> dict:
        """This node: its name, incarnation, where it listens, whom it trusts."""
        return {"node": self.conf.node, "incarnation": self.incarnation,
                "listen": self.conf.listen, "trusted": sorted(self.conf.trusted.values()),
                "intruders_refused": self.intruders, "late_answers": self.late}

    def _gate(self, ctx, link: Link, go) -> None:
        """Run ``go()`` now if the link is up; while it is still connecting (just
        booted, or the peer not up yet) park it up to CONNECT_WAIT_S; else NodeDown."""
        if link.state == "up":
            go()
            return
        if link.state != "connecting":
            raise NodeDown(f"{link.name} is {link.state}" + (f": {link.why}" if link.why else ""))
        deferred = ctx.defer()

        def give_up() -> None:
            if (deferred, go) in link.parked:
                link.parked.remove((deferred, go))
                deferred.error(NodeDown(f"{link.name}: not connected within "
                                        f"{CONNECT_WAIT_S:g} s ({link.why or 'no answer'})"))
        link.parked.append((deferred, go))
        self.runtime.after(CONNECT_WAIT_S, give_up)

    def _unpark(self, link: Link) -> None:
        parked, link.parked = link.parked, []
        for deferred, go in parked:
            try:
                go(deferred)
            except IpcError as exc:
                deferred.error(exc)

    def _link(self, node: str) -> Link:
        link = self.links.get(node)
        if link is None:
            known = ", ".join(sorted(self.links)) or "none (boot with --peer NAME=ADDRESS)"
            raise NoSuchEndpoint(f"no node {node!r}: this node ({self.conf.node}) knows "
                                 f"{known}")
        return link

    @staticmethod
    def _timeout(timeout: Any) -> float:
        if isinstance(timeout, bool) or not isinstance(timeout, int | float) \
                or not 0 < timeout <= MAX_TIMEOUT:
            raise InvalidArgument(f"timeout: seconds, more than 0 and at most {MAX_TIMEOUT:g}")
        return float(timeout)

    # --- answers to our calls -----------------------------------------------------------------
    def _answered(self, node: str, kind: bytes, header: bytes, body: bytes) -> None:
        """A peer's answer to one of our calls — run on the ZeroMQ thread (link.py):
        whoever pops a call from ``pending`` (this, ``_fail``) answers it, once; the
        ring's sends are locked (libipc/port.py); the timer is only flagged."""
        try:
            call_id = unpack(header)[0]
        except (ValueError, TypeError, IndexError, IpcError):
            return
        pending = self.pending.pop(call_id, None)
        if pending is None:
            self.late += 1   # (its deadline passed, or the link failed it: already answered)
            return
        if pending.node != node:   # (not that peer's to answer: a confused peer)
            self.pending[call_id] = pending
            self.late += 1
            return
        pending.timer.cancel()
        self.links[node].answers += 1
        deferred = pending.deferred
        deferred.done = True
        # the remote server's answer, as it came: the caller decodes it
        self.runtime.transport.send(deferred.dst, REPLY if kind == b"R" else ERROR,
                                    deferred.call_id, body)

    def _fail(self, call_id: int, error: IpcError) -> None:
        pending = self.pending.pop(call_id, None)
        if pending is not None:
            pending.timer.cancel()
            self.links[pending.node].failed += 1
            pending.deferred.error(error)

    def _expired(self, call_id: int, timeout: float) -> None:
        pending = self.pending.get(call_id)
        if pending is not None:
            self._fail(call_id, Timeout(f"no answer from {pending.node} in {timeout:g} s "
                                        "(the call may have run there)"))

    def _fail_link(self, node: str, why: str) -> None:
        # (list(): one step under the GIL, while the ZeroMQ thread may pop answers)
        for call_id in [i for i, p in list(self.pending.items()) if p.node == node]:
            self._fail(call_id, NodeDown(f"{node}: {why} (the call may have run there)"))

    # --- events from the ZeroMQ thread ----------------------------------------------------------
    def _event(self, event: tuple) -> None:
        what = event[0]
        if what == "answer":
            self._answered(*event[1:])
        elif what == "request":
            self._request(*event[1:])
        elif what == "rtt":
            link = self.links.get(event[1])
            if link is not None:
                link.rtt = event[2]
        elif what == "up":
            self._up(*event[1:])
        elif what == "down":
            self._down(event[1], event[2], "down")
        elif what == "refused":
            self._down(event[1], event[2], "refused")
        elif what == "not_sent":
            _, node, call_id, code, why = event
            self._fail(call_id, WouldBlock(why) if code == "WouldBlock" else NodeDown(why))
        elif what == "intruder":
            self.intruders += 1
            if self.intruders in (1, 10, 100) or self.intruders % 1000 == 0:   # (it retries
                self.log.warning("peer_refused", why=event[1], times=self.intruders)   # often)

    def _up(self, node: str, incarnation: str, restarted: bool) -> None:
        link = self.links[node]
        if restarted:
            self._fail_link(node, "it restarted (a new incarnation)")
            self.log.warning("peer_restarted", node=node, incarnation=incarnation)
        if link.incarnation != incarnation:
            link.incarnations += 1
        link.state, link.since, link.why, link.incarnation = "up", time.time(), "", incarnation
        self.log.info("peer_up", node=node, incarnation=incarnation)
        self._unpark(link)

    def _down(self, node: str, why: str, state: str) -> None:
        link = self.links.get(node)
        if link is None:
            return
        if link.state != state or link.why != why:
            link.state, link.since, link.why = state, time.time(), why
            self.log.warning("peer_" + state, node=node, why=why)
        self._fail_link(node, why)
        parked, link.parked = link.parked, []   # (waiting for a connection that failed)
        for deferred, _ in parked:
            deferred.error(NodeDown(f"{node} is {state}: {why}"))

    # --- peers' requests ----------------------------------------------------------------------
    def _request(self, node: Any, rid: bytes, kind: bytes, header: bytes, body: bytes) -> None:
        link = self.links.get(node) if isinstance(node, str) else None
        try:
            fields = unpack(header)
        except IpcError:
            return
        if kind == b"C":
            self._serve_call(node, link, rid, fields, body)
        elif kind == b"S":
            self._serve_send(node, link, rid, fields, body)
        elif kind == b"K":
            self._serve_signal(node, link, rid, fields)

    def _answer(self, rid: bytes, call_id: int, error: IpcError | None = None,
                kind: bytes = b"E", body: bytes = b"") -> None:
        if error is not None:
            body = pack(error.to_body())
        self.zmq.command(b"back", rid, kind, pack([call_id]), body)

    def _serve_call(self, node: str, link: Link | None, rid: bytes, fields: Any,
                    body: bytes) -> None:
        try:
            call_id, src, target, timeout = fields
        except (TypeError, ValueError):
            return
        if link is not None:
            link.served += 1
        try:
            self.acl.check(node, target, self._public)
        except IpcError as exc:
            self._answer(rid, call_id, exc)
            return
        if self.inflight >= INFLIGHT:
            if len(self.waiting) >= MAX_WAITING:
                self._answer(rid, call_id, WouldBlock(
                    f"{self.conf.node}'s bridge has {MAX_WAITING} calls waiting; try again"))
                return
            self.waiting.append((node, rid, call_id, src, target, timeout, body))
            return
        self._call_local(node, rid, call_id, src, target, timeout, body)

    def _call_local(self, node: str, rid: bytes, call_id: int, src: int, target: str,
                    timeout: float, body: bytes, again: bool = False) -> None:
        args = {"node": node, "ep": src, "body": body}
        state: dict[str, Any] = {}

        def answered(msg) -> None:
            if state.pop("timer", None) is None:
                return   # (expired: answered already)
            state["timer_obj"].cancel()
            self._done_local()
            if msg.kind == ERROR and not again and _code(msg.body) == "NoSuchEndpoint":
                # the server restarted since we resolved its name: the call never ran
                # (the kernel refused it) — once more, to its new endpoint
                self.eps.pop(target, None)
                self._call_local(node, rid, call_id, src, target, timeout, body, again=True)
                return
            self.zmq.command(b"back", rid, b"R" if msg.kind == REPLY else b"E",
                             pack([call_id]), msg.body)

        def expired() -> None:
            if state.pop("timer", None) is None:
                return
            with contextlib.suppress(IpcError):
                self.runtime.forget(state["ep"], state["id"])
            self._done_local()
            self._answer(rid, call_id, Timeout(f"{target} on {self.conf.node} did not answer "
                                               f"in {timeout:g} s"))
        for attempt in range(2):
            try:
                ep = self._ep(target)
                state["ep"], state["id"] = ep, self.runtime.call_async(ep, VIA_OP, args,
                                                                       answered)
                break
            except NoSuchEndpoint as exc:
                self.eps.pop(target, None)
                if attempt:
                    self._answer(rid, call_id, exc)
                    return
            except IpcError as exc:   # (TooManyCalls, a full ring…)
                self._answer(rid, call_id, exc)
                return
        self.inflight += 1
        state["timer"] = True
        state["timer_obj"] = self.runtime.after(self._clamp(timeout), expired)

    @staticmethod
    def _clamp(timeout: Any) -> float:
        if isinstance(timeout, int | float) and not isinstance(timeout, bool):
            return min(max(float(timeout), 0.001), MAX_TIMEOUT)
        return REMOTE_TIMEOUT

    def _done_local(self) -> None:
        self.inflight -= 1
        while self.waiting and self.inflight < INFLIGHT:
            self._call_local(*self.waiting.pop(0))

    def _serve_send(self, node: str, link: Link | None, rid: bytes, fields: Any,
                    batch: bytes) -> None:
        """A batch of SENDs: each put in the server's ring; answered with how many."""
        try:
            call_id, src, target = fields
        except (TypeError, ValueError):
            return
        delivered = 0
        try:
            self.acl.check(node, target, self._public)
            bodies = unpack(batch)
            if not isinstance(bodies, list) or not all(isinstance(b, bytes) for b in bodies):
                raise InvalidArgument("send: a batch is a list of packed messages")
            if link is not None:
                link.served += len(bodies)
            ep = self._ep(target)
            for body in bodies:
                self.runtime.send(ep, VIA_OP, {"node": node, "ep": src, "body": body})
                delivered += 1
        except IpcError as exc:
            if isinstance(exc, NoSuchEndpoint):
                self.eps.pop(target, None)
            if delivered:
                exc = type(exc)(f"{exc.message} ({delivered} delivered first)")
            self._answer(rid, call_id, exc)
            return
        self._answer(rid, call_id, kind=b"R", body=pack(delivered))

    def _serve_signal(self, node: str, link: Link | None, rid: bytes, fields: Any) -> None:
        try:
            call_id, src, name, signal_name = fields
        except (TypeError, ValueError):
            return
        if link is not None:
            link.served += 1
        try:
            if not self.acl.may_signal(node):
                raise PermissionDenied(f"{node} may not signal processes on {self.conf.node} "
                                       "(its [remote] entry has no \"@signal\")")
            if not isinstance(name, str) or not isinstance(signal_name, str):
                raise InvalidArgument("signal: name and signal_name are strings")
            if name in NEVER:
                raise PermissionDenied(f"{name} on {self.conf.node} is never signalled from "
                                       "another node")
            procs = [p for p in self.runtime.call(KERNEL, "ps", {}) if p["name"] == name
                     and p["state"] == "running"]
            if not procs:
                raise NoSuchEndpoint(f"no process named {name!r} on {self.conf.node}")
            signum = _signum(signal_name)
            host = signal.Signals(signum).name.removeprefix("SIG") \
                if signum in set(signal.Signals) else ""
            for p in procs:
                if host in HOST_SIGNALS:   # the host's signal: a server stops cleanly
                    self.runtime.call(KERNEL, "kill", {"ep": p["ep"], "signal_name": host})
                else:                      # nanokernel's signals (handlers, defaults)
                    self.runtime.call(KERNEL, "signal", {"ep": p["ep"], "signum": signum})
            self._answer(rid, call_id, kind=b"R", body=pack(len(procs)))
        except IpcError as exc:
            self._answer(rid, call_id, exc)

    def _ep(self, name: str) -> int:
        ep = self.eps.get(name)
        if ep is None:
            if not isinstance(name, str):
                raise InvalidArgument("the target is a server's name")
            ep = self.eps[name] = resolve(name, runtime=self.runtime)
            forget(name)   # (our own cache is the one to drop on NoSuchEndpoint)
        return ep

    def _public(self, name: str) -> bool:
        """Is ``name`` a public server?  Asked of the kernel once per endpoint."""
        try:
            ep = self._ep(name)
            known = self.public.get(ep)
            if known is None:
                known = self.public[ep] = bool(
                    self.runtime.call(KERNEL, "whoami", {"ep": ep})["public"])
            return known
        except IpcError:
            return False


def _code(body: bytes) -> str | None:
    """The error code of an ERROR message's body."""
    try:
        return error_from_body(unpack(body)).code
    except IpcError:
        return None


def _signum(name: str) -> int:
    """"TERM", "SIGTERM", "15" -> 15 (InvalidArgument for anything else)."""
    if name.isdigit():
        return int(name)
    try:
        return int(signal.Signals["SIG" + name.upper().removeprefix("SIG")])
    except KeyError:
        raise InvalidArgument(f"signal: no signal {name!r}") from None


def main() -> None:
    Bridge.main()
