"""A user process at one end of a FIFO, started on its own: ``fifo_child.py MODE ARGS``.

    write PATH N SEED      open PATH for writing (waits for a reader), write N
                           pseudo-random bytes in 64 KiB writes, close
    read PATH OUT          open PATH for reading (waits for a writer), read to end of
                           file, write "N SHA256" into the fs file OUT
    hello PATH             open PATH for reading, exit 0 if it carries b"hello", else 3
                           (the tests kill it while its open waits)
    kill_when_waiting KEY PID
                           once an open of FIFO KEY waits at the pipe server (10 s at
                           most), SIGKILL host process PID (the pipe server)
"""

from __future__ import annotations

import hashlib
import os
import signal
import sys
import time

import libipc
from libipc import lookup

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from pipe_child import stream  # noqa: E402


def main(mode: str, args: list[str]) -> int:
    if mode == "write":
        with libipc.open(args[0], "wb") as f:
            for block in stream(int(args[1]), int(args[2])):
                f.write(block)
        return 0
    if mode == "read":
        h, n = hashlib.sha256(), 0
        with libipc.open(args[0], "rb") as f:
            while data := f.read1(1 << 20):
                h.update(data)
                n += len(data)
        with libipc.open(args[1], "w") as out:
            out.write(f"{n} {h.hexdigest()}")
        return 0
    if mode == "hello":
        with libipc.open(args[0], "rb") as f:
            return 0 if f.read() == b"hello" else 3
    if mode == "kill_when_waiting":
        pipe, deadline = lookup("pipe", timeout=5), time.monotonic() + 10
        while time.monotonic() < deadline:
            st = pipe.stat_fifo(key=args[0])
            if st["waiting_readers"] or st["waiting_writers"]:
                break
            time.sleep(0.01)
        os.kill(int(args[1]), signal.SIGKILL)
        return 0
    return 2


if __name__ == "__main__":
    sys.exit(main(sys.argv[1], sys.argv[2:]))
