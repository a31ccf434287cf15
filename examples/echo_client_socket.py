"""echo_client_socket WORDS...: send WORDS to the echo socket server, print what comes back.

Run it from the shell: run examples/echo_client_socket.py hello
(with examples/echo_server_socket.py running).  ECHO_NAME picks another name.
"""

import os
import sys
import time

import libipc
from libipc.sockets import SHUT_WR

WAIT_S = 5.0   # a server started just before us may not listen yet


def connect(name: str):
    deadline = time.monotonic() + WAIT_S
    while True:
        try:
            return libipc.connect(name)
        except libipc.ConnectionRefused:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.05)


def main() -> int:
    name = os.environ.get("ECHO_NAME", "echo")
    try:
        with connect(name) as stream:
            stream.sendall(" ".join(sys.argv[1:]).encode())
            stream.shutdown(SHUT_WR)   # no more: the server sees b""
            reply = b""
            while data := stream.recv(65536):
                reply += data
    except libipc.IpcError as exc:
        print(f"echo_client_socket: {name}: {exc.code}")
        return 1
    print(reply.decode())
    return 0


sys.exit(main())
