"""A pipe between two programs the shell started separately (docs/ipc.md, Pipes).

    run docs_pipe_token.py reader &     waits for the pipe, reads it to end of file
    run docs_pipe_token.py writer N     makes a pipe, hands its read end over, writes N bytes

Pipe ends are capabilities: the writer makes the pipe, makes the reader the
holder of the read end (end.give), and passes the end's token in a file; the
reader opens the end from the token. A semaphore says when the token is there.
The writer's write of N bytes may be larger than PIPE_BUF (it is split, and
waits while the pipe is full); the reader sees end of file once the writer
closed — or exited.
"""

import hashlib
import sys

import libipc
from libipc import Semaphore
from libipc.pipe import PipeEnd, pipe

TOKEN, EP = "/home/pipe.token", "/home/pipe.reader"
ready = Semaphore("/pipe-ready", create=True, undo=False)     # the reader's endpoint is there
given = Semaphore("/pipe-given", create=True, undo=False)     # the token is there

if sys.argv[1] == "reader":
    with libipc.open(EP, "w") as f:
        f.write(str(libipc.kernel().whoami()["ep"]))
    ready.release()
    given.acquire(timeout=20)
    with libipc.open(TOKEN) as f:
        end = PipeEnd.from_token(int(f.read()), False)
    data = b""
    while chunk := end.read(65536):
        data += chunk
    end.close()
    print(f"reader: {len(data)} bytes, sha256 {hashlib.sha256(data).hexdigest()[:16]}")
    for sem in (ready, given):
        sem.unlink()
else:
    n = int(sys.argv[2])
    data = bytes(i % 251 for i in range(n))
    r, w = pipe()
    ready.acquire(timeout=20)
    with libipc.open(EP) as f:
        r.give(int(f.read()))         # the reader holds it now, not us
    with libipc.open(TOKEN, "w") as f:
        f.write(str(r.token))
    given.release()
    w.write(data)                     # more than the pipe holds: waits for the reader
    w.close()
    print(f"writer: {n} bytes, sha256 {hashlib.sha256(data).hexdigest()[:16]}")
