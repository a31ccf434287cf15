"""libipc.sockets — local stream sockets: ``listen``, ``connect``, and the streams
between them (servers/net.py keeps the names and the connections).

    with libipc.listen("echo") as listener:      # one process
        stream = listener.accept()               # waits for a connection
        while data := stream.recv(4096):         # b"": end of stream
            stream.sendall(data)
        stream.close()

    stream = libipc.connect("echo")              # another one
    stream.sendall(b"hello")
    stream.shutdown(libipc.sockets.SHUT_WR)       # the server sees end of stream
    stream.recv(4096)                            # b"hello"

A stream moves its bytes through two rings in shared memory, one each way, that
both ends map (libipc/pipe_region.py): ``send`` and ``recv`` are no message at
all.  The rings are the kernel's shared memory (libipc/shm.py): net's answer to
connect or accept carries grants of them made for the caller's endpoint alone,
which the stream maps with the kernel's ``shm_map``; at close the process lets
go of its hold of them.  listen, connect, accept, shutdown and close are calls
to the net server.

Errors (each an IpcError with a stable code): ConnectionRefused (nobody listens
on the name), AddressInUse (somebody does, at listen), BrokenPipe (send after
the peer closed, shut down its reading, or died — no SIGPIPE, as with
MSG_NOSIGNAL), ConnectionReset (recv, once: the peer left bytes it never read,
or the listener went away before accepting), WouldBlock (non-blocking, or
timeout 0: it would have waited), Timeout, ServerDied (the net server died:
every stream and listener died with it), InvalidArgument (bad arguments, a
closed stream).

Waiting: ``send`` waits while the peer's ring is full (back-pressure), ``recv``
while its own is empty, with no time limit — set ``nonblock`` (or
``setblocking(False)``) for WouldBlock instead; ``accept`` and ``connect`` take a
timeout.  A handler of a caught signal interrupts a wait (Interrupted, see
libipc/signals.py); an accept or connect cut short that way is withdrawn at net.
"""

from __future__ import annotations

import contextlib
import os
import time
from typing import Any

from libipc.client import Proxy, lookup
from libipc.errors import BrokenPipe, ConnectionReset, InvalidArgument, IpcError, Timeout
from libipc.limits import MAX_WAIT_S
from libipc.pipe_region import Region, release_held

SHUT_RD, SHUT_WR, SHUT_RDWR = 0, 1, 2   # shutdown's ``how`` (the values of socket.SHUT_*)
DEFAULT_BACKLOG = 16
CONTROL_TIMEOUT_S = 10.0   # listen, shutdown, close, stat: answered at once by a live server
SLACK_S = 2.0              # an accept or connect with a timeout: the server says Timeout at
                           # its deadline; the call itself gives up this much later (hung net)


_CONTROL = object()


def _net(timeout: float | None | object = _CONTROL) -> Proxy:
    """The net server; calls give up after ``timeout`` (CONTROL_TIMEOUT_S unless told)."""
    return lookup("net", timeout=CONTROL_TIMEOUT_S if timeout is _CONTROL else timeout)


def _waiting(op: str, timeout: float | None, **args: Any) -> Any:
    """Call ``op``, which net may defer until ``timeout`` (None: no limit; net answers
    Timeout itself at the deadline).  A call given up on here — its backstop,
    timeout + SLACK_S, or a signal handler's Interrupted — is withdrawn: the kernel
    does not tell net, so libipc does (net drops the waiter, or closes the stream it
    was given after all)."""
    if timeout is None:
        backstop = None
    elif not isinstance(timeout, int | float) or isinstance(timeout, bool):
        raise InvalidArgument(f"{op}: timeout must be a number of seconds or None, "
                              f"not {type(timeout).__name__}")
    elif not 0 <= timeout <= MAX_WAIT_S:   # (net says what is wrong with it)
        backstop = CONTROL_TIMEOUT_S
    else:
        backstop = timeout + SLACK_S
    net = _net(backstop)
    ticket = int.from_bytes(os.urandom(8), "little") >> 2 | 1
    started = time.monotonic()
    try:
        return net.call(op, timeout=timeout, ticket=ticket, **args)
    except Timeout:
        if backstop is not None and time.monotonic() - started >= backstop:   # ours
            _withdraw(net, ticket)
            raise Timeout(f"{op}: the net server did not answer within {backstop:g} s") \
                from None
        raise
    except IpcError as exc:
        if exc.code == "Interrupted":
            _withdraw(net, ticket)
        raise
    except BaseException:   # a signal handler raised (KeyboardInterrupt, …)
        _withdraw(net, ticket)
        raise


