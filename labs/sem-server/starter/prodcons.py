"""prodcons — the bounded buffer, across processes, on labsem semaphores (a user program).

    run prodcons.py setup SLOTS              the buffer (SLOTS files in /home/pc) and
                                             its three semaphores
    run prodcons.py produce TAG COUNT &      puts TAG-0 ... TAG-(COUNT-1) in the buffer
    run prodcons.py consume TAG COUNT        takes COUNT items out; prints "TAG: got ITEM"

Dijkstra's solution: ``empty`` counts the free slots (SLOTS at first), ``full`` the
items in the buffer (0), ``mutex`` (1) guards the two indices, ``in`` and ``out``,
kept in files next to the slots so every producer and consumer shares them.  A
producer downs ``empty`` (waits while the buffer is full), a consumer downs ``full``
(waits while it is empty).  Every down waits at most WAIT_S (Timeout: exit 1).
"""

import sys

from libipc import IpcError, lookup

DIR = "/home/pc"
WAIT_S = 20.0
EMPTY, FULL, MUTEX = "pc-empty", "pc-full", "pc-mutex"


def put(fs, path: str, text: str) -> None:
    data = text.encode()
    fs.write(path=path, offset=0, data=data, create=True)
    fs.truncate(path=path, size=len(data))


def get(fs, path: str) -> str:
    return fs.read(path=path).decode()


def setup(sem, fs, slots: int) -> None:
    fs.mkdir(path=DIR)
    put(fs, f"{DIR}/slots", str(slots))
    for index in ("in", "out"):
        put(fs, f"{DIR}/{index}", "0")
    sem.create(name=EMPTY, value=slots)
    sem.create(name=FULL, value=0)
    sem.create(name=MUTEX, value=1)


def move(sem, fs, index: str, item: str | None) -> str:
    """Under the mutex: put ``item`` in the slot at ``index`` (or take the one there)
    and step the index on."""
    sem.down(name=MUTEX, timeout=WAIT_S)
    try:
        at, slots = int(get(fs, f"{DIR}/{index}")), int(get(fs, f"{DIR}/slots"))
        slot = f"{DIR}/slot{at % slots}"
        if item is None:
            item = get(fs, slot)
        else:
            put(fs, slot, item)
        put(fs, f"{DIR}/{index}", str(at + 1))
    finally:
        sem.up(name=MUTEX)
    return item


def produce(sem, fs, tag: str, count: int) -> None:
    for i in range(count):
        sem.down(name=EMPTY, timeout=WAIT_S)
        move(sem, fs, "in", f"{tag}-{i}")
        sem.up(name=FULL)


def consume(sem, fs, tag: str, count: int) -> None:
    for _ in range(count):
        sem.down(name=FULL, timeout=WAIT_S)
        item = move(sem, fs, "out", None)
        sem.up(name=EMPTY)
        print(f"{tag}: got {item}", flush=True)


def main() -> int:
    sem, fs = lookup("labsem").with_timeout(WAIT_S + 10), lookup("fs")
    args = sys.argv[1:]
    try:
        if args[:1] == ["setup"] and len(args) == 2:
            setup(sem, fs, int(args[1]))
        elif args[:1] in (["produce"], ["consume"]) and len(args) == 3:
            (produce if args[0] == "produce" else consume)(sem, fs, args[1], int(args[2]))
        else:
            print("usage: prodcons.py setup SLOTS | produce TAG COUNT | consume TAG COUNT")
            return 2
    except IpcError as exc:
        print(f"prodcons {' '.join(args)}: {exc.message}: {exc.code}", flush=True)
        return 1
    return 0


sys.exit(main())
