"""The session program of the socket tests: ``socket_session.py SCENARIO,... OUT.json``.

Runs the scenarios in order inside one real boot (naming, console, net;
privileged, calls "*": it spawns the user processes at the other ends and kills
them) and writes what each saw, ``{scenario: result}``.  Every wait has a
deadline; server_stopped and server_killed stop and kill the net server, so they
come last.
"""

from __future__ import annotations

import hashlib
import json
import os
import signal
import sys
import threading
import time
import traceback
from pathlib import Path

import libipc
import libipc.sockets
from libipc import IpcError, Proxy, kernel, lookup
from libipc.naming import NAMING
from libipc.sockets import SHUT_RD, SHUT_WR

CHILD = str(Path(__file__).resolve().parent / "socket_child.py")
K = kernel()
NET = lookup("net", timeout=5)
EXITS: dict[int, int] = {}   # endpoint -> status (the kernel's wait() hands each out once)
ACCEPT_S = 10.0              # a child that should connect does so well within this

libipc.sockets.CONTROL_TIMEOUT_S = 1.0   # a hung net: control calls give up sooner
libipc.sockets.SLACK_S = 0.5


def child(*args) -> dict:
    return K.spawn(argv=[CHILD, *map(str, args)], name=f"sock-{args[0]}"[:32],
                   acl=["@public", "naming"])


def exited(proc: dict, timeout: float = 20.0) -> int:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        EXITS.update((record["ep"], record["status"]) for record in K.wait())
        if proc["ep"] in EXITS:
            return EXITS[proc["ep"]]
        time.sleep(0.01)
    raise TimeoutError(f"{proc} did not exit")


def until(fn, timeout: float = 10.0):
    """fn() once it is truthy (or its last value at the deadline)."""
    deadline = time.monotonic() + timeout
    while not (value := fn()) and time.monotonic() < deadline:
        time.sleep(0.01)
    return value


def code_of(fn) -> str:
    try:
        fn()
    except IpcError as exc:
        return exc.code
    return "no error"


def recv_all(s, size: int = 1 << 20) -> bytes:
    chunks = []
    while data := s.recv(size):
        chunks.append(data)
    return b"".join(chunks)


def listener_of(name: str) -> dict | None:
    return next((row for row in NET.listeners() if row["name"] == name), None)


def net_pid() -> int:
    return next(row["pid"] for row in K.ps() if row["name"] == "net")


# -- scenarios --------------------------------------------------------------------
def basic() -> dict:
    """A listener here, a client in another process: bytes both ways, end of stream."""
    with libipc.listen("echo") as listener:
        listed = listener_of("echo")
        proc = child("echo", "echo")
        s = listener.accept(timeout=ACCEPT_S)
        st = s.stat()
        sent = s.send(b"hello, ")
        s.sendall(bytearray(b"world"))
        s.shutdown(SHUT_WR)
        got = recv_all(s)
        after = s.recv(10)
        s.close()
        closed = code_of(lambda: s.recv(1))
    return {"listed": listed, "me": K.whoami()["ep"], "peer": s.peer, "child": proc["ep"],
            "stat": st, "sent": sent, "got": got.decode(), "after": after.decode(),
            "status": exited(proc), "closed": closed, "unlisted": listener_of("echo")}


def bulk() -> dict:
    """Megabytes each way between two processes, exact (hashed)."""
    sys.path.insert(0, str(Path(CHILD).parent))
    from socket_child import stream
    n, seed, back = 6 * 1024 * 1024 + 321, 11, 3 * 1024 * 1024 + 7
    reply = b"".join(stream(back, 12))
    with libipc.listen("bulk") as listener:
        proc = child("send", "bulk", n, seed, hashlib.sha256(reply).hexdigest())
        s = listener.accept(timeout=ACCEPT_S)
        h, got, t0 = hashlib.sha256(), 0, time.monotonic()
        buf = bytearray(1 << 20)
        while k := s.recv_into(buf):
            h.update(memoryview(buf)[:k])
            got += k
        want = hashlib.sha256(b"".join(stream(n, seed))).hexdigest()
        s.sendall(memoryview(reply))
        s.close()
    return {"n": n, "got": got, "sha_ok": h.hexdigest() == want, "status": exited(proc),
            "seconds": time.monotonic() - t0}


