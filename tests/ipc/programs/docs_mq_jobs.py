"""A priority job queue with three workers over message queues (docs/ipc.md).

    run docs_mq_jobs.py worker A &     (three of them: A, B, C)
    run docs_mq_jobs.py boss           queues the jobs, then collects the results

The boss queues every job with its priority, and one "stop" per worker at
priority 0, before it lets the workers go (the semaphore /jobs-go): so each
worker takes its jobs highest priority first (FIFO within one), and the stops
last. It is told of results by notify() — a SIGIO handler, not a blocking
receive. Each result says which worker did which job, in which turn; the boss
prints the jobs done and checks each worker's turns against the priorities.
"""

import sys

import libipc
from libipc import MessageQueue, Semaphore

WORKERS = 3
JOBS = [("low", 1), ("urgent", 9), ("mid", 5), ("urgent2", 9), ("mid2", 5), ("low2", 1)]

jobs = MessageQueue("/jobs", create=True, max_messages=16, max_message_size=64)
results = MessageQueue("/results", create=True, max_messages=16, max_message_size=64)
go = Semaphore("/jobs-go", create=True, initial=0, undo=False)

if sys.argv[1] == "worker":
    me = sys.argv[2]
    go.acquire(timeout=20)               # the jobs are all in the queue
    done = 0
    while True:
        data, priority = jobs.receive(timeout=20)
        if data == b"stop":
            break
        done += 1
        results.send(f"{data.decode()} {priority} {me} {done}".encode())
    results.send(f"bye {me} {done}".encode())
else:
    got: list[str] = []

    def arrived(q: MessageQueue) -> None:
        q.notify(arrived)                # a registration works once: again first
        while True:
            try:
                data, _ = q.receive(timeout=0)
            except libipc.WouldBlock:
                return
            got.append(data.decode())

    results.notify(arrived)
    for name, priority in JOBS:
        jobs.send(name.encode(), priority=priority)
    for _ in range(WORKERS):
        jobs.send(b"stop")
    for _ in range(WORKERS):
        go.release()
    byes = 0
    while byes < WORKERS:
        libipc.pause(timeout=1.0)        # until a handler ran (a timeout: no race)
        byes = sum(line.startswith("bye") for line in got)
    done = [line.split() for line in got if not line.startswith("bye")]
    print("jobs:", " ".join(sorted(f"{name}@{prio}" for name, prio, *_ in done)))
    order = [name for name, _ in sorted(JOBS, key=lambda job: -job[1])]   # stable
    turns = {}
    for name, _, worker, turn in done:
        turns.setdefault(worker, []).append((int(turn), order.index(name)))
    in_order = all([i for _, i in sorted(t)] == sorted(i for _, i in t) for t in turns.values())
    print("workers:", sum(int(line.split()[2]) for line in got if line.startswith("bye")),
          f"jobs done, each worker's highest priority first: {in_order}")
    for q in (jobs, results):
        q.unlink()
    go.unlink()
