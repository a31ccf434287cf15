"""A bounded buffer in shared memory, guarded by two semaphores (docs/ipc.md).

    start examples/shm_ring.py              the broker: makes the region, grants it
    run examples/shm_ring.py consumer &     takes the items, prints their count and sum
    run examples/shm_ring.py producer N     puts N items (then -1: the end) into the ring

Two user programs may not grant each other memory (they are not linked by the
call graph), but each may call a public server and a server may grant to a
client that calls it: the broker makes one region and grants it, writable, to
each program that asks. The ring has SLOTS slots of 8 bytes; /ring-empty counts
free slots, /ring-full filled ones (undo=False: a consumer's taken units are
not given back when it exits).
"""

import struct
import sys

from libipc import Semaphore, Server, lookup, op, shm

SLOTS = 8


class Ring(Server):
    name = "shm_ring"

    def start(self) -> None:
        self.region = shm.create(SLOTS * 8)

    @op
    def share(self, ctx) -> int:
        return self.region.grant(ctx.sender.endpoint, writable=True)


def semaphores() -> tuple[Semaphore, Semaphore]:
    empty = Semaphore("/ring-empty", create=True, initial=SLOTS, undo=False)
    full = Semaphore("/ring-full", create=True, initial=0, undo=False)
    return empty, full


def consumer() -> None:
    empty, full = semaphores()
    ring = shm.map(lookup("shm_ring").share())
    count = total = 0
    while True:
        full.acquire()
        (value,) = struct.unpack_from("<q", ring.buf, (count % SLOTS) * 8)
        empty.release()
        if value < 0:
            break
        count += 1
        total += value
    print(f"consumer: {count} items, sum {total}")
    ring.close()
    for sem in (empty, full):
        sem.unlink()


def producer(n: int) -> None:
    empty, full = semaphores()
    ring = shm.map(lookup("shm_ring").share())
    for i in range(n + 1):
        empty.acquire()
        struct.pack_into("<q", ring.buf, (i % SLOTS) * 8, i + 1 if i < n else -1)
        full.release()
    print(f"producer: {n} items, sum {n * (n + 1) // 2}")
    ring.close()


if __name__ == "__main__":
    if len(sys.argv) < 2:
        Ring.main()
    elif sys.argv[1] == "consumer":
        consumer()
    else:
        producer(int(sys.argv[2]))
