"""Two-process message transports, the nanokernel ring and its peers.

Each transport knows how to set itself up, run an echo or a sink in a child
process, and move 64-byte messages from the parent.  The child is a real OS
process (fork); the ring child re-attaches its channel by fd, as a process
spawned by the kernel does.  Every transport offers the same four moves so the
benchmarks can treat them alike:

    send(msg)        one message parent → child
    send_batch(msgs) several at once where the transport allows it
    recv()           one message child → parent
    close()
"""

from __future__ import annotations

import multiprocessing
import os
import socket

from libipc.channel import Channel

_fork = multiprocessing.get_context("fork")
DONE = b"D" * 8


class Transport:
    name = "?"
    batches = False

    def start(self, child_main) -> None:
        self.proc = _fork.Process(target=child_main, args=(self,), daemon=True)
        self.proc.start()
        self.after_fork_parent()

    def after_fork_parent(self) -> None:
        pass

    def join(self) -> None:
        self.proc.join(timeout=30)
        if self.proc.is_alive():
            self.proc.kill()
        self.close()

    def close(self) -> None:
        pass


# --- byte streams: messages are fixed 64-byte frames --------------------------
class _Stream(Transport):
    batches = True
    size = 64

    def _read_exact(self, n: int) -> bytes:
        parts, got = [], 0
        while got < n:
            chunk = self._read(n - got)
            if not chunk:
                raise EOFError(self.name)
            parts.append(chunk)
            got += len(chunk)
        return b"".join(parts)

    def send(self, msg: bytes) -> None:
        self._write(msg)

    def send_batch(self, msgs: list[bytes]) -> None:
        self._write(b"".join(msgs))

    def recv(self) -> bytes:
        return self._read_exact(self.size)

    def child_recv_count(self) -> int:
        """Sink side: read whatever is there, return how many whole frames arrived."""
        data = self._child_read(1 << 16)
        if not data:
            raise EOFError(self.name)
        self._partial += len(data)
        frames, self._partial = divmod(self._partial, self.size)
        return frames

    _partial = 0


class PipeTransport(_Stream):
    name = "os.pipe"

    def __init__(self) -> None:
        self.p2c_r, self.p2c_w = os.pipe()
        self.c2p_r, self.c2p_w = os.pipe()

    def _write(self, data: bytes) -> None:
        fd = self.c2p_w if self.in_child else self.p2c_w
        view = memoryview(data)
        while view:
            view = view[os.write(fd, view):]

    def _read(self, n: int) -> bytes:
        return os.read(self.p2c_r if self.in_child else self.c2p_r, n)

    _child_read = _read
    in_child = False

    def close(self) -> None:
        for fd in (self.p2c_r, self.p2c_w, self.c2p_r, self.c2p_w):
            os.close(fd)


class SocketpairTransport(_Stream):
    name = "socketpair"

    def __init__(self) -> None:
        self.parent, self.child = socket.socketpair()

    def _sock(self) -> socket.socket:
        return self.child if self.in_child else self.parent

    def _write(self, data: bytes) -> None:
        self._sock().sendall(data)

    def _read(self, n: int) -> bytes:
        return self._sock().recv(n)

    _child_read = _read
    in_child = False

    def close(self) -> None:
        self.parent.close()
        self.child.close()


# --- multiprocessing ----------------------------------------------------------
class MpPipeTransport(Transport):
    name = "mp.Pipe"

    def __init__(self) -> None:
        self.parent, self.child = _fork.Pipe()
        self.in_child = False

    def _conn(self):
        return self.child if self.in_child else self.parent

    def send(self, msg: bytes) -> None:
        self._conn().send_bytes(msg)

    def recv(self) -> bytes:
        return self._conn().recv_bytes()

    def child_recv_count(self) -> int:
        self._conn().recv_bytes()
        return 1

    def close(self) -> None:
        self.parent.close()
        self.child.close()


class MpQueueTransport(Transport):
    name = "mp.Queue"

    def __init__(self) -> None:
        self.p2c = _fork.Queue()
        self.c2p = _fork.Queue()
        self.in_child = False

    def send(self, msg: bytes) -> None:
        (self.c2p if self.in_child else self.p2c).put(msg)

    def recv(self) -> bytes:
        return (self.p2c if self.in_child else self.c2p).get()

    def child_recv_count(self) -> int:
        self.p2c.get()
        return 1

    def close(self) -> None:
        for q in (self.p2c, self.c2p):
            q.close()
            q.join_thread()


# --- the nanokernel ring ---------------------------------------------------------
class RingTransport(Transport):
    """The parent is the kernel side of a channel, the child the process side."""

    name = "nanokernel"
    batches = True

    def __init__(self) -> None:
        self.chan = Channel.create()
        self.in_child = False

    def start(self, child_main) -> None:
        super().start(child_main)

    def become_child(self) -> None:
        # The child maps the channel afresh from the fd, with its own private
        # indices — exactly what a spawned process does.
        self.chan = Channel.attach(os.dup(self.chan.fd))

    def send(self, msg: bytes) -> None:
        self.chan.send.put(msg)

    def send_batch(self, msgs: list[bytes]) -> None:
        ring = self.chan.send
        while msgs:
            n = ring.put_many(msgs)
            msgs = msgs[n:]
            if msgs:
                ring.wait_writable(len(msgs[0]))

    def recv(self) -> bytes:
        return self.chan.recv.get()

    def child_recv_count(self) -> int:
        ring = self.chan.recv
        got = len(ring.get_many())
        if not got:
            ring.wait_readable()
        return got

    def close(self) -> None:
        self.chan.close()


ALL = [RingTransport, PipeTransport, SocketpairTransport, MpPipeTransport, MpQueueTransport]
