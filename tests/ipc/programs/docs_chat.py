"""A chat over local stream sockets: a server and two clients (docs/ipc.md).

    run docs_chat.py server &          relays between the first two clients
    run docs_chat.py alice LINE... &   each client sends its lines, then reads
    run docs_chat.py bob LINE...       what the other one said, to end of stream

The server accepts two connections and relays every line from one to the
other; a client that has said all it has shuts down writing (the server's recv
sees b""), and once both have, the server closes both streams: each client's
recv sees end of stream. One thread does it all: libipc's calls are made from
one thread at a time (docs/ipc.md, Semaphores: Threads), and a stream's first
use makes calls (it maps its rings).
"""

import sys
import time

import libipc
from libipc.sockets import SHUT_WR

NAME = "docs-chat"


def said(stream) -> bytes:
    data = b""
    while chunk := stream.recv(4096):     # to end of stream: the client shut down writing
        data += chunk
    return data


def server() -> None:
    with libipc.listen(NAME) as listener:
        print("server: listening")
        a = listener.accept(timeout=20)
        b = listener.accept(timeout=20)
        from_a, from_b = said(a), said(b)
        b.sendall(from_a)
        a.sendall(from_b)
        a.close()
        b.close()
    lines = (from_a + from_b).count(b"\n")
    print(f"server: relayed {lines} lines")


def connect(deadline_s: float = 10.0):
    """connect() is ConnectionRefused at once while nobody listens (the server
    may still be starting): try again until a deadline."""
    deadline = time.monotonic() + deadline_s
    while True:
        try:
            return libipc.connect(NAME, timeout=deadline_s)
        except libipc.ConnectionRefused:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.02)


def client(me: str, lines: list[str]) -> None:
    with connect() as stream:
        for line in lines:
            stream.sendall(f"{me}: {line}\n".encode())
        stream.shutdown(SHUT_WR)
        heard = b""
        while data := stream.recv(4096):
            heard += data
    for line in heard.decode().splitlines():
        print(f"{me} heard {line}")


if sys.argv[1] == "server":
    server()
else:
    client(sys.argv[1], sys.argv[2:])
