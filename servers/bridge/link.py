"""The bridge's ZeroMQ side: one thread that owns every socket (ZeroMQ sockets are
not thread-safe), while the bridge's main thread does all nanokernel IPC.

    inbound   ROUTER bound to --listen: peers' requests arrive here, answers go back
    outbound  a DEALER per --peer, connected to its address: our requests, its answers
    zap       REP on inproc://zeromq.zap.01: ZeroMQ asks it whether a CURVE key may
              connect; yes only for a key in --keys DIR, and the answer's user id is
              that key's node name — so every inbound message says (its "User-Id")
              which node sent it, and no node can speak for another
    commands  a deque and an eventfd from the main thread: what to send
              (``Links.command``)
    monitors  a DEALER's connection events: handshake failed (our key not trusted
              there), disconnected (the peer died: every call over it fails at once)

Liveness: a ping per peer every PING_S, answered by the peer's ZeroMQ thread with its
incarnation (a random id made at each bridge start); no answer for DOWN_AFTER_S and the
peer is down; an answer with a new incarnation means the peer restarted.  ZeroMQ's own
ZMTP heartbeats close a silent TCP link too.  Outbound sockets are IMMEDIATE (nothing
queued for a peer that is not connected: a call to a down peer fails, it is not sent
later behind the caller's back), and a full queue (SNDHWM) is a refusal the caller
sees as WouldBlock — never a silent drop.

On the wire each message is ONE frame, msgpack [kind, header, body] (CURVE seals
each frame: one costs less than three); headers are msgpack too:

    request   [kind, header, body]     C call     [id, src_ep, target, timeout_s]
                                       S sends    [id, src_ep, target]; body: the
                                                  batch (msgpack list of bodies)
                                       K signal   [id, src_ep, name, signal_name]
                                       P ping     [t]
    answer    [kind, header, body]     R reply / E error [id];  p pong [t, incarnation]

Events go to the main thread through ``deliver(event)`` (the bridge posts them to its
runtime): ("up", peer, incarnation, restarted), ("down", peer, why), ("answer", peer,
kind, header, body), ("request", peer, rid, kind, header, body), ("refused", peer,
why), ("not_sent", peer, id, error_code, why), ("rtt", peer, seconds),
("intruder", why).
"""

from __future__ import annotations

import contextlib
import os
import threading
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import msgpack
import zmq
from zmq.utils.monitor import parse_monitor_message

PING_S = 0.5              # a ping per peer this often
DOWN_AFTER_S = 3.0        # no answer this long: the peer is down
HWM = 10_000              # messages queued per link before a send is refused
ZMTP_HEARTBEAT_MS = 1000  # ZeroMQ's own heartbeats (a silent TCP link is closed)
ZAP = "inproc://zeromq.zap.01"
DOMAIN = "nanokernel"

pack = msgpack.packb
unpack = msgpack.unpackb


@dataclass
class Peer:
    """One outbound link, as the ZeroMQ thread sees it."""
    name: str
    address: str
    server_key: bytes | None
    sock: Any = None
    monitor: Any = None
    up: bool = False
    incarnation: str | None = None
    ping_at: float | None = None    # the last ping sent, then
    last_pong: float = 0.0
    refused: str | None = None
    backlog: deque = field(default_factory=deque)