def bad_input() -> dict:
    out = {"refused": code_of(lambda: libipc.connect("nobody")),
           "refused_wait": code_of(lambda: libipc.connect("nobody", timeout=5))}
    listener = libipc.listen("taken")
    out["in_use"] = code_of(lambda: libipc.listen("taken"))
    for key, name in (("empty", ""), ("space", "a b"), ("long", "x" * 65), ("remote", "fs@a"),
                      ("slash", "/tmp/x"), ("number", 42), ("big", "y" * 5000)):
        out[f"name_{key}"] = [code_of(lambda n=name: libipc.listen(n)),
                              code_of(lambda n=name: libipc.connect(n))]
    out["long_ok"] = code_of(lambda: libipc.listen("z" * 64).close())
    out["backlog"] = [code_of(lambda b=b: libipc.listen("b", backlog=b)) for b in (0, 129, "x")]
    out["timeout"] = [code_of(lambda t=t: libipc.connect("taken", timeout=t))
                      for t in (-1, float("nan"), "soon", 1e9)]
    out["accept_now"] = code_of(lambda: listener.accept(timeout=0))
    t0 = time.monotonic()
    out["accept_timeout"] = code_of(lambda: listener.accept(timeout=0.2))
    out["accept_s"] = time.monotonic() - t0
    listener.setblocking(False)
    out["accept_nonblock"] = code_of(listener.accept)
    s = libipc.connect("taken")
    peer = listener.accept(timeout=1)
    out["recv_bad"] = [code_of(lambda n=n: s.recv(n)) for n in (-1, "x", 1.5, True)]
    out["recv_zero"] = s.recv(0).decode()
    out["send_bad"] = [code_of(lambda d=d: s.send(d)) for d in ("text", 123, None)]
    out["shutdown_bad"] = [code_of(lambda h=h: s.shutdown(h)) for h in (5, -1, "x")]
    out["forged"] = [code_of(lambda op=op, args=args: NET.call(op, **args)) for op, args in (
        ("stat", {"token": 12345}), ("close", {"token": 12345}),
        ("accept", {"listener": s.token}), ("shutdown", {"conn": listener.token, "how": 1}),
        ("ended", {"conn": "x"}), ("nosuch", {}))]
    s.close()
    out["closed"] = [code_of(lambda: s.recv(1)), code_of(lambda: s.send(b"x")),
                     code_of(lambda: s.shutdown(SHUT_WR))]
    peer.close()
    listener.close()
    listener.close()   # (twice: nothing)
    out["freed"] = code_of(lambda: libipc.listen("taken").close())
    return out


def nonblock() -> dict:
    """Non-blocking ends: WouldBlock on an empty recv and a full ring; the ring holds
    its capacity; a send of at most 4096 bytes goes whole or not at all."""
    with libipc.listen("nb") as listener:
        a = libipc.connect("nb")
        b = listener.accept(timeout=1)
        a.setblocking(False)
        b.nonblock = True
        empty = code_of(lambda: b.recv(10))
        total = 0
        while (n := a.send(b"z" * 10000)) == 10000:
            total += n
        total += n
        full = code_of(lambda: a.send(b"z"))
        b.recv(100)
        small = code_of(lambda: a.send(b"q" * 4096))
        large = a.send(b"q" * 4097)
        capacity = a.stat()["capacity"]
        sendall = code_of(lambda: a.sendall(b"w" * 10))
        a.close()
        b.close()
    return {"empty": empty, "filled": total, "capacity": capacity, "full": full,
            "small": small, "large": large, "sendall": sendall}


def backlog() -> dict:
    """A backlog of 2: two connects are answered before any accept; the third waits —
    WouldBlock with timeout 0, Timeout at its deadline, and a blocking one is answered
    when an accept makes room."""
    listener = libipc.listen("bl", backlog=2)
    first, second = libipc.connect("bl"), libipc.connect("bl")
    first.sendall(b"before accept")
    pending = listener.stat()["pending"]
    now = code_of(lambda: libipc.connect("bl", timeout=0))
    t0 = time.monotonic()
    later = code_of(lambda: libipc.connect("bl", timeout=0.2))
    later_s = time.monotonic() - t0
    proc = child("connect_wait", "bl")
    waiting = until(lambda: listener.stat()["connecting"] == 1)
    a = listener.accept(timeout=1)
    early = a.recv(100).decode()
    b = listener.accept(timeout=1)
    third = listener.accept(timeout=ACCEPT_S)
    words = recv_all(third).decode()
    status = exited(proc)
    for s in (first, second, a, b, third):
        s.close()
    listener.close()
    return {"pending": pending, "now": now, "later": later, "later_s": later_s,
            "waiting": waiting, "early": early, "words": words, "status": status}


