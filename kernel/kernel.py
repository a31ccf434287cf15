"""The nanokernel: a process table, a router, and a loop that sleeps when idle.

The kernel knows no server by name.  It starts one process (init) and from
then on only does what processes ask through kernel calls (endpoint 0) and
what the router rules say.  Its one blocking point is ``nk_wait_any``: a futex
wait on every process's outgoing ring, on the incoming rings someone waits
to write into, and on the kernel's private doorbell (rung by the reaper
thread when a child exits).

    loop:  wait → reap exits → route every ready ring (fairly) → deliver pending
           → advance a halt in progress
"""

from __future__ import annotations

import contextlib
import signal
import subprocess
import sys
import threading
import time
import traceback
from pathlib import Path
from queue import SimpleQueue
from typing import Any

from libipc._nkffi import ffi, lib

from kernel import endpoint as ep
from kernel import quiescence, sched, signals
from kernel import spawn as spawning
from kernel.counters import Counters
from kernel.grants import Grants
from kernel.halt import Halter
from kernel.hosted import Host, KernelPanic
from kernel.ordering import Replay, Seeded
from kernel.proc import Proc, State
from kernel.recording import Recorder, exit_of, halt_mark
from kernel.router import BATCH, Router
from kernel.syscalls import dispatch_syscall
from kernel.table import RouteTable
from kernel.trace import Tracer
from libipc import fdlink, jsonlog
from libipc.channel import Channel
from libipc.errors import Halted, InvalidArgument, IpcError, ServerDied
from libipc.limits import DEFAULT_MAX_CALLS, DEFAULT_MAX_MESSAGE
from libipc.message import HEADER_SIZE, NOTIFY_EXIT, REPLY, pack

SPIN_NS = 20_000
SETTLE_S = 1.0    # ordered delivery waits this long for every process to wait
C_ROUNDS = 1024   # waits nk_route_loop may do before Python looks around
MAX_RANKED = 1024   # names whose first start halt remembers
PANIC_STATUS = 70   # EX_SOFTWARE: what a boot that ended in a kernel panic exits with


