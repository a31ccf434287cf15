"""net — local stream sockets as a user-space server (AF_UNIX's stream sockets).

A process *listens* on a name of net's flat namespace; another *connects* to
that name and gets a stream, and the listener *accepts* the other end of it.
A connection is two pipes, one each way: two byte rings in shared memory
(libipc/pipe_region.py, csrc/nk_pipe.c — the pipe server's machinery).  The
kernel makes them for this server at connect (kernel/grants.py) and this
server holds them while the connection lives; each end's process maps them by
kernel grants, read-write, that this server makes for the endpoint of the
caller of connect, and of accept for the other end (ctx.sender) — worth
nothing to any other process.  Bytes move through them with no message; this
server only brokers: it makes and names connections, keeps each ring's reader
and writer counts (end of stream, broken pipe), and closes the ends of a
process that dies.  When an end closes its grants are revoked, and when both
have this server lets go of the rings (the kernel frees them once the ends'
processes have too): connections made one after another never pile up
against the kernel's limits on held regions and grants.

Semantics (POSIX's AF_UNIX stream sockets, as Linux implements them):
    listen      a name has one listener (AddressInUse); its backlog bounds the
                connections made but not yet accepted
    connect     no listener: ConnectionRefused; else answered as soon as the
                connection is in the backlog (the peer may send before accept);
                a full backlog makes it wait (a deferred reply) until an accept
                makes room, or WouldBlock (timeout 0), or Timeout at its deadline
    accept      waits (deferred) for a connection; WouldBlock / Timeout likewise
    shutdown    SHUT_WR: the peer reads what was sent, then end of stream;
                SHUT_RD: the peer's sends fail with BrokenPipe
    close       both; with bytes unread (or, for a listener, connections never
                accepted) the peer is *reset*: its recv raises ConnectionReset
                once, after the bytes that did arrive (Linux's ECONNRESET)
    a holder that dies: its listeners and streams are closed for it (the
                kernel's watch), its waiting accepts and connects dropped
    withdraw    libipc's word for an accept or connect its caller gave up on (its
                backstop timeout, a signal's Interrupted) — the kernel does not tell
                a server: the call's waiter is dropped, or the stream it was given
                after all is closed (the answer never reached anyone)

Tokens: every listener and stream end is a token, an unguessable number (a
capability, as pipe ends are).  Each has a holder — the process it is closed
for when that process dies: whoever called listen, connect or accept.

Ops (``token``: a listener's or a stream end's):
    listen(name, backlog=16)            → token
    accept(listener, timeout=None, ticket=0)  → stream (below)
    connect(name, timeout=None, ticket=0)     → stream {conn, rx, tx, peer, name}
                                          rx/tx: the caller's grants of the two rings
                                          (Region.grant: {grant, pid, size, nonce});
                                          ticket: the caller's number for this call
    withdraw(ticket)                    → None   (one-way: the call of that ticket is off)
    shutdown(conn, how)                 → None   how: 0 SHUT_RD, 1 SHUT_WR, 2 both
    ended(conn)                         → bool   the stream was reset (told once)
    close(token)                        → None   (libipc sends it: it never waits)
    stat(token)                         → a listener's or a stream end's state
    listeners()                         → [{name, ep, backlog, pending, accepting}]

If net dies every listener and connection dies with it: a waiting accept or
connect gets ServerDied at once, a stream's next send or recv ServerDied (its
rings watch this server's pid), and the restarted net knows no name and no
token — programs listen and connect again.  Nothing is written to disk.
"""

from __future__ import annotations

import math
import os
import re
from collections import OrderedDict, deque

from libipc import Deferred, InvalidArgument, Server, Timeout, TooManyCalls, WouldBlock, kernel, op
from libipc.errors import AddressInUse, ConnectionRefused
from libipc.limits import MAX_WAIT_S
from libipc.message import KERNEL, NOTIFY_EXIT
from libipc.pipe_region import Region, release_held