def _withdraw(net: Proxy, ticket: int) -> None:
    from libipc.runtime import current
    with contextlib.suppress(IpcError):   # (net gone, or its route full: nothing to do)
        current().send(net.endpoint, "withdraw", {"ticket": ticket}, nonblock=True)


def _map(info: Any) -> Region:
    """Map one of a stream's rings (the net server's description of it)."""
    from libipc.runtime import _hosted, current
    if _hosted.get() is not None:
        raise InvalidArgument("sockets: a server hosted in the kernel process cannot wait "
                              "on a stream (run it as a process)")
    release_held()   # (holds of rings unmapped since: let go of them first)
    region = Region.map(info)
    if region is None:
        raise InvalidArgument("sockets: cannot map the stream's buffers (the kernel "
                              "refused net's grant: not this process's, or a limit)")
    ring = getattr(current().transport, "signal_ring", None)
    if ring is not None:   # a signal for a handler ends a wait in the ring
        region.watch_signals(ring)
    return region


def _close_token(token: int) -> None:
    """Tell net to close ``token`` — a one-way message: close never waits, and when net
    is gone there is nothing left to close."""
    with contextlib.suppress(IpcError):
        _net().send("close", token=token)


class Stream:
    """One end of a connection: bytes in order, both ways, until each side closes."""

    def __init__(self, info: dict) -> None:
        self.token: int = info["conn"]
        self.peer: int = info["peer"]     # the endpoint at the other end (kernel-stamped)
        self.name: str = info["name"]     # the name it was connected to
        self.nonblock = False
        self._rx = self._tx = None
        self._closed = self._eof = self._shut_rd = self._shut_wr = False
        try:
            self._rx, self._tx = _map(info["rx"]), _map(info["tx"])
        except BaseException:
            self.close()
            raise

    # -- data ----------------------------------------------------------------------
    def send(self, data) -> int:
        """Send bytes; returns how many went — all of them, unless non-blocking (then
        what fits; WouldBlock if nothing does).  Waits while the peer's ring is full.
        A write of at most 4096 bytes goes in whole or not at all."""
        view = _bytes(data, "send")
        tx = self._writable()
        if not len(view):
            return 0
        if self.nonblock:
            return tx.write(view, True)
        sent = tx.write(view)
        while sent < len(view):   # cut short: the next write says why (or goes on)
            sent += tx.write(view[sent:])
        return sent

    def sendall(self, data) -> None:
        """Send every byte (on a non-blocking stream WouldBlock when room runs out,
        some bytes having gone — as Python's socket.sendall)."""
        view = _bytes(data, "sendall")
        sent = 0
        while sent < len(view):
            sent += self.send(view[sent:])

    def recv(self, n: int) -> bytes:
        """At most ``n`` bytes, what is there; waits while nothing is.  b"" is end of
        stream: the peer shut down writing, closed or died, and every byte it sent
        has been read.  ConnectionReset (once, then b"") if the peer was reset."""
        n = _count(n, "recv")
        rx = self._readable()
        if rx is None or not n:
            return b""
        data = rx.read(n, self.nonblock)
        if not data:
            self._ended()
        return data

    def recv_into(self, buffer, nbytes: int = 0) -> int:
        """Like recv, into a writable buffer (at most ``nbytes``, 0: its size)."""
        try:
            view = memoryview(buffer).cast("B")
        except TypeError:
            raise InvalidArgument(f"recv_into: a writable buffer, not "
                                  f"{type(buffer).__name__}") from None
        if view.readonly:
            raise InvalidArgument("recv_into: the buffer is read-only")
        nbytes = _count(nbytes, "recv_into") or len(view)
        view = view[:nbytes]
        rx = self._readable()
        if rx is None or not len(view):
            return 0
        got = rx.readinto(view, self.nonblock)
        if not got:
            self._ended()
        return got

    def _readable(self) -> Region | None:
        self._check_open("recv")
        return None if self._eof or self._shut_rd else self._rx

    def _writable(self) -> Region:
        self._check_open("send")
        if self._shut_wr:
            raise BrokenPipe("send: this stream was shut down for writing")
        return self._tx

    def _ended(self) -> None:
        """End of stream: ask net once whether it came from a reset."""
        self._eof = True
        try:
            reset = _net().ended(conn=self.token)
        except IpcError:
            return   # (net gone: there is nobody to say; end of stream it is)
        if reset:
            raise ConnectionReset("recv: the peer closed or died with bytes unread, or "
                                  "was never accepted")

    # -- control --------------------------------------------------------------------
    def setblocking(self, flag: bool) -> None:
        self.nonblock = not flag

    def shutdown(self, how: int) -> None:
        """SHUT_RD: recv gives b"" and the peer's sends BrokenPipe; SHUT_WR: the peer
        reads what was sent, then end of stream; SHUT_RDWR: both."""
        self._check_open("shutdown")
        if how not in (SHUT_RD, SHUT_WR, SHUT_RDWR) or isinstance(how, bool):
            raise InvalidArgument(f"shutdown: how must be SHUT_RD, SHUT_WR or SHUT_RDWR, "
                                  f"not {how!r}")
        _net().shutdown(conn=self.token, how=how)
        self._shut_rd = self._shut_rd or how != SHUT_WR
        self._shut_wr = self._shut_wr or how != SHUT_RD

    def stat(self) -> dict:
        """net's view: buffered bytes each way, who still reads and writes."""
        self._check_open("stat")
        return _net().stat(token=self.token)

    def close(self) -> None:
        """Close this end (never waits).  Bytes left unread reset the peer."""
        if not self._closed:
            self._closed = True
            self._rx = self._tx = None   # unmapped once no call is inside them
            _close_token(self.token)
            release_held()               # this process holds them no more

    @property
    def closed(self) -> bool:
        return self._closed

    def _check_open(self, what: str) -> None:
        if self._closed:
            raise InvalidArgument(f"{what}: the stream is closed")

    def __enter__(self) -> Stream:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def __repr__(self) -> str:
        state = "closed" if self._closed else f"peer {self.peer}"
        return f"<Stream {self.name!r} {state}>"


