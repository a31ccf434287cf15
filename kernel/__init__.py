"""The nanokernel process alone: process table, router, kernel calls, hosted servers.

Files (read in this order): endpoint.py (endpoint numbers), proc.py (a process
table entry), admit.py (the admission rules, written once), router.py (moving
messages ring to ring), syscalls.py (the calls at endpoint 0), hosted.py
(servers placed inside the kernel process), spawn.py, halt.py, trace.py,
counters.py, kernel.py (the table and the loop), boot.py (start init, run).

Rules: the kernel imports libipc's wire layer and nothing of ``servers`` or of
the front end (``nanokernel``); it knows no server by name — the front end
tells it which program is init and what the limits are, as plain values.
"""
