"""The session program of `bench ipc`'s sem-pingpong and mq-throughput:
``semmq_session.py OUT.json ROUNDS MESSAGES``.

Inside a small boot (naming, console, sem, mq) it spawns this file again as a
child, the other end of each measurement:

    sem-pingpong   the session releases /ping and acquires /pong; the child
                   acquires /ping and releases /pong: one sample is one round
    mq-throughput  the child sends MESSAGES messages of SIZE bytes into a queue of
                   QUEUE_DEPTH; the session receives them, timed from the first
                   to the last
"""

from __future__ import annotations

import gc
import json
import os
import sys
import time
import traceback

from libipc import MessageQueue, Semaphore, kernel

SIZE = 64
QUEUE_DEPTH = 10        # Linux's default msg_max: what posix_ipc gets unprivileged
WARMUP = 50


def session(out: str, rounds: int, messages: int) -> None:
    ping = Semaphore("/bench-ping", create=True, undo=False)
    pong = Semaphore("/bench-pong", create=True, undo=False)
    queue = MessageQueue("/bench-mq", create=True, max_messages=QUEUE_DEPTH,
                         max_message_size=SIZE)
    child = kernel().spawn(argv=[__file__, "child", str(rounds), str(messages)],
                           name="semmq-bench", acl=["@public", "naming"])["ep"]
    gc.disable()
    for _ in range(WARMUP):
        ping.release()
        pong.acquire()
    samples = []
    t_all = time.perf_counter_ns()
    for _ in range(rounds):
        t = time.perf_counter_ns()
        ping.release()
        pong.acquire()
        samples.append(time.perf_counter_ns() - t)
    pingpong_s = (time.perf_counter_ns() - t_all) / 1e9
    queue.receive(timeout=30)   # the first message starts the clock
    t0 = time.perf_counter()
    for _ in range(messages - 1):
        queue.receive(timeout=30)
    mq_s = time.perf_counter() - t0
    gc.enable()
    kernel().kill(ep=child, signal_name="KILL")
    with open(out, "w") as f:
        json.dump({"pingpong_ns": samples, "pingpong_s": pingpong_s,
                   "mq_messages": messages - 1, "mq_s": mq_s}, f)


def child(rounds: int, messages: int) -> None:
    ping = Semaphore("/bench-ping", undo=False)
    pong = Semaphore("/bench-pong", undo=False)
    queue = MessageQueue("/bench-mq", mode="w")
    gc.disable()
    for _ in range(WARMUP + rounds):
        ping.acquire()
        pong.release()
    data = b"m" * SIZE
    for _ in range(messages):
        queue.send(data)
    time.sleep(3600)   # (killed by the session)


if __name__ == "__main__":
    if sys.argv[1] == "child":
        child(int(sys.argv[2]), int(sys.argv[3]))
    else:
        try:
            session(sys.argv[1], int(sys.argv[2]), int(sys.argv[3]))
        except BaseException:   # the bench reports the missing result; the log says why
            traceback.print_exc()
            sys.stdout.flush()
            os._exit(1)
