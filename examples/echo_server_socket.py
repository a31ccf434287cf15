"""echo_server_socket [NAME]: a stream socket server — send back every byte (a user program).

Run it in the background from the shell: run examples/echo_server_socket.py &
It listens on NAME ("echo" by default) in the net server's namespace and serves
one connection at a time until it is killed; the name is free again when it exits.
"""

import contextlib
import sys

import libipc


def serve(stream) -> None:
    with stream:
        while data := stream.recv(65536):   # b"": the client shut down writing
            stream.sendall(data)


def main() -> int:
    name = sys.argv[1] if len(sys.argv) > 1 else "echo"
    try:
        listener = libipc.listen(name)
    except libipc.IpcError as exc:
        print(f"echo_server_socket: {name}: {exc.code}")
        return 1
    with listener:
        while True:
            stream = listener.accept()
            with contextlib.suppress(libipc.BrokenPipe, libipc.ConnectionReset):
                serve(stream)   # (a client that went away: serve the next one)


sys.exit(main())
