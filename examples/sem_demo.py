"""sem_demo: a lock held by one program and wanted by another (docs/shell.md).

    run examples/sem_demo.py hold &    take /lock, then sleep until killed
    run examples/sem_demo.py try       /lock is held: acquire(timeout=0) says WouldBlock
    kill %1                            the holder dies ...
    run examples/sem_demo.py take      ... and the sem server gave its unit back

A second semaphore, /lock-held, tells the others that the holder has the lock
(so `try` never runs before `hold` took it).
"""

import sys
import time

from libipc import Semaphore, WouldBlock

lock = Semaphore("/lock", create=True, initial=1)   # undo (the default): given back at exit
held = Semaphore("/lock-held", create=True, undo=False)
mode = sys.argv[1] if len(sys.argv) > 1 else "try"

if mode == "hold":
    lock.acquire()
    held.release()        # "I have it"
    time.sleep(3600)      # until killed
elif mode == "try":
    held.acquire(timeout=10)   # wait until the holder has the lock ...
    held.release()             # ... and leave the word for the next one
    try:
        lock.acquire(timeout=0)
        print("got /lock")
    except WouldBlock:
        print("/lock is held by another process: WouldBlock")
elif mode == "take":
    lock.acquire(timeout=10)   # the dead holder's unit comes back when its exit is known
    print(f"got /lock: its dead holder's unit was given back (value now {lock.value})")
    lock.release()
    for sem in (lock, held):
        sem.unlink()