BUFFER = 128 * 1024          # bytes each direction of a connection holds (a power of two)
DEFAULT_BACKLOG = 16
MAX_BACKLOG = 128            # connections made, not yet accepted, per listener
MAX_LISTENERS = 256
MAX_CONNECTIONS = 256        # at once (each two rings of BUFFER bytes: 64 MiB at most)
MAX_WAITING = 1024           # accepts and connects waiting, every listener together
MAX_TIMEOUT = MAX_WAIT_S     # seconds an accept or connect may be told to wait (a day)
MAX_ANSWERED = 1024          # answered tickets remembered, for a withdraw that comes late
MAX_NAME = 64
NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]*")   # '@' is kept for name@node (remote nodes)
SHUT_RD, SHUT_WR, SHUT_RDWR = 0, 1, 2              # POSIX's values (socket.SHUT_*)


class Waiter:
    """An accept or a connect that waits: its deferred reply, its caller's ticket and
    its deadline's timer."""

    __slots__ = ("deferred", "holder", "ticket", "timer")

    def __init__(self, deferred: Deferred, holder: int, ticket: int) -> None:
        self.deferred, self.holder, self.ticket, self.timer = deferred, holder, ticket, None


class Listener:
    __slots__ = ("name", "token", "holder", "backlog", "pending", "accepts", "connects")

    def __init__(self, name: str, token: int, holder: int, backlog: int) -> None:
        self.name, self.token, self.holder, self.backlog = name, token, holder, backlog
        self.pending: deque[Side] = deque()     # server sides of connections not accepted
        self.accepts: deque[Waiter] = deque()   # accepts waiting for a connection
        self.connects: deque[Waiter] = deque()  # connects waiting for room in the backlog


class Side:
    """One end of a connection: the ring it reads (rx) and the one it writes (tx)."""

    __slots__ = ("token", "holder", "rx", "tx", "reading", "writing", "reset", "peer", "name",
                 "grants")

    def __init__(self, rx: Region, tx: Region, name: str) -> None:
        self.token: int | None = None   # None: a server side still in a backlog
        self.holder: int | None = None
        self.grants: list[int] = []     # the holder's grants of rx and tx (revoked at close)
        self.rx, self.tx, self.name = rx, tx, name
        self.reading = self.writing = True
        self.reset = False              # the peer closed with bytes unread: tell recv once
        self.peer: Side | None = None


