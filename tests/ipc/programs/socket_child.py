"""A user process at one end of a socket: ``socket_child.py MODE NAME [ARGS]``.

    echo NAME                    connect; send back what comes until end of stream
    send NAME N SEED SHA         connect; send N pseudo-random bytes (64 KiB sends),
                                 shut down writing, read until end of stream: exit 0
                                 if what came back hashes to SHA, else 3
    forever NAME                 connect; send 4 KiB until BrokenPipe (exit 32)
    sink NAME                    connect; read nothing, sleep until killed
    unread NAME                  connect; wait until bytes are buffered for it, then
                                 close without reading them (the peer is reset)
    connect_wait NAME            connect (waiting on a full backlog); send b"in", close
    listen NAME                  listen; accept one stream; sleep until killed
    accept_once NAME             listen; accept one stream; send b"ok"; exit 0
    connect_read NAME            connect (waiting); read until end of stream: exit 0
    usr1_when_accepting NAME EP  once NAME's listener has an accept waiting, SIGUSR1 to EP
    steal NAME STREAM            try to map the rings of STREAM (JSON: net's answer to
                                 another process's connect): exit 0 if each is refused
                                 with PermissionDenied, else 4
"""

from __future__ import annotations

import hashlib
import signal
import sys
import time

import libipc
from libipc import IpcError
from libipc.sockets import SHUT_WR, Stream

CHUNK = 64 * 1024


def stream(n: int, seed: int):
    """N pseudo-random bytes in 64 KiB blocks (the same for the same seed)."""
    block, sent = hashlib.sha256(str(seed).encode()).digest() * (CHUNK // 32), 0
    while sent < n:
        k = min(CHUNK, n - sent)
        yield block[:k]
        block = block[1:] + block[:1]
        sent += k


def connected(name: str) -> Stream:
    return libipc.connect(name, timeout=10)


def main(mode: str, name: str, args: list[str]) -> int:
    if mode == "echo":
        s = connected(name)
        while data := s.recv(CHUNK):
            s.sendall(data)
        s.close()
    elif mode == "send":
        n, seed, sha = int(args[0]), int(args[1]), args[2]
        s = connected(name)
        for block in stream(n, seed):
            s.sendall(block)
        s.shutdown(SHUT_WR)
        h = hashlib.sha256()
        while data := s.recv(1 << 20):
            h.update(data)
        return 0 if h.hexdigest() == sha else 3
    elif mode == "forever":
        s = connected(name)
        try:
            while True:
                s.send(b"f" * 4096)
        except libipc.BrokenPipe:
            return 32
    elif mode in ("sink", "listen"):
        if mode == "sink":
            connected(name)
            while True:
                time.sleep(60)
        listener = libipc.listen(name)
        kept = listener.accept()
        while kept:   # (killed here, the stream open)
            time.sleep(60)
    elif mode == "unread":
        s = connected(name)
        deadline = time.monotonic() + 10
        while s.stat()["rx_buffered"] == 0 and time.monotonic() < deadline:
            time.sleep(0.01)
        s.close()
    elif mode == "connect_wait":
        s = libipc.connect(name)
        s.sendall(b"in")
        s.close()
    elif mode == "accept_once":
        with libipc.listen(name) as listener:
            s = listener.accept(timeout=10)
            s.sendall(b"ok")
            s.close()
    elif mode == "connect_read":
        s = libipc.connect(name)
        while s.recv(CHUNK):
            pass
    elif mode == "usr1_when_accepting":
        net, deadline = libipc.lookup("net", timeout=5), time.monotonic() + 10
        while not any(row["name"] == name and row["accepting"] for row in net.listeners()):
            if time.monotonic() > deadline:
                return 5
            time.sleep(0.01)
        libipc.kill(int(args[0]), signal.SIGUSR1)
    elif mode == "steal":
        import json

        from libipc import shm
        info, codes = json.loads(args[0]), []
        for ring in ("rx", "tx"):
            try:
                shm.map(info[ring]["grant"])
                codes.append("mapped")
            except IpcError as exc:
                codes.append(exc.code)
        return 0 if codes == ["PermissionDenied"] * 2 else 4
    else:
        return 2
    return 0


if __name__ == "__main__":
    try:
        sys.exit(main(sys.argv[1], sys.argv[2], sys.argv[3:]))
    except IpcError as exc:
        print(f"socket_child: {exc}", file=sys.stderr)
        sys.exit(10)