def closing() -> dict:
    """An orderly end: SHUT_WR gives the peer end of stream while it can still send;
    SHUT_RD makes the peer's sends BrokenPipe; close: the peer reads what is left."""
    with libipc.listen("cl") as listener:
        a = libipc.connect("cl")
        b = listener.accept(timeout=1)
        a.sendall(b"last words")
        a.shutdown(SHUT_WR)
        got = recv_all(b).decode()
        b.sendall(b"still")
        back = a.recv(100).decode()
        own = code_of(lambda: a.send(b"x"))
        a.shutdown(SHUT_RD)
        own_rd = a.recv(100).decode()
        peer_send = code_of(lambda: b.send(b"x"))
        a.close()
        c = libipc.connect("cl")
        d = listener.accept(timeout=1)
        c.sendall(b"bye")
        c.close()
        after_close = recv_all(d).decode()
        send_closed = code_of(lambda: d.send(b"x"))
        b.close()
        d.close()
    return {"got": got, "back": back, "own": own, "own_rd": own_rd, "peer_send": peer_send,
            "after_close": after_close, "send_closed": send_closed}


def reset() -> dict:
    """A peer that closes with bytes unread resets: recv raises ConnectionReset once,
    after the bytes that came, then b"".  A listener that closes resets the
    connections it never accepted."""
    with libipc.listen("rs") as listener:
        proc = child("unread", "rs")
        s = listener.accept(timeout=ACCEPT_S)
        s.sendall(b"you will not read this")
        status = exited(proc)
        first = code_of(lambda: s.recv(10))
        then = s.recv(10).decode()
        send = code_of(lambda: s.send(b"x"))
        s.close()
    listener = libipc.listen("rs2")
    c = libipc.connect("rs2")
    c.sendall(b"hello?")
    listener.close()
    out = {"status": status, "first": first, "then": then, "send": send,
           "never_accepted": code_of(lambda: c.recv(10)), "after": c.recv(10).decode(),
           "send_after": code_of(lambda: c.send(b"x"))}
    c.close()
    return out


def kill_soon(proc: dict) -> None:
    """SIGKILL ``proc`` in 0.3 s from a timer thread — with the host's kill, not a
    kernel call: only the main thread may use this process's ring (a call from the
    timer while the main thread waits in one of its own hung the session)."""
    threading.Timer(0.3, lambda: os.kill(proc["pid"], signal.SIGKILL)).start()


def peer_killed() -> dict:
    """A peer SIGKILLed mid-stream: the reader gets what was sent, then end of stream
    (a recv waiting when it dies returns); sends get BrokenPipe — never a hang."""
    out = {}
    with libipc.listen("pk") as listener:
        proc = child("forever", "pk")
        s = listener.accept(timeout=ACCEPT_S)
        got = len(s.recv(4096))
        K.kill(ep=proc["ep"], signal_name="KILL")
        while data := s.recv(1 << 16):   # what was buffered, then end of stream
            got += len(data)
        out["writer"] = {"got_some": got > 0, "status": exited(proc),
                         "send": code_of(lambda: s.send(b"x"))}
        s.close()
        proc = child("sink", "pk")
        s = listener.accept(timeout=ACCEPT_S)
        kill_soon(proc)
        t0 = time.monotonic()
        out["waiting_recv"] = s.recv(10).decode()
        out["waiting_s"] = time.monotonic() - t0
        out["sink_status"] = exited(proc)
        out["sink_send"] = code_of(lambda: s.send(b"x"))
        s.close()
        # a blocked send is woken by the reader's death
        proc = child("sink", "pk")
        s = listener.accept(timeout=ACCEPT_S)
        kill_soon(proc)
        t0 = time.monotonic()
        out["blocked_send"] = code_of(lambda: s.sendall(b"b" * (1 << 20)))
        out["blocked_send_s"] = time.monotonic() - t0
        exited(proc)
        s.close()
    return out