class NetServer(Server):
    name = "net"

    def __init__(self) -> None:
        super().__init__()
        self.tokens: dict[int, Listener | Side] = {}
        self.names: dict[str, Listener] = {}
        self.connections = 0
        self.waiting = 0
        self.answered: OrderedDict[tuple[int, int], int] = OrderedDict()  # (ep, ticket) -> token

    def start(self) -> None:
        kernel().watch(on=True)   # a holder's death closes its listeners and streams

    # -- listeners ------------------------------------------------------------------
    @op
    def listen(self, ctx, name: str, backlog: int = DEFAULT_BACKLOG) -> int:
        """Listen on ``name`` (bind + listen): the caller holds the listener."""
        _check_name("listen", name)
        if not 1 <= backlog <= MAX_BACKLOG:
            raise InvalidArgument(f"listen: backlog must be 1 to {MAX_BACKLOG}, not {backlog}")
        if name in self.names:
            raise AddressInUse(f"listen: {name!r} has a listener already "
                               f"(endpoint {self.names[name].holder})")
        if len(self.names) >= MAX_LISTENERS:
            raise TooManyCalls(f"listen: {MAX_LISTENERS} listeners exist already")
        lst = Listener(name, self._new_token(), ctx.sender.endpoint, backlog)
        self.tokens[lst.token] = self.names[name] = lst
        self.log.info("listen", name=name, ep=lst.holder)
        return lst.token

    @op
    def accept(self, ctx, listener: int, timeout: float | None = None,
               ticket: int = 0) -> dict | None:
        """The next connection to the listener; waits for one (at most ``timeout``)."""
        lst = self._listener(listener)
        _check_timeout("accept", timeout)
        if lst.pending and not lst.accepts:
            return self._accepted(lst, lst.pending.popleft(), ctx.sender.endpoint, ticket)
        if timeout == 0:
            raise WouldBlock(f"accept: no connection to {lst.name!r} is waiting")
        self._wait(ctx, lst.accepts, timeout, ticket,
                   f"accept: no connection to {lst.name!r} came")
        return None

    # -- connections ------------------------------------------------------------------
    @op
    def connect(self, ctx, name: str, timeout: float | None = None,
                ticket: int = 0) -> dict | None:
        """A stream to the listener of ``name``, once it has room in its backlog."""
        _check_name("connect", name)
        _check_timeout("connect", timeout)
        lst = self.names.get(name)
        if lst is None:
            raise ConnectionRefused(f"connect: nobody listens on {name!r}")
        if lst.accepts or (len(lst.pending) < lst.backlog and not lst.connects):
            return self._connected(lst, ctx.sender.endpoint, ticket)
        if timeout == 0:
            raise WouldBlock(f"connect: the backlog of {name!r} is full")
        self._wait(ctx, lst.connects, timeout, ticket,
                   f"connect: the backlog of {name!r} stayed full")
        return None

    @op
    def withdraw(self, ctx, ticket: int) -> None:
        """The caller gave up on its accept or connect of ``ticket``: drop it if it
        still waits, else close the stream it was given (nobody got the answer)."""
        ep = ctx.sender.endpoint
        for lst in self.names.values():
            for queue in (lst.accepts, lst.connects):
                for w in queue:
                    if w.holder == ep and w.ticket == ticket:
                        queue.remove(w)
                        self._unwait(w)
                        return
        token = self.answered.pop((ep, ticket), None)
        thing = self.tokens.get(token)
        if isinstance(thing, Side) and thing.holder == ep:
            self._close_side(thing)

    @op
    def shutdown(self, ctx, conn: int, how: int) -> None:
        """Stop reading (0), writing (1) or both (2) on this end."""
        side = self._side(conn)
        if how not in (SHUT_RD, SHUT_WR, SHUT_RDWR):
            raise InvalidArgument(f"shutdown: how must be 0 (SHUT_RD), 1 (SHUT_WR) or "
                                  f"2 (SHUT_RDWR), not {how}")
        if how != SHUT_WR:
            side.reading = False
        if how != SHUT_RD:
            side.writing = False
        _publish(side)

    @op
    def ended(self, ctx, conn: int) -> bool:
        """Whether the stream was reset (the peer closed or died with bytes unread, or
        was never accepted); True once — recv asks at end of stream."""
        side = self._side(conn)
        reset, side.reset = side.reset, False
        return reset

    @op
    def close(self, ctx, token: int) -> None:
        """Close a listener or a stream end."""
        self._close(self._token(token))

    @op
    def stat(self, ctx, token: int) -> dict:
        thing = self._token(token)
        if isinstance(thing, Listener):
            return {"kind": "listener", "name": thing.name, "ep": thing.holder,
                    "backlog": thing.backlog, "pending": len(thing.pending),
                    "accepting": len(thing.accepts), "connecting": len(thing.connects)}
        peer = thing.peer
        return {"kind": "stream", "name": thing.name, "ep": thing.holder,
                "peer": peer.holder if peer else None, "capacity": thing.rx.capacity,
                "rx_buffered": thing.rx.buffered(), "tx_buffered": thing.tx.buffered(),
                "reading": thing.reading, "writing": thing.writing,
                "peer_reading": bool(peer and peer.reading),
                "peer_writing": bool(peer and peer.writing)}

    @op
    def listeners(self, ctx) -> list:
        return [{"name": lst.name, "ep": lst.holder, "backlog": lst.backlog,
                 "pending": len(lst.pending), "accepting": len(lst.accepts)}
                for lst in sorted(self.names.values(), key=lambda lst: lst.name)]

    # -- making connections -----------------------------------------------------------
    def _connected(self, lst: Listener, client_ep: int, ticket: int) -> dict:
        """A new connection to ``lst``: given to a waiting accept, or queued in its
        backlog.  Returns the client's stream."""
        client, server = self._new_connection(lst.name)
        try:
            stream = self._stream(client, client_ep, lst.holder)
        except TooManyCalls:
            self._drop_connection(client, server)
            raise
        self._give(client, client_ep, ticket, stream)
        if lst.accepts:
            w = lst.accepts.popleft()
            self._unwait(w)
            try:
                w.deferred.reply(self._accepted(lst, server, w.holder, w.ticket))
            except TooManyCalls as exc:   # (the client is reset: never accepted)
                w.deferred.error(exc)
        else:
            lst.pending.append(server)
        return stream

    def _accepted(self, lst: Listener, server: Side, holder: int, ticket: int) -> dict:
        try:
            stream = self._stream(server, holder, server.peer.holder if server.peer else None)
        except TooManyCalls:
            self._close_side(server, reset=True)   # its client is reset, as if never accepted
            self._admit_connects(lst)
            raise
        self._give(server, holder, ticket, stream)
        self._admit_connects(lst)
        return stream

    def _stream(self, side: Side, holder: int, peer_ep: int | None) -> dict:
        """What ``holder`` is answered for ``side``: its token comes next (_give); here
        the two rings are granted to it (TooManyCalls: the kernel would not)."""
        rx, tx = side.rx.grant(holder), side.tx.grant(holder)
        side.grants = [info["grant"] for info in (rx, tx) if info is not None]
        if rx is None or tx is None:
            _revoke(side)
            raise TooManyCalls(f"{side.name!r}: the kernel grants no more of a "
                               "connection's buffers")
        return {"conn": None, "rx": rx, "tx": tx, "peer": peer_ep, "name": side.name}

    def _give(self, side: Side, holder: int, ticket: int, stream: dict) -> None:
        """A token for ``side``, held by ``holder``; remembered under the call's ticket
        for a withdraw that may follow (at most MAX_ANSWERED, the oldest forgotten)."""
        side.token, side.holder = self._new_token(), holder
        self.tokens[side.token] = side
        stream["conn"] = side.token
        if ticket:
            self.answered[(holder, ticket)] = side.token
            if len(self.answered) > MAX_ANSWERED:
                self.answered.popitem(last=False)

    def _admit_connects(self, lst: Listener) -> None:
        """Connects waiting on a full backlog, while it has room (first come first)."""
        while lst.connects and len(lst.pending) < lst.backlog:
            w = lst.connects.popleft()
            self._unwait(w)
            try:
                w.deferred.reply(self._connected(lst, w.holder, w.ticket))
            except TooManyCalls as exc:
                w.deferred.error(exc)

    def _new_connection(self, name: str) -> tuple[Side, Side]:
        if self.connections >= MAX_CONNECTIONS:
            raise TooManyCalls(f"connect: {MAX_CONNECTIONS} connections are open already")
        up = Region.create(BUFFER)     # client → server
        down = Region.create(BUFFER)   # server → client
        if not (up.shared and down.shared):   # the kernel's limits: no region to be had
            up.close()
            down.close()
            release_held()
            raise TooManyCalls("connect: no shared memory for a connection's buffers")
        client, server = Side(down, up, name), Side(up, down, name)
        client.peer, server.peer = server, client
        for region in (up, down):
            region.set_ends(1, 1)
        self.connections += 1
        return client, server

    def _drop_connection(self, client: Side, server: Side) -> None:
        """A connection nobody was told of: gone at once."""
        self.connections -= 1
        for region in (client.rx, client.tx):
            region.close()
        release_held()

    def _token(self, token: int) -> Listener | Side:
        thing = self.tokens.get(token)
        if thing is None:
            raise InvalidArgument("no such socket (closed, or the net server restarted)")
        return thing

    def _listener(self, token: int) -> Listener:
        thing = self._token(token)
        if not isinstance(thing, Listener):
            raise InvalidArgument("this is a stream, not a listener")
        return thing

    def _side(self, token: int) -> Side:
        thing = self._token(token)
        if not isinstance(thing, Side):
            raise InvalidArgument("this is a listener, not a stream")
        return thing

    def _new_token(self) -> int:
        token = _random_token()
        while token in self.tokens:
            token = _random_token()
        return token

    # -- waiting ------------------------------------------------------------------------
    def _wait(self, ctx, queue: deque, timeout: float | None, ticket: int, why: str) -> None:
        if self.waiting >= MAX_WAITING:
            raise TooManyCalls(f"{MAX_WAITING} accepts and connects are waiting already")
        w = Waiter(ctx.defer(), ctx.sender.endpoint, ticket)
        if timeout is not None:
            w.timer = self.runtime.after(timeout, lambda: self._expire(queue, w, why))
        queue.append(w)
        self.waiting += 1

    def _unwait(self, w: Waiter) -> None:
        self.waiting -= 1
        if w.timer is not None:
            w.timer.cancel()

    def _expire(self, queue: deque, w: Waiter, why: str) -> None:
        if w in queue:
            queue.remove(w)
            self.waiting -= 1
            w.deferred.error(Timeout(why))

    # -- closing ------------------------------------------------------------------------
    def _close(self, thing: Listener | Side) -> None:
        if isinstance(thing, Listener):
            self._close_listener(thing)
        else:
            self._close_side(thing)

    def _close_listener(self, lst: Listener) -> None:
        del self.tokens[lst.token]
        del self.names[lst.name]
        for queue, error in ((lst.accepts, InvalidArgument("accept: the listener was closed")),
                             (lst.connects, ConnectionRefused(
                                 f"connect: {lst.name!r} stopped listening"))):
            while queue:
                w = queue.popleft()
                self._unwait(w)
                w.deferred.error(error)
        while lst.pending:   # connections never accepted: their clients are reset
            self._close_side(lst.pending.popleft(), reset=True)
        self.log.info("unlisten", name=lst.name, ep=lst.holder)

    def _close_side(self, side: Side, reset: bool = False) -> None:
        """Close one end: the peer reads what is left, then end of stream (reset if
        this end leaves bytes unread); the peer's sends get BrokenPipe."""
        if side.token is not None:
            del self.tokens[side.token]
            side.token = None
        peer = side.peer
        if reset or side.rx.buffered():
            peer.reset = True
        side.reading = side.writing = False
        _publish(side)
        side.rx.drop()   # nobody will read it
        _revoke(side)    # its process maps them already, or never will
        side.peer = None
        if peer.peer is None:   # both ends closed: the connection is gone
            self.connections -= 1
            side.rx.close()
            side.tx.close()   # (the ends that map them keep their mappings until they close)
            release_held()    # this server holds them no more

    def on_notify(self, src: int, bits: int) -> None:
        if src == KERNEL and bits & NOTIFY_EXIT:
            for record in kernel().wait():
                self._forget(record["ep"])

    def _forget(self, endpoint: int) -> None:
        """A process died: drop its waiting calls, close what it held."""
        for lst in list(self.names.values()):
            for queue in (lst.accepts, lst.connects):
                for w in [w for w in queue if w.holder == endpoint]:
                    queue.remove(w)
                    self._unwait(w)
        for thing in [t for t in self.tokens.values() if t.holder == endpoint]:
            self._close(thing)
        for key in [k for k in self.answered if k[0] == endpoint]:
            del self.answered[key]
        for lst in list(self.names.values()):
            self._admit_connects(lst)   # (a dead connect's place in the queue is free)


