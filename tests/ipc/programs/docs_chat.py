"""A chat over local stream sockets: a server and two clients (docs/ipc.md).

    run docs_chat.py server &          relays between the first two clients
    run docs_chat.py alice LINE... &   each client sends its lines, then reads
    run docs_chat.py bob LINE...       what the other one said, to end of stream

The server accepts two connections and relays every line from one to the
other; a client that has said all it has shuts down writing (the server's recv
sees b""), and once both have, the server closes both streams: each client's
recv sees end of stream. A thread per client does the relaying.
"""

import sys
import threading
import time

import libipc
from libipc.sockets import SHUT_WR

NAME = "docs-chat"


def relay(src, dst, who: str, counts: dict) -> None:
    while data := src.recv(4096):
        counts[who] = counts.get(who, 0) + data.count(b"\n")
        dst.sendall(data)


def server() -> None:
    with libipc.listen(NAME) as listener:
        print("server: listening")
        a = listener.accept(timeout=20)
        b = listener.accept(timeout=20)
        counts: dict = {}
        threads = [threading.Thread(target=relay, args=(a, b, "first", counts)),
                   threading.Thread(target=relay, args=(b, a, "second", counts))]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        a.close()
        b.close()
    print(f"server: relayed {sum(counts.values())} lines")


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