def holder_dies() -> dict:
    """A listener's process dies: its name is free (ConnectionRefused, then anyone may
    listen), and a connection it never accepted is reset.  A process killed while its
    accept or connect waits is forgotten."""
    proc = child("listen", "gone")
    until(lambda: listener_of("gone") and listener_of("gone")["accepting"])
    s = libipc.connect("gone")   # straight to its waiting accept
    q = libipc.connect("gone")   # into its backlog: never accepted
    K.kill(ep=proc["ep"], signal_name="KILL")
    status = exited(proc)
    freed = until(lambda: listener_of("gone") is None)
    refused = code_of(lambda: libipc.connect("gone"))
    accepted_eof = s.recv(10).decode()
    pending = code_of(lambda: q.recv(10))
    s.close()
    q.close()
    listener = libipc.listen("gone", backlog=1)
    filler = libipc.connect("gone")
    waiter = child("connect_wait", "gone")
    until(lambda: listener.stat()["connecting"] == 1)
    K.kill(ep=waiter["ep"], signal_name="KILL")
    exited(waiter)
    forgotten = until(lambda: listener.stat()["connecting"] == 0)
    a = listener.accept(timeout=1)
    next_one = code_of(lambda: listener.accept(timeout=0))
    for x in (a, filler, listener):
        x.close()
    return {"status": status, "freed": freed, "refused": refused,
            "accepted": accepted_eof, "pending": pending, "forgotten": forgotten,
            "next_one": next_one}


def withdrawn() -> dict:
    """An accept its caller gave up on is withdrawn: cut short by a signal's Interrupted,
    its waiter is dropped (the next connection waits in the backlog); given up on while
    net was stopped, the stream net gave it after all is closed (the client sees end of
    stream, not a peer that never reads)."""
    got = []
    libipc.signal(signal.SIGUSR1, lambda n, f: got.append(n))
    listener = libipc.listen("wd")
    me = K.whoami()["ep"]
    signaller = K.spawn(argv=[CHILD, "usr1_when_accepting", "wd", str(me)],
                        name="sock-usr1", acl=["@public", "naming"], privileged=True)
    interrupted = code_of(lambda: listener.accept(timeout=20))
    dropped = until(lambda: listener.stat()["accepting"] == 0)
    c = libipc.connect("wd")
    queued = listener.stat()["pending"]
    c.close()
    listener.accept(timeout=1).close()
    out = {"interrupted": interrupted, "handler_ran": bool(got), "dropped": dropped,
           "queued": queued, "signaller": exited(signaller)}
    libipc.signal(signal.SIGUSR1, signal.SIG_DFL)
    pid = net_pid()
    os.kill(pid, signal.SIGSTOP)
    try:
        proc = child("connect_read", "wd")
        until(lambda: any(row["ep"] == proc["ep"] and row["calls_in_flight"]
                          for row in K.ps()))   # its connect waits in net's ring
        t0 = time.monotonic()
        out["gave_up"] = code_of(lambda: listener.accept(timeout=0.2))
        out["gave_up_s"] = time.monotonic() - t0
    finally:
        os.kill(pid, signal.SIGCONT)
    out["client"] = exited(proc)   # net answered the dead accept, then closed that end
    out["after"] = listener.stat()
    listener.close()
    return out