def _publish(side: Side) -> None:
    """Tell the two rings who still reads and writes them (wakes their sleepers)."""
    peer = side.peer
    side.tx.set_ends(int(bool(peer and peer.reading)), int(side.writing))
    side.rx.set_ends(int(side.reading), int(bool(peer and peer.writing)))


def _revoke(side: Side) -> None:
    """The side's grants can map nothing more (mappings made with them stay)."""
    for grant in side.grants:
        Region.revoke(grant)
    side.grants = []


def _check_name(what: str, name: str) -> None:
    if "@" in name:
        raise InvalidArgument(f"{what}: {name[:MAX_NAME]!r}: names of other nodes "
                              f"(name@node) are not supported yet")
    if not (0 < len(name) <= MAX_NAME and NAME.fullmatch(name)):
        raise InvalidArgument(f"{what}: a name is 1 to {MAX_NAME} letters, digits, '.', '_' "
                              f"or '-' (a letter or digit first), not {name[:MAX_NAME]!r}")


def _check_timeout(what: str, timeout: float | None) -> None:
    if timeout is not None and not (math.isfinite(timeout) and 0 <= timeout <= MAX_TIMEOUT):
        raise InvalidArgument(f"{what}: timeout must be None or 0 to {MAX_TIMEOUT:.0f} s, "
                              f"not {timeout}")


def _random_token() -> int:
    """62 random bits from the OS (unguessable: a token is a capability)."""
    return int.from_bytes(os.urandom(8), "little") >> 2 | 1


if __name__ == "__main__":
    NetServer.main()