class Listener:
    """A name others connect to; ``accept`` gives their streams, oldest first."""

    def __init__(self, name: str, token: int, backlog: int) -> None:
        self.name, self.token, self.backlog = name, token, backlog
        self.nonblock = False   # accept: WouldBlock when no connection waits
        self._closed = False

    def accept(self, timeout: float | None = None) -> Stream:
        """The next connection's stream; waits for one (at most ``timeout`` seconds:
        Timeout; 0 or a non-blocking listener: WouldBlock)."""
        if self._closed:
            raise InvalidArgument("accept: the listener is closed")
        if self.nonblock:
            timeout = 0
        return Stream(_waiting("accept", timeout, listener=self.token))

    def setblocking(self, flag: bool) -> None:
        self.nonblock = not flag

    def stat(self) -> dict:
        return _net().stat(token=self.token)

    def close(self) -> None:
        """Stop listening (never waits): the name is free; connections not accepted
        yet are reset."""
        if not self._closed:
            self._closed = True
            _close_token(self.token)

    @property
    def closed(self) -> bool:
        return self._closed

    def __enter__(self) -> Listener:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def __repr__(self) -> str:
        return f"<Listener {self.name!r}{' closed' if self._closed else ''}>"


def listen(name: str, backlog: int = DEFAULT_BACKLOG) -> Listener:
    """Listen on ``name``: AddressInUse if another listener has it.  The name is free
    again at ``close`` or when this process exits."""
    token = _net().listen(name=name, backlog=backlog)
    return Listener(name, token, backlog)


def connect(name: str, timeout: float | None = None) -> Stream:
    """A stream to the listener of ``name``: ConnectionRefused if there is none.
    Answered once the connection is in the listener's backlog; while that is full it
    waits (at most ``timeout``: Timeout; 0: WouldBlock)."""
    return Stream(_waiting("connect", timeout, name=name))


def _bytes(data, what: str) -> memoryview:
    if isinstance(data, str):
        raise InvalidArgument(f"{what}: bytes, not str (encode it)")
    try:
        return memoryview(data).cast("B")
    except TypeError:
        raise InvalidArgument(f"{what}: a bytes-like object, not "
                              f"{type(data).__name__}") from None


def _count(n, what: str) -> int:
    if not isinstance(n, int) or isinstance(n, bool) or n < 0:
        raise InvalidArgument(f"{what}: a byte count (an int >= 0), not {n!r:.40}")
    return n