def limits() -> dict:
    """Connections are bounded: past the limit, TooManyCalls; closing makes room."""
    from servers.net import MAX_BACKLOG, MAX_CONNECTIONS
    listeners = [libipc.listen(f"many{i}", backlog=MAX_BACKLOG)
                 for i in range(MAX_CONNECTIONS // MAX_BACKLOG + 1)]
    streams, error = [], None
    try:
        for i in range(MAX_CONNECTIONS + 1):   # (never accepted: one end each, not two)
            streams.append(libipc.connect(f"many{i // MAX_BACKLOG % len(listeners)}"))
    except IpcError as exc:
        error = exc.code
    count = len(streams)
    for s in streams:
        s.close()
    for listener in listeners:   # (their backlogs: the other ends)
        listener.close()
    again = until(lambda: code_of(lambda: libipc.listen("many0").close()) == "no error")
    with libipc.listen("many0") as listener:
        libipc.connect("many0").close()
        fits = listener.stat()["pending"]
    return {"count": count, "limit": MAX_CONNECTIONS, "error": error, "again": again,
            "fits": fits}


def server_stopped() -> dict:
    """A stopped (hung) net: an open stream still moves bytes (they do not pass through
    net); control calls give Timeout, never a hang; all works once it continues."""
    listener = libipc.listen("st")
    a = libipc.connect("st")
    b = listener.accept(timeout=1)
    pid = net_pid()
    os.kill(pid, signal.SIGSTOP)
    try:
        a.sendall(b"through")
        data = b.recv(100).decode()
        t0 = time.monotonic()
        connect = code_of(lambda: libipc.connect("st", timeout=0.2))
        listen = code_of(lambda: libipc.listen("st2"))
        elapsed = time.monotonic() - t0
        a.close()   # never waits
    finally:
        os.kill(pid, signal.SIGCONT)
    eof = b.recv(10).decode()
    c = libipc.connect("st", timeout=5)
    c.close()
    b.close()
    listener.close()
    return {"data": data, "connect": connect, "listen": listen, "elapsed": elapsed,
            "eof": eof}


def server_killed() -> dict:
    """net dies while streams are open and an accept waits: ServerDied for each, at
    once or at the stream's next use — never a hang; the restarted net has forgotten
    every name, and new listeners work."""
    listener = libipc.listen("sk")
    a = libipc.connect("sk")
    b = listener.accept(timeout=1)
    a.sendall(b"x" * 10)
    acceptor = child("accept_once", "sk2")
    until(lambda: listener_of("sk2") and listener_of("sk2")["accepting"])
    pid = net_pid()
    threading.Timer(0.3, lambda: os.kill(pid, signal.SIGKILL)).start()
    t0 = time.monotonic()
    b.recv(10)
    waited = code_of(lambda: b.recv(10))
    elapsed = time.monotonic() - t0
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:   # init restarts it, and it registers again
        row = next((row for row in K.ps() if row["name"] == "net"), None)
        if row and row["pid"] != pid and Proxy(NAMING).list().get("net") == row["ep"]:
            break
        time.sleep(0.02)
    out = {"waited": waited, "elapsed": elapsed, "acceptor": exited(acceptor),
           "send": code_of(lambda: a.send(b"y")), "accept": code_of(
               lambda: listener.accept(timeout=0)),
           "refused": code_of(lambda: libipc.connect("sk")),
           "listeners": NET.listeners()}
    for x in (a, b, listener):
        x.close()
    with libipc.listen("sk") as again:
        c = libipc.connect("sk")
        d = again.accept(timeout=1)
        c.sendall(b"fresh")
        c.close()
        out["fresh"] = recv_all(d).decode()
        d.close()
    return out


def held() -> dict:
    """What the kernel counts now: regions, grants, and the regions net and this process
    hold."""
    stats = K.stats()
    return {"regions": stats["shm_regions"], "grants": stats["shm_grants"],
            "net_held": K.whoami(ep=NET.endpoint)["shm_held"], "mine": K.whoami()["shm_held"]}


def grants() -> dict:
    """A stream's rings are granted to the caller of connect (and of accept) alone: a
    third process given net's answer cannot map them; and 300 connections made and
    closed one after another leave no region or grant behind."""
    before = held()
    with libipc.listen("gr") as listener:
        info = NET.call("connect", name="gr", timeout=None, ticket=0)   # (the raw answer)
        stream = listener.accept(timeout=1)
        thief = exited(child("steal", "gr", json.dumps(info)))
        NET.close(token=info["conn"])
        stream.close()
        for i in range(300):
            c = libipc.connect("gr", timeout=5)
            a = listener.accept(timeout=5)
            c.sendall(b"%d" % i)
            assert b"%d" % i == a.recv(10)
            c.close()
            a.close()
    after = until(lambda: (now := held()) == before and now) or held()
    return {"thief": thief, "before": before, "after": after}


SCENARIOS = {f.__name__: f for f in (basic, bulk, bad_input, nonblock, backlog, closing,
                                     reset, peer_killed, holder_dies, withdrawn, grants, limits,
                                     server_stopped, server_killed)}

if __name__ == "__main__":
    names, out = sys.argv[1].split(","), sys.argv[2]
    results: dict = {}
    for name in names:
        t0 = time.monotonic()
        try:
            results[name] = SCENARIOS[name]()
        except BaseException as exc:   # noqa: BLE001
            results[name] = {"session_error": repr(exc), "traceback": traceback.format_exc()}
        results[name]["scenario_s"] = round(time.monotonic() - t0, 3)
    with open(out, "w") as f:
        json.dump(results, f)
