"""The peers of `bench net`: the same traffic over bare pyzmq and a bare TCP socket,
two processes on loopback each (this one and a child, ``python -m
nanokernel.bench.net_peers ROLE ...``).

    pyzmq-req-rep        REQ (here) / REP (the child) round trips of SIZE bytes
    pyzmq-req-rep-curve  the same with CURVE on (the bridge's links are CURVE)
    tcp-socket           SIZE bytes there and back over one TCP connection
                         (TCP_NODELAY), the child echoing
    pyzmq-push-pull      N one-way messages of SIZE bytes, PUSH (here) to PULL (the
                         child); timed from the first send (its clock value rides in
                         the first message) to the last message's arrival (the child
                         reports the time on its stdout)
    pyzmq-push-pull-curve  the same with CURVE on

The child binds a port it picks and prints it (then its result) on stdout, so no
port is guessed.  Each child is killed on the way out, whatever happened.
"""

from __future__ import annotations

import contextlib
import gc
import json
import socket
import subprocess
import sys
import time
from collections.abc import Iterator

WARMUP = 200
SIZE = 64
CHILD_WITHIN_S = 30.0


@contextlib.contextmanager
def child(*args: str) -> Iterator[tuple[subprocess.Popen, str]]:
    """The child ``ROLE args``, and the address it bound (its first stdout line)."""
    proc = subprocess.Popen([sys.executable, "-m", "nanokernel.bench.net_peers", *args],
                            stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True)
    try:
        address = proc.stdout.readline().strip()
        if not address:
            raise RuntimeError(f"peer {args[0]} gave no address: {proc.stderr.read()[-300:]}")
        yield proc, address
        proc.wait(CHILD_WITHIN_S)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
        proc.stdout.close()
        proc.stderr.close()


def _curve() -> tuple[bytes, bytes, bytes, bytes]:
    import zmq
    server_public, server_secret = zmq.curve_keypair()
    client_public, client_secret = zmq.curve_keypair()
    return server_public, server_secret, client_public, client_secret


def _client_curve(sock, keys) -> None:
    if keys:
        sock.curve_serverkey = keys[0]
        sock.curve_publickey, sock.curve_secretkey = keys[2], keys[3]


def _keys_args(keys) -> list[str]:
    return [keys[0].decode(), keys[1].decode()] if keys else []


def zmq_rtt(count: int, curve: bool) -> list[int]:
    """Round trips of SIZE bytes, REQ here, REP in the child; ns each."""
    import zmq
    keys = _curve() if curve else None
    with child("rep", str(WARMUP + count), *_keys_args(keys)) as (_, address):
        ctx = zmq.Context()
        sock = ctx.socket(zmq.REQ)
        sock.setsockopt(zmq.LINGER, 0)
        sock.setsockopt(zmq.RCVTIMEO, int(CHILD_WITHIN_S * 1000))
        _client_curve(sock, keys)
        sock.connect(address)
        try:
            return _timed_rtt(lambda m: (sock.send(m), sock.recv()), count)
        finally:
            sock.close()
            ctx.term()


def tcp_rtt(count: int) -> list[int]:
    """Round trips of SIZE bytes over one loopback TCP connection; ns each."""
    with child("echo", str(WARMUP + count)) as (_, address):
        host, port = address.rsplit(":", 1)
        with socket.create_connection((host, int(port)), timeout=CHILD_WITHIN_S) as sock:
            sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)

            def once(msg: bytes) -> None:
                sock.sendall(msg)
                got = 0
                while got < SIZE:
                    k = len(sock.recv(SIZE - got))
                    if not k:
                        raise RuntimeError("tcp-socket: the echo closed early")
                    got += k
            return _timed_rtt(once, count)


def _timed_rtt(once, count: int) -> list[int]:
    msg = b"m" * SIZE
    for _ in range(WARMUP):
        once(msg)
    samples = []
    gc.disable()
    try:
        for _ in range(count):
            t = time.perf_counter_ns()
            once(msg)
            samples.append(time.perf_counter_ns() - t)
    finally:
        gc.enable()
    return samples


def zmq_throughput(n: int, curve: bool) -> float:
    """Seconds for n SIZE-byte messages from a PUSH here to a PULL in the child."""
    import zmq
    keys = _curve() if curve else None
    with child("pull", str(n), *_keys_args(keys)) as (proc, address):
        ctx = zmq.Context()
        sock = ctx.socket(zmq.PUSH)
        sock.setsockopt(zmq.LINGER, 1000)
        sock.setsockopt(zmq.IMMEDIATE, 1)   # (writable once the link is up: the
        _client_curve(sock, keys)            #  handshake is not timed)
        sock.connect(address)
        try:
            if not sock.poll(CHILD_WITHIN_S * 1000, zmq.POLLOUT):
                raise RuntimeError("pyzmq-push-pull: no connection to the receiver")
            msg = b"m" * SIZE
            sock.send(time.monotonic_ns().to_bytes(8, "little") + msg[8:])
            for _ in range(n - 1):
                sock.send(msg)
            line = proc.stdout.readline()
        finally:
            sock.close()
            ctx.term()
    try:
        return json.loads(line)["seconds"]
    except (ValueError, KeyError):
        raise RuntimeError(f"pyzmq-push-pull: the receiver said {line!r}") from None


# --- the children ---------------------------------------------------------------------------
def _bound(sock, keys: list[str]) -> None:
    if keys:
        sock.curve_publickey, sock.curve_secretkey = keys[0].encode(), keys[1].encode()
        sock.curve_server = True   # (no ZAP handler: every client key is accepted)
    sock.bind("tcp://127.0.0.1:*")
    print(sock.getsockopt_string(__import__("zmq").LAST_ENDPOINT), flush=True)


def _rep(count: int, keys: list[str]) -> None:
    import zmq
    ctx = zmq.Context()
    sock = ctx.socket(zmq.REP)
    sock.setsockopt(zmq.LINGER, 1000)
    sock.setsockopt(zmq.RCVTIMEO, int(CHILD_WITHIN_S * 1000))
    _bound(sock, keys)
    gc.disable()
    for _ in range(count):
        sock.send(sock.recv())
    sock.close()
    ctx.term()


def _pull(n: int, keys: list[str]) -> None:
    import zmq
    ctx = zmq.Context()
    sock = ctx.socket(zmq.PULL)
    sock.setsockopt(zmq.RCVTIMEO, int(CHILD_WITHIN_S * 1000))
    _bound(sock, keys)
    gc.disable()
    t0 = int.from_bytes(sock.recv()[:8], "little")
    for _ in range(n - 1):
        sock.recv()
    print(json.dumps({"seconds": (time.monotonic_ns() - t0) / 1e9}), flush=True)
    sock.close()
    ctx.term()


def _echo(count: int) -> None:
    with socket.create_server(("127.0.0.1", 0)) as listener:
        print(f"127.0.0.1:{listener.getsockname()[1]}", flush=True)
        listener.settimeout(CHILD_WITHIN_S)
        conn, _ = listener.accept()
    with conn:
        conn.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        conn.settimeout(CHILD_WITHIN_S)
        gc.disable()
        for _ in range(count):
            got = b""
            while len(got) < SIZE:
                part = conn.recv(SIZE - len(got))
                if not part:
                    return
                got += part
            conn.sendall(got)


if __name__ == "__main__":
    role, count, *rest = sys.argv[1:]
    {"rep": lambda: _rep(int(count), rest), "pull": lambda: _pull(int(count), rest),
     "echo": lambda: _echo(int(count))}[role]()