class Links(threading.Thread):
    """The ZeroMQ thread of one bridge."""

    def __init__(self, node: str, incarnation: str, listen: str | None,
                 peers: dict[str, str], keys: tuple[bytes, bytes] | None,
                 trusted: dict[bytes, str], peer_keys: dict[str, bytes | None],
                 deliver: Callable[[tuple], None]) -> None:
        super().__init__(name="bridge-zmq", daemon=True)
        self.node, self.incarnation = node, incarnation
        self.listen, self.keys, self.trusted = listen, keys, trusted
        self.deliver = deliver
        self.ctx = zmq.Context()
        self.peers = {name: Peer(name, addr, peer_keys.get(name)) for name, addr in peers.items()}
        self.stopping = False
        self.ready = threading.Event()
        self.error: str | None = None
        self.commands: deque = deque()                   # from the main thread …
        self.wakeup = os.eventfd(0, os.EFD_NONBLOCK)     # … and its doorbell
        self.inbound = None
        self.replies: deque = deque()   # answers the ROUTER could not take yet
        # answers to our calls, handled on this thread when set (the bridge's
        # ``_answered``: it only pops its call and puts the reply on the ring, whose
        # sends are locked) — the main thread is not woken for them
        self.answer: Callable[[str, bytes, bytes, bytes], None] | None = None

    # --- the main thread's side -------------------------------------------------------
    def command(self, *frames: bytes) -> None:
        """Hand frames to the ZeroMQ thread (any thread): a deque and an eventfd the
        thread's poll watches — a tenth of what an inproc ZeroMQ pipe cost a message."""
        self.commands.append(frames)
        os.eventfd_write(self.wakeup, 1)

    def stop(self) -> None:
        self.stopping = True
        with contextlib.suppress(OSError):
            self.command(b"stop")
        self.join(timeout=2.0)

    # --- the ZeroMQ thread --------------------------------------------------------------
    def run(self) -> None:
        try:
            self._open()
        except zmq.ZMQError as exc:
            self.error = f"cannot listen on {self.listen}: {exc}"
            self.ready.set()
            return
        self.ready.set()
        while not self.stopping:
            try:
                self._once()
            except zmq.ContextTerminated:
                return
        for sock in self._sockets():
            sock.close(linger=0)
        with contextlib.suppress(OSError):
            os.close(self.wakeup)

    def _sockets(self) -> list:
        socks = [self.zap]
        if self.inbound is not None:
            socks.append(self.inbound)
        for p in self.peers.values():
            socks += [s for s in (p.sock, p.monitor) if s is not None]
        return socks

    def _open(self) -> None:
        self.zap = self.ctx.socket(zmq.REP)
        self.zap.bind(ZAP)
        self.poller = zmq.Poller()
        self.poller.register(self.wakeup, zmq.POLLIN)
        self.poller.register(self.zap, zmq.POLLIN)
        if self.listen:
            sock = self.ctx.socket(zmq.ROUTER)
            self._common(sock)
            sock.setsockopt(zmq.ROUTER_MANDATORY, 1)
            if self.keys is not None:
                sock.curve_publickey, sock.curve_secretkey = self.keys
                sock.curve_server = True
            sock.zap_domain = DOMAIN.encode()   # (keys or not: ZAP decides; no keys: nobody)
            sock.bind(self.listen)
            self.inbound = sock
            self.poller.register(sock, zmq.POLLIN)
        for peer in self.peers.values():
            self._connect(peer)

    @staticmethod
    def _common(sock) -> None:
        sock.setsockopt(zmq.LINGER, 0)
        sock.setsockopt(zmq.SNDHWM, HWM)
        sock.setsockopt(zmq.RCVHWM, HWM)
        sock.setsockopt(zmq.HEARTBEAT_IVL, ZMTP_HEARTBEAT_MS)
        sock.setsockopt(zmq.HEARTBEAT_TIMEOUT, 3 * ZMTP_HEARTBEAT_MS)

    def _connect(self, peer: Peer) -> None:
        if self.keys is None or peer.server_key is None:
            peer.refused = ("no --keys: a node without keys links to no peer"
                            if self.keys is None else
                            f"no public key for {peer.name} in the key directory")
            self.deliver(("refused", peer.name, peer.refused))
            return
        sock = self.ctx.socket(zmq.DEALER)
        self._common(sock)
        sock.setsockopt(zmq.IMMEDIATE, 1)
        sock.setsockopt(zmq.RECONNECT_IVL, 100)
        sock.setsockopt(zmq.RECONNECT_IVL_MAX, 1000)
        sock.curve_publickey, sock.curve_secretkey = self.keys
        sock.curve_serverkey = peer.server_key
        peer.monitor = sock.get_monitor_socket(
            zmq.EVENT_HANDSHAKE_SUCCEEDED | zmq.EVENT_DISCONNECTED
            | zmq.EVENT_HANDSHAKE_FAILED_AUTH | zmq.EVENT_HANDSHAKE_FAILED_PROTOCOL
            | zmq.EVENT_HANDSHAKE_FAILED_NO_DETAIL)
        sock.connect(peer.address)
        peer.sock = sock
        self.poller.register(sock, zmq.POLLIN)
        self.poller.register(peer.monitor, zmq.POLLIN)

    def _once(self) -> None:
        now = time.monotonic()
        timeout = max(0.0, self._next_tick(now) - now)
        ready = dict(self.poller.poll(timeout * 1000))
        if self.wakeup in ready or self.commands:
            self._commands()
        if self.zap in ready:
            self._zap()
        if self.inbound is not None and self.inbound in ready:
            self._inbound()
        for peer in self.peers.values():
            if peer.monitor is not None and peer.monitor in ready:
                self._monitor(peer)
            if peer.sock is not None and peer.sock in ready:
                self._answers(peer)
        self._tick(time.monotonic())
        if self.replies:
            self._flush_replies()

    # --- commands from the main thread ----------------------------------------------------
    def _commands(self) -> None:
        with contextlib.suppress(BlockingIOError):
            os.eventfd_read(self.wakeup)
        for _ in range(1000):
            try:
                frames = self.commands.popleft()
            except IndexError:
                return
            what = frames[0]
            if what == b"out":       # [out, peer, kind, header, body, id]
                self._out(frames[1].decode(), frames[2], frames[3], frames[4], frames[5])
            elif what == b"back":    # [back, rid, kind, header, body]: an answer
                self.replies.append([frames[1], pack([frames[2], frames[3], frames[4]])])
                self._flush_replies()
            elif what == b"stop":
                self.stopping = True
                return

    def _out(self, name: str, kind: bytes, header: bytes, body: bytes, ident: bytes) -> None:
        peer = self.peers.get(name)
        code, why = self._send(peer, pack([kind, header, body]))
        if code is not None:
            self.deliver(("not_sent", name, int(ident), code, why))

    def _send(self, peer: Peer | None, payload: bytes) -> tuple[str | None, str]:
        if peer is None or peer.sock is None:
            return "NodeDown", (peer.refused if peer is not None else "no such peer")
        if not peer.up:
            return "NodeDown", f"{peer.name} is down"
        try:
            peer.sock.send(payload, zmq.NOBLOCK)
            return None, ""
        except zmq.Again:
            # IMMEDIATE: "again" is also what a link without a connection says — the
            # monitor may hold the disconnection not read yet
            if peer.monitor is not None:
                self._monitor(peer)
            if not peer.up:
                return "NodeDown", f"{peer.name} is down"
            return "WouldBlock", f"the link to {peer.name} is full ({HWM} messages queued)"

    def _flush_replies(self) -> None:
        while self.replies:
            try:
                self.inbound.send_multipart(self.replies[0], zmq.NOBLOCK)
            except zmq.Again:
                return   # (its queue is full: again at the next turn)
            except zmq.ZMQError:
                pass     # (EHOSTUNREACH: that peer went away; its calls failed there)
            self.replies.popleft()

    # --- ZAP: who may connect ----------------------------------------------------------------
    def _zap(self) -> None:
        frames = self.zap.recv_multipart()
        version, request_id = frames[0], frames[1]
        mechanism = frames[5] if len(frames) > 5 else b""
        node = None
        if mechanism == b"CURVE" and len(frames) > 6:
            node = self.trusted.get(zmq.utils.z85.encode(frames[6]))
        if node is None:
            why = "no keys" if self.keys is None else "unknown key"
            self.deliver(("intruder", why))
            self.zap.send_multipart([version, request_id, b"400", why.encode(), b"", b""])
        else:
            self.zap.send_multipart([version, request_id, b"200", b"OK", node.encode(), b""])

    # --- inbound requests --------------------------------------------------------------------
    def _inbound(self) -> None:
        for _ in range(1000):
            try:
                rid = self.inbound.recv(zmq.NOBLOCK)
                frame = self.inbound.recv(zmq.NOBLOCK, copy=False) if self.inbound.rcvmore \
                    else None
            except zmq.Again:
                return
            while self.inbound.rcvmore:   # (more frames than ours: read and dropped)
                self.inbound.recv()
            try:
                kind, header, body = unpack(frame.bytes)
            except (AttributeError, ValueError, TypeError, msgpack.UnpackException):
                continue   # (not ours: dropped, the sender is a trusted node gone wrong)
            if kind == b"P":   # a ping: answered here, by this thread
                t = unpack(header)[0]
                self.replies.append([rid, pack([b"p", pack([t, self.incarnation]), b""])])
                continue
            self.deliver(("request", frame.get("User-Id"), rid, kind, header, body))

    # --- outbound links: answers, events, liveness ------------------------------------------
    def _answers(self, peer: Peer) -> None:
        for _ in range(1000):
            try:
                kind, header, body = unpack(peer.sock.recv(zmq.NOBLOCK))
            except zmq.Again:
                return
            except (ValueError, TypeError, msgpack.UnpackException):
                continue
            if kind == b"p":
                self._pong(peer, header)
            elif self.answer is not None:
                self.answer(peer.name, kind, header, body)   # (here: one thread less)
            else:
                self.deliver(("answer", peer.name, kind, header, body))

    def _pong(self, peer: Peer, header: bytes) -> None:
        t, incarnation = unpack(header)
        now = time.monotonic()
        peer.last_pong = now
        self.deliver(("rtt", peer.name, now - t))
        restarted = peer.incarnation is not None and incarnation != peer.incarnation
        if not peer.up or restarted:
            peer.up, peer.refused = True, None
            self.deliver(("up", peer.name, incarnation, restarted))
        peer.incarnation = incarnation

    def _monitor(self, peer: Peer) -> None:
        while True:
            try:
                event = parse_monitor_message(peer.monitor.recv_multipart(zmq.NOBLOCK))
            except zmq.Again:
                return
            kind = event["event"]
            if kind == zmq.EVENT_HANDSHAKE_SUCCEEDED:
                peer.refused = None
                self._ping(peer, time.monotonic())   # up at its answer
            elif kind == zmq.EVENT_DISCONNECTED:
                self._down(peer, "the connection closed")
            else:
                peer.refused = (f"the CURVE handshake with {peer.name} failed: it does not "
                                f"trust this node's key ({self.node}.pub in its key "
                                f"directory?), or this node's {peer.name}.pub is not its key")
                self._down(peer, peer.refused)
                self.deliver(("refused", peer.name, peer.refused))

    def _down(self, peer: Peer, why: str) -> None:
        if peer.up:
            peer.up = False
            self.deliver(("down", peer.name, why))

    def _ping(self, peer: Peer, now: float) -> None:
        peer.ping_at = now
        # (IMMEDIATE: refused while not connected; the handshake's ping says "up")
        with contextlib.suppress(zmq.Again):
            peer.sock.send(pack([b"P", pack([now]), b""]), zmq.NOBLOCK)

    def _next_tick(self, now: float) -> float:
        pings = [p.ping_at + PING_S for p in self.peers.values()
                 if p.sock is not None and p.ping_at is not None]
        return min(pings, default=now + PING_S)

    def _tick(self, now: float) -> None:
        for peer in self.peers.values():
            if peer.sock is None:
                continue
            if peer.up and now - peer.last_pong > DOWN_AFTER_S:
                self._down(peer, f"no answer for {DOWN_AFTER_S:g} s")
            if peer.ping_at is None or now - peer.ping_at >= PING_S:
                self._ping(peer, now)