class Kernel:
    def __init__(self, *, log_fd: int | None = None, log_path: Path | None = None,
                 trace_path: Path | None = None, max_message: int = DEFAULT_MAX_MESSAGE,
                 max_calls: int = DEFAULT_MAX_CALLS, ring_capacity: int | None = None,
                 c_path: bool = True, order: Seeded | Replay | None = None,
                 recorder: Recorder | None = None) -> None:
        self.max_message = max_message
        self.max_record = max_message + HEADER_SIZE
        self.max_calls = max_calls
        self.ring_capacity = ring_capacity or _ring_capacity_for(self.max_record)
        # Undelivered messages the kernel holds for one process before it stops
        # taking that process's own messages (router.backlogged).
        self.max_pending = 4 * self.ring_capacity
        self.log_fd = log_fd
        self.log_path = log_path
        # libipc.jsonlog: structlog's lines without its import (~65 ms before init starts)
        self.log = jsonlog.get_logger(proc="kernel")
        self.tracer = Tracer(trace_path)
        self.order = order          # one message at a time, in this order (kernel/ordering.py)
        self.recorder = recorder    # the delivery order kept (kernel/recording.py)
        self.reproducible = order is not None or recorder is not None
        self.procs: dict[int, Proc] = {}      # endpoint -> Proc (live ones: the dead leave)
        self.slots: dict[int, Proc] = {}      # slot -> the live Proc in it
        self.generation = [0] * ep.MAX_SLOTS
        self.rank: dict[str, int] = {}        # name -> first spawn (halt goes backwards)
        self.counters = Counters()
        self.table = RouteTable(max_calls, self.max_record)
        self.grants = Grants()   # shared-memory regions and who may map them
        self._nesting = 0        # nested passes running (a hosted server waits in a call)
        self.router = Router(self, c_path)   # c_path=False: every message in Python
        self.bell = ffi.new("uint32_t *")
        self.exits: SimpleQueue[tuple[Proc, int]] = SimpleQueue()
        self.halter: Halter | None = None
        self.exit_status = 0
        self.host = Host(self)
        self.panicked: str | None = None
        self.started = time.monotonic()
        self._ready = ffi.new("uint32_t[]", ep.MAX_SLOTS)
        # The loop's wait set, kept between passes (rebuilt on spawn, exit, corruption):
        self._live: list[Proc] | None = None   # process entries that run (not hosted)
        self.mail: set[Proc] = set()      # those the kernel holds messages or bits for
        self.blocked: set[Proc] = set()   # those whose next SEND waits for room
        self.room_wanted: dict[Proc, int] = {}   # receivers a hosted sender waits on: bytes
        self._arrays: dict[str, tuple[list[Proc], Any, tuple[int, ...]]] = {}   # _ring_array
        self._no_lens = ffi.new("uint32_t[]", 1)
        self._no_rings = ffi.new("nk_ring *[]", 1)

    # -- process table ------------------------------------------------------------
    def spawn(self, argv: list[str], *, name: str, parent: int, privileged: bool = False,
              acl: list[str] | None = None, public: bool = False, slot: int | None = None,
              console: bool = False, restarts: int = 0,
              env: dict[str, str] | None = None) -> Proc:
        """Create a process; it owns a fresh channel and nothing else of ours."""
        if self.halter is not None:
            raise Halted("the system is halting")
        slot = self._take_slot(slot)
        self.generation[slot] += 1
        endpoint = ep.make(slot, self.generation[slot])
        channel = Channel.create(self.ring_capacity, name=f"nk-{name}")
        link, theirs = fdlink.pair()
        try:
            popen = spawning.start(argv, channel, endpoint=endpoint, name=name,
                                   log_fd=self.log_fd, console=console, env=env,
                                   fd_link=theirs.fileno())
        except BaseException:
            channel.close()
            link.close()
            raise
        finally:
            theirs.close()   # the child has its own copy
        proc = Proc(endpoint, slot, name, channel, popen, parent, privileged,
                    frozenset(acl or ()), public, restarts, list(argv))
        proc.fdlink = link
        self.enter(proc)
        self._rank(name)
        threading.Thread(target=self._reap, args=(proc,), daemon=True,
                         name=f"reap-{name}").start()
        self.log.info("spawned", name=name, ep=endpoint, pid=popen.pid, argv=argv)
        return proc

    def add_hosted_proc(self, name: str, *, parent: int, acl: list[str], public: bool,
                        privileged: bool, argv: list[str], slot: int | None = None) -> Proc:
        """A process-table entry for a server that lives in the kernel process."""
        if self.halter is not None:
            raise Halted("the system is halting")
        slot = self._take_slot(slot)
        self.generation[slot] += 1
        proc = Proc(ep.make(slot, self.generation[slot]), slot, name, None, None, parent,
                    privileged, frozenset(acl), public, 0, argv)
        self.enter(proc)
        self.log.info("hosted", name=name, ep=proc.endpoint, argv=argv)
        return proc

    def enter(self, proc: Proc) -> None:
        """Put ``proc`` in the process table and its row in the routing table."""
        self.procs[proc.endpoint] = proc
        self.slots[proc.slot] = proc
        self.table.register(proc)
        self._live = None

    def _take_slot(self, wanted: int | None) -> int:
        if wanted is not None:
            if not 0 < wanted < ep.FIRST_DYNAMIC:
                raise InvalidArgument(f"spawn: slot {wanted} is not a well-known slot")
            if wanted in self.slots:
                raise InvalidArgument(f"spawn: slot {wanted} is taken")
            return wanted
        for slot in range(ep.FIRST_DYNAMIC, ep.MAX_SLOTS):
            if slot not in self.slots:
                return slot
        raise IpcError("spawn: the process table is full", code="TooManyCalls")

    def resolve(self, endpoint: int) -> Proc | None:
        """The live process an endpoint (or a well-known alias) names."""
        if ep.is_alias(endpoint):
            return self.slots.get(endpoint)
        proc = self.procs.get(endpoint)
        return proc if proc is not None and proc.alive else None

    def _rank(self, name: str) -> None:
        """Remember when ``name`` first started (a restart keeps its place, so halt still
        stops fs before block).  Bounded: names nobody runs any more are forgotten."""
        if name not in self.rank and len(self.rank) >= MAX_RANKED:
            live = {p.name for p in self.slots.values()}
            self.rank = {n: r for n, r in self.rank.items() if n in live}
        self.rank.setdefault(name, max(self.rank.values(), default=-1) + 1)

    # -- exits --------------------------------------------------------------------
    def _reap(self, proc: Proc) -> None:
        status = proc.popen.wait()
        self.exits.put((proc, status))
        lib.nk_bell_ring(self.bell)

    def _collect_exits(self) -> None:
        while not self.exits.empty():   # only the loop takes: empty() then get() is safe
            proc, status = self.exits.get()
            if self.order is not None and self.order.hold_exit(proc, status):
                continue   # a replay: its turn comes in the recording's order
            self._exited(proc, status)
        if self.order is not None:   # (here, as an exit is: before a halt's next step)
            for proc, status in self.order.due_exits():
                self._exited(proc, status)

    def _exited(self, proc: Proc, status: int) -> None:
        """Fault semantics: waiting callers get ServerDied now, its own calls are forgotten."""
        if self.recorder is not None:
            self.recorder.took(exit_of(proc.endpoint, proc.name))
        proc.set_state(State.DEAD)
        if proc.killed_by and status == -signal.SIGKILL:
            status = -proc.killed_by   # the kernel's SIGKILL stood for this signal's default
        proc.status = status
        if self.slots.get(proc.slot) is proc:
            del self.slots[proc.slot]
        self.procs.pop(proc.endpoint, None)   # its exit record lives on in `exits` only
        for caller_ep, call_id in self.table.waiting_on(proc):
            caller = self.procs.get(caller_ep)
            if caller is not None and self.table.take(caller, call_id, proc.endpoint):
                self.router.post_error(caller, proc.endpoint, call_id,
                                       ServerDied(f"{proc.name} exited with {status}"))
        self.table.clear(proc)   # its own calls go with its row
        proc.pending.clear()
        proc.pending_bytes = 0
        proc.notify_bits.clear()
        self.mail.discard(proc)
        self.blocked.discard(proc)
        self.room_wanted.pop(proc, None)
        proc.blocked_on = None
        self._live = None
        for other in list(self.blocked):
            if other.blocked_on is proc:
                self.unblock(other)
        self._tell_exit(proc, status)
        self.log.info("exited", name=proc.name, ep=proc.endpoint, pid=proc.pid, status=status)
        proc.up = proc.down = None   # a use after this is a TypeError, never a stale mapping
        proc.channel.close()
        self.grants.exited(proc)
        if proc.fdlink is not None:
            proc.fdlink.close()

    def _tell_exit(self, proc: Proc, status: int) -> None:
        record = {"ep": proc.endpoint, "name": proc.name, "pid": proc.pid, "status": status,
                  "parent": proc.parent}
        for other in list(self.slots.values()):
            if other.endpoint == proc.parent or other.watcher:
                other.exits.append(record)
                self.router.post_notify(other, ep.KERNEL, NOTIFY_EXIT)
            if other.endpoint == proc.parent:
                signals.child_exited(self, other)

    def ring_corrupt(self, proc: Proc) -> None:
        """A process broke its ring: kill it, nobody else."""
        if proc.alive and proc.popen is not None and proc.popen.returncode is None:
            self.log.error("ring_corrupt", name=proc.name, ep=proc.endpoint, pid=proc.pid)
            self.unblock(proc)
            proc.set_state(State.CORRUPT)
            self.table.set_alive(proc, False)
            self._live = None
            proc.signal(signal.SIGKILL)

    # -- kernel calls ----------------------------------------------------------------
    def syscall(self, caller: Proc, call_id: int, body: bytes) -> None:
        self.counters.kernel_calls += 1
        try:
            result = dispatch_syscall(self, caller, body)
        except IpcError as exc:
            self.router.post_error(caller, ep.KERNEL, call_id, exc)
            return
        except Exception as exc:   # a kernel bug must not take the kernel down
            self.log.exception("syscall_crashed", caller=caller.name)
            self.router.post_error(caller, ep.KERNEL, call_id,
                                   IpcError(f"{type(exc).__name__}: {exc}", code="Internal"))
            return
        self.router.post(caller, ep.KERNEL, REPLY, call_id, pack(result))

    # -- halting ------------------------------------------------------------------------
    def halt(self, status: int = 0, reason: str = "halt") -> None:
        if self.halter is None:
            self.exit_status = status
            self.log.info("halting", reason=reason, status=status)
            if self.recorder is not None:
                self.recorder.took(halt_mark())
            if self.order is not None:
                self.order.halting(self)
            self.halter = Halter(self, reason)
            lib.nk_bell_ring(self.bell)

    def panic(self, server: str, exc: BaseException) -> None:
        """A hosted server faulted: in a monolithic kernel that is the kernel's fault."""
        report = "".join(traceback.format_exception(exc)).rstrip()
        self.panicked = server
        print(f"\n*** KERNEL PANIC: unhandled fault in {server} (running inside the kernel)\n"
              f"{report}\n*** halting; see {self.log_path}", file=sys.stderr, flush=True)
        self.log.critical("kernel_panic", server=server, traceback=report)
        self.halter = None
        self.halt(PANIC_STATUS, reason=f"panic in {server}")
        raise KernelPanic(server)

    # -- the loop ------------------------------------------------------------------------
    def run(self) -> int:
        """Route until every process is gone after a halt; return the exit status."""
        while True:
            try:
                if self.step():
                    break
            except KernelPanic:
                continue
        if self.panicked is None:
            with contextlib.suppress(KernelPanic):
                self.host.stop_all()   # in-kernel servers flush last, like a kernel's sync
        self.tracer.close()
        if self.order is not None:
            self.order.finish(self)
        if self.recorder is not None:
            self.recorder.close()
        return self.exit_status

    def step(self, nested: bool = False, timeout: float | None = None) -> bool:
        """One turn of the loop; True when a halt has finished.  Hosted servers
        waiting for a reply or for room call this too (``nested``, waiting at most
        ``timeout`` seconds): the kernel goes on meanwhile."""
        caught = lib.nk_signals_take()   # recorded by csrc/nk_signal.c (see boot.py)
        if caught:
            signum = caught.bit_length() - 1
            self.halt(128 + signum, reason=signal.Signals(signum).name)
        self._collect_exits()
        if self.halter is not None and self.halter.tick() and not nested:
            return True
        if not self.live_procs() and self.halter is None:
            self.halt(self.exit_status, reason="no processes left")
            return False
        if self.order is not None:
            self._ordered_pass()
            return False
        self._nesting += nested
        try:
            self._pass(None if timeout is None else int(timeout * 1e9))
            if self.host.servers:
                self.host.run_ready(nested=self._nesting > 0)
        finally:
            self._nesting -= nested
        return False

    def live_procs(self) -> list[Proc]:
        """The process entries that run (hosted servers have no ring), kept between passes."""
        if self._live is None:
            self._live = [p for p in self.slots.values() if p.alive and p.hosted is None]
        return self._live

    def block(self, proc: Proc, dst: Proc, size: int) -> None:
        """``proc``'s next SEND waits until ``dst`` has room for ``size`` bytes."""
        proc.blocked_on, proc.blocked_len = dst, size
        self.blocked.add(proc)

    def unblock(self, proc: Proc) -> None:
        proc.blocked_on = None
        self.blocked.discard(proc)

    def _pass(self, cap_ns: int | None = None) -> None:
        live = self.live_procs()
        seen = lib.nk_bell_read(self.bell)
        if not self.mail and not self.blocked and not self.room_wanted:   # the usual case
            readers, writers, coalescing = live, [], False
            wlen = self._no_lens
        else:
            readers = [p for p in live if p.blocked_on is None and not self.router.backlogged(p)]
            writers = list(dict.fromkeys([p for p in self.mail if p.pending]
                                         + [p.blocked_on for p in self.blocked]
                                         + [p for p in self.room_wanted if p.alive]))
            coalescing = any(p.notify_bits for p in self.mail)
            wlen = ffi.new("uint32_t[]", [self._need(p) for p in writers] or 1)
        rd, rd_slots = self._ring_array("rd", readers)
        wr = self._ring_array("wr", writers)[0] if writers else self._no_rings
        # Held notifications wait for their receiver to drain its ring: look again soon.
        timeout = 50_000_000 if self.halter is not None else 5_000_000 if coalescing else -1
        if self.host.servers:   # servers hosted in the kernel: their timers and work
            timer = self.host.next_deadline_ns()
            if self.host.has_work(nested=self._nesting > 0):
                timeout = 0
            elif timer is not None:
                timeout = timer if timeout < 0 else min(timeout, timer)
        if cap_ns is not None:
            timeout = cap_ns if timeout < 0 else min(timeout, cap_ns)
        # Processes we do not read from this pass would see our running word stale
        # (only the readers' rings get it from the wait): say we wait, and then run.
        unread = [] if readers is live else [p for p in live if p not in readers]
        for p in unread:
            lib.nk_ring_mark_running(p.up, 0)
        if readers is live and timeout < 0 and self.router.fast() and sched.C_LOOP:
            # The quiet state: C waits and routes until a message needs Python.
            n = lib.nk_route_loop(self.table.c, rd, rd_slots, len(readers), self.bell, seen,
                                  SPIN_NS, BATCH, C_ROUNDS, self._ready)
        else:
            n = lib.nk_wait_any(rd, len(readers), wr, wlen, len(writers), self.bell, seen,
                                SPIN_NS, timeout, self._ready)
        for p in unread:
            lib.nk_ring_mark_running(p.up, 1)
        if n < 0:
            return  # a signal: the loop looks at it
        ready = [readers[self._ready[i]] for i in range(n)]
        for proc, budget in sched.order(ready):   # (kernel/sched.py: whom, how many)
            self.router.drain(proc, budget)
        for proc in list(self.mail):
            self.router.flush(proc)
        for proc in list(self.blocked):
            self._unblock_if_room(proc)

    def _ordered_pass(self) -> None:
        """Deliver one message, once every process waits, from the sender the order
        chooses (boot --seed/--replay: kernel/ordering.py).  What that message causes —
        a kernel call's reply, an exit's notification — follows at once, as always."""
        live = self.live_procs()
        settled = quiescence.settle([p for p in live if not self.order.holds(p)], SETTLE_S,
                                    stop=lambda: not self.exits.empty())
        if not self.exits.empty():
            return   # an exit first: the loop collects it
        if not settled:
            self.counters.unsettled += 1   # someone kept running: order may vary from here
        ready = [p for p in live if p.alive and p.blocked_on is None
                 and not self.router.backlogged(p) and lib.nk_ring_used(p.up) > 0]
        chosen = self.order.choose(ready, self) if ready else None
        if chosen is None:
            self._idle_wait(live)
        else:
            self.router.route_head(chosen)
        for proc in list(self.mail):
            self.router.flush(proc)
        for proc in list(self.blocked):   # room again: its SEND is a candidate next time
            dst = proc.blocked_on
            if dst is None or not dst.alive or (
                    not dst.pending and lib.nk_ring_writable(dst.down, proc.blocked_len)):
                self.unblock(proc)

    def at_rest(self) -> bool:
        """Before the kernel signals on its own (a halt's SIGTERM): in a reproducible
        run (ordered or recorded), wait until every process waits — a signal that
        lands while a process still handles its last message would make the order
        of what follows the host's.  False: an exit came meanwhile (collect it first)."""
        if self.order is None and self.recorder is None:
            return True
        held = self.order.holds if self.order is not None else (lambda p: False)
        quiescence.settle([p for p in self.live_procs() if not held(p)], SETTLE_S,
                          stop=lambda: not self.exits.empty())
        return self.exits.empty()

    def _idle_wait(self, live: list[Proc]) -> None:
        """Nothing to deliver: sleep until a process writes, an exit or a signal comes
        (or a short while: a held delivery may find room, a replay looks again)."""
        seen = lib.nk_bell_read(self.bell)
        rd, _ = self._ring_array("rd", live)
        timeout = 1_000_000 if self.mail or self.blocked else 20_000_000
        lib.nk_wait_any(rd, len(live), self._no_rings, self._no_lens, 0, self.bell, seen,
                        SPIN_NS, timeout, self._ready)

    def _ring_array(self, which: str, procs: list[Proc]):
        """The C array of rings to wait on, rebuilt only when the set changes (the loop
        runs on every wake-up; the set of processes seldom changes).  The cached list
        of live processes is the same object until it changes: no key to compute."""
        cached = self._arrays.get(which)
        if cached is not None and cached[0] is procs:
            return cached[1]
        key = tuple(p.endpoint for p in procs)
        if cached is None or cached[2] != key:
            rings = [p.up if which == "rd" else p.down for p in procs] or 1
            slots = [p.slot for p in procs] or 1
            arrays = (ffi.new("nk_ring *[]", rings), ffi.new("uint32_t[]", slots))
            cached = (procs, arrays, key)
        self._arrays[which] = (procs, cached[1], key)
        return cached[1]

    def _need(self, proc: Proc) -> int:
        need = self.router.pending_len(proc) if proc.pending else 0
        need = max(need, self.room_wanted.get(proc, 0))
        for p in self.blocked:
            if p.blocked_on is proc:
                need = max(need, p.blocked_len)
        return need or HEADER_SIZE

    def _unblock_if_room(self, proc: Proc) -> None:
        dst = proc.blocked_on
        if dst is None:   # unblocked meanwhile (an earlier drain this pass corrupted it)
            return
        # Pending messages go first; held notification bits do not hold a sender back
        # (they wait for an empty ring: waiting for them here spins while room is there).
        if not dst.alive or (not dst.pending
                             and lib.nk_ring_writable(dst.down, proc.blocked_len)):
            self.unblock(proc)
            self.router.drain(proc)

    def close(self) -> None:
        """Last resort after the loop: kill whatever is left, release every channel."""
        procs = [p for p in self.slots.values() if p.hosted is None]
        for proc in procs:
            proc.signal(signal.SIGKILL)
        for proc in procs:
            try:
                proc.popen.wait(timeout=5)
            except subprocess.TimeoutExpired:
                self.log.error("unkillable", name=proc.name, pid=proc.pid)
            proc.channel.close()
            if proc.fdlink is not None:
                proc.fdlink.close()   # descriptors still in it go with it
        self.slots.clear()
        self.grants.close_all()


def _ring_capacity_for(max_record: int) -> int:
    """Room for two maximum messages per direction, at least 256 KiB."""
    capacity = 256 * 1024
    while capacity < 4 * (max_record + 16):
        capacity *= 2
    return capacity
