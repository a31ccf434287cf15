"""A user process of the semaphore and queue tests: ``semmq_child.py MODE NAME [ARGS]``.

It reports by its exit status (STATUS below: 0 done, or the error it got):
    acquire NAME TIMEOUT GRACE UNDO  one acquire (TIMEOUT "none": no limit; GRACE:
                                 libipc's backstop past it; UNDO "1"/"0"), then exit
    hold NAME UNDO               acquire (undo "1"/"0"), then sleep until killed
    receive NAME TIMEOUT GRACE   one receive; exit status = the message (a number)
    send NAME DATA PRIORITY      one send (waits while full), then exit
    notify NAME                  register for notification; when it comes, receive
                                 the message and exit with it (99: none in 20 s)
    notify_hold NAME             register, then sleep until killed
    foreign SERVER HANDLE        use another process's handle (a raw ``value``/``attrs``)
"""

from __future__ import annotations

import sys
import time

import libipc
import libipc.named_handle
from libipc import IpcError, MessageQueue, Semaphore

STATUS = {"Timeout": 10, "ServerDied": 11, "WouldBlock": 12, "Interrupted": 13,
          "InvalidArgument": 14}


def _timeout(text: str) -> float | None:
    return None if text == "none" else float(text)


def main(mode: str, name: str, *args: str) -> int:
    if mode == "acquire":
        libipc.named_handle.GRACE_S = float(args[1])
        Semaphore(name, undo=args[2] == "1").acquire(_timeout(args[0]))
        return 0
    if mode == "hold":
        Semaphore(name, undo=args[0] == "1").acquire()
        time.sleep(3600)
    if mode == "receive":
        libipc.named_handle.GRACE_S = float(args[1])
        data, _ = MessageQueue(name, mode="r").receive(_timeout(args[0]))
        return int(data)
    if mode == "send":
        MessageQueue(name, mode="w").send(args[0].encode(), int(args[1]))
        return 0
    if mode in ("notify", "notify_hold"):
        q, got = MessageQueue(name), []
        q.notify(lambda q: got.append(q.receive(timeout=0)))
        if mode == "notify_hold":
            time.sleep(3600)
        deadline = time.monotonic() + 20
        while not got and time.monotonic() < deadline:
            libipc.pause(1.0)
        return int(got[0][0]) if got else 99
    if mode == "foreign":
        op = "value" if name == "sem" else "attrs"
        libipc.lookup(name).call(op, handle=int(args[0]))
        return 0
    raise SystemExit(f"semmq_child: unknown mode {mode!r}")


if __name__ == "__main__":
    try:
        status = main(*sys.argv[1:])
    except IpcError as exc:
        print(f"semmq_child: {exc}", flush=True)
        status = STATUS.get(exc.code, 1)
    sys.exit(status)
