"""init — the first user process: boots the servers and keeps them alive.

Why the system needs it: the kernel knows no server by name.  init reads the
boot configuration (servers/bootconfig.py), starts every server through the
kernel's ``spawn`` — each under its configured name, with its ACL and
privileges — and, like MINIX's reincarnation server, restarts a server that
exits, per its policy (servers/reincarnation.py).  It is what makes a crash
of fs an inconvenience instead of the end of the boot.

Boot, as events (init keeps serving calls all along, it never sleeps):

  1. load and check boot.toml; if it is bad, log the one-line reason and
     halt with status 2 (the kernel's CLI checks it first, on the terminal);
  2. spawn every server whose dependencies are *started* (spawned, whether
     or not they registered yet) — naming, slot 2, first: everyone depends on
     it.  So the servers start in parallel and registration races: a
     register call waits in naming's ring until naming serves, and a client
     of a dependency waits for its name (fs retries "block").  A started
     server counts as running once it registered its name *and* every
     dependency runs (naming NOTIFYs init on each register; init asks for
     the whole table in one ``list`` call — asynchronously, it never waits
     for naming — and looks again every POLL_S until ``register_timeout``;
     that clock is held while naming or a dependency is down or slow to
     answer its heartbeat, so a server is not killed for waiting on another).
     A server placed in the kernel waits for its dependencies to *run*
     instead: it starts on the kernel's own loop;
  3. a server whose dependency was given up on (or exited for good) is not
     started, and if it was already spawned and does not run yet it is
     killed: either way one line "X not started: Y is down", state failed;
  4. the session program (the shell) is spawned with the servers, so its
     start-up overlaps theirs, and waits in init's ``booted`` op (libipc's
     ``current()`` makes that call when NK_SESSION_WAITS is set); once every
     server is settled: the boot banner, then ``booted`` answers and the
     session goes on.  When the session exits, init halts the system with
     its exit status.

Placement: a server placed "kernel" (boot.toml, or every server with
``--monolithic``, fs and block with ``--hybrid``) is hosted inside the kernel
process (kernel call ``host``) instead of spawned; see ``Init.placement``.

Exits: NOTIFY_EXIT from the kernel → ``wait`` → the exit records.  Each
crash prints one console line naming the server, its status and the log file;
the restart waits per the backoff; a server that crashes before it ever
registered is given up on after ``give_up`` tries, one that served is
restarted every time unless its ``intensity`` says otherwise (the policy:
servers/reincarnation.py).  Servers get "naming" in their ACL whatever the
config says (they must register).

Heartbeats (MINIX RS's pings): every running server is sent a ``heartbeat``
CALL every ``heartbeat`` seconds (its knob, 2 s by default), at most one at a
time, with ``call_async`` — init never waits for it.  A server that has not
answered a ping for two periods is hung: one console line, SIGKILL through
the kernel, and its exit is a crash like any other (restarted per policy).
A refusal by the kernel (the call never reached the server: init's own
call limit) is no answer either way: the next period pings again.
Not pinged: the session program and servers with restart = "never" (nobody
would bring them back: a shell user sees a hang in ``status`` and decides),
and servers hosted in the kernel (they cannot hang apart from it).

init's ops ``start``/``stop`` take the names of Server's start()/stop() hooks,
so init overrides ``attach`` and has its own ``main`` (it has nothing to flush).

Ops (for the shell):
    start(path, name=None, args=None) → {name, ep, pid}   a server file, public,
        ACL ["@public"], never restarted; replies once it registered
    stop(name)  → None   SIGTERM (SIGKILL after STOP_GRACE_S); replies when it exited;
        a stopped server is not restarted
    status()    → [{name, state, ep, pid, restarts, policy, status, placement,
                    intensity, intensity_period, heartbeat, backoff, backoff_max,
                    give_up, served, beats, last_failure}]   last_failure: None or
                    {what, status, signal, at (time.time()), uptime_s}
    booted()    → True   once every server settled and the banner was said (deferred)
"""

from __future__ import annotations

import contextlib
import os
import signal
import sys
import time
from pathlib import Path

from libipc import (
    Deferred,
    InvalidArgument,
    IpcError,
    NoSuchEndpoint,
    PermissionDenied,
    Server,
    ServerDied,
    kernel,
    lookup,
    op,
)
from libipc.message import KERNEL, NOTIFY_EXIT, NOTIFY_REGISTERED
from libipc.naming import NAMING as NAMING_EP
from libipc.ordered import ordered
from libipc.runtime import HEARTBEAT_OP, current
from libipc.server import is_remote
from servers.bootconfig import (
    NAME_RE,
    NAMING,
    BootConfigError,
    Config,
    ServerSpec,
    config_path,
    load,
)
from servers.reincarnation import Reincarnation

POLL_S = 0.25   # a fallback: naming NOTIFYs init on every register
STOP_GRACE_S = 3.0
NAMING_SLOT = 2
HYBRID = ("fs", "block")   # what --hybrid hosts in the kernel (the NT/XNU compromise)

WAITING, STARTING, RUNNING = "waiting", "starting", "running"
BACKOFF, FAILED, EXITED, STOPPED = "backoff", "failed", "exited", "stopped"
HUNG = "hung"   # missed its heartbeats: killed, its exit not come yet
HUNG_AFTER = 2  # heartbeat periods without an answer
SUSPECT_S = 0.5  # a heartbeat unanswered this long: its dependents' start clocks wait
MAX_PINGS = 8   # pings in flight at once, at most (and at most half the kernel's max_calls:
                # the rest is for init's own calls; a ping over it waits for the next period)
SETTLED = (RUNNING, FAILED, EXITED, STOPPED)
DOWN = (FAILED, EXITED, STOPPED)


class Service:
    """One server init looks after: its spec and what became of it."""

    def __init__(self, spec: ServerSpec, adhoc: bool = False) -> None:
        self.spec, self.name, self.adhoc = spec, spec.name, adhoc
        self.knobs = spec.knobs
        self.policy = Reincarnation(spec.restart, spec.knobs)
        self.state = WAITING
        self.ep: int | None = None
        self.pid: int | None = None
        self.status: int | None = None       # of the last exit
        self.started = 0.0                   # time.monotonic() of the last spawn
        self.deadline = 0.0                  # to register by
        self.restarts = 0
        self.timer = None                    # pending restart / stop escalation
        self.stopping = False
        self.registered = False              # its name is in naming's table (this spawn)
        self.doomed: str | None = None       # killed: this dependency went down first
        self.starters: list[Deferred] = []   # `start` callers, answered when registered
        self.stoppers: list[Deferred] = []   # `stop` callers, answered at the exit
        self.last_failure: dict | None = None   # what the last failure was, and when
        # heartbeats (this spawn): the timer, the ping in flight, since when unanswered
        self.beat_timer = None
        self.ping_id: int | None = None
        self.unanswered_since: float | None = None
        self.hung_for: float | None = None   # killed for missing heartbeats after this long
        self.beats = 0                         # pings it answered (this spawn)
        self.answered_at = 0.0                 # time.monotonic() of the last answer

    def row(self, placement: str, pinged: bool) -> dict:
        k = self.knobs
        return {"name": self.name, "state": self.state, "ep": self.ep, "pid": self.pid,
                "restarts": self.restarts, "policy": self.spec.restart, "status": self.status,
                "placement": placement, "intensity": k.intensity,
                "intensity_period": k.intensity_period,
                "heartbeat": k.heartbeat if pinged else 0.0,
                "backoff": k.backoff, "backoff_max": k.backoff_max, "give_up": k.give_up,
                "served": self.policy.served, "beats": self.beats,
                "last_failure": self.last_failure}


class Init(Server):
    name = "init"
    register_name = False   # init is endpoint 1 (libipc.naming.INIT), not a name

    def __init__(self) -> None:
        super().__init__()
        self.config: Config | None = None
        self.services: dict[str, Service] = {}
        self.by_ep: dict[int, Service] = {}
        self.poll_timer = None
        self.names_call: int | None = None   # naming's `list`, asked and not answered yet
        self.names_again = False             # a name came meanwhile: ask once more
        self.logfile = os.environ.get("NK_LOG", "the boot log")
        self.console = lookup("console", timeout=2.0)
        self.unsaid: list[str] = []   # console lines from before the console was up
        self.booted = False            # the banner was said: every server settled
        self.boot_waiters: list[Deferred] = []   # `booted` callers (the session)
        self.max_pings = MAX_PINGS

    # -- boot --------------------------------------------------------------------------
    def attach(self, runtime) -> None:
        """Server.attach without the start() hook: init's ``start`` is an op."""
        self.runtime = runtime
        self.boot()
        self.log.info("server_started", endpoint=runtime.endpoint)

    def boot(self) -> None:
        path = config_path(os.environ)
        try:
            self.config = load(path)
        except BootConfigError as exc:
            print(f"init: {exc}", flush=True)
            self.log.error("bad_boot_config", error=str(exc))
            kernel().halt(status=2)
            return
        self.log.info("boot_config", path=str(path), servers=list(self.config.servers))
        with contextlib.suppress(IpcError, KeyError, TypeError):
            self.max_pings = max(1, min(MAX_PINGS, kernel().stats()["max_calls"] // 2))
        on_a_node = bool(os.environ.get("NK_NODE"))
        for spec in self.config.servers.values():
            if spec.node and not on_a_node:
                continue   # (the bridge: a system booted without --node has no peers)
            self.services[spec.name] = Service(spec)
        self.advance()

    def advance(self) -> None:
        """Start, promote or drop whatever can be now; repeat while that changes anything."""
        changed = True
        while changed:
            changed = False
            for svc in list(self.services.values()):
                if svc.state == WAITING:
                    changed |= self._try_start(svc)
                elif svc.state == STARTING and svc.doomed is None:
                    changed |= self._settle_started(svc)
        self._maybe_booted()

    def _maybe_booted(self) -> None:
        """Every configured server settled: the banner, then the session may go on."""
        others = [s for s in self.services.values() if not s.spec.session and not s.adhoc]
        if self.booted or not all(s.state in SETTLED for s in others):
            return
        self.booted = True
        self.banner(others)
        for waiter in self.boot_waiters:
            waiter.reply(True)
        self.boot_waiters.clear()

    def deps(self, svc: Service) -> list[str]:
        """What ``svc`` waits for: its ``depends``, and naming (everyone registers).
        The session waits for nothing here: it starts at once and waits in `booted`."""
        if svc.spec.session:
            return []
        if svc.adhoc:
            return [NAMING] if NAMING in self.services else []
        deps = [d for d in svc.spec.depends if d in self.services]   # (not a node-only one)
        if svc.name != NAMING and NAMING in self.services:
            deps.append(NAMING)
        return deps

    def _down(self, svc: Service) -> str | None:
        return next((d for d in self.deps(svc) if self.services[d].state in DOWN), None)

    def _try_start(self, svc: Service) -> bool:
        if svc.spec.session:
            # Spawned early, with the servers, so its start-up overlaps theirs; it
            # waits in `booted` until the banner (servers/shell/main.py does).
            if all(self.services[d].state in (STARTING, RUNNING) for d in self.deps(svc)):
                self.spawn_configured(svc)
                return True
            return False
        down = self._down(svc)
        if down:
            svc.state = FAILED
            self.say(f"{svc.name} not started: {down} is down")
            return True
        # A server hosted in the kernel starts on the kernel's loop: one waiting there
        # for a dependency's name would hold up the whole kernel, so it waits for it here.
        ready = (RUNNING,) if self.placement(svc) == "kernel" else (STARTING, RUNNING)
        if all(self.services[d].state in ready for d in self.deps(svc)):
            self.spawn_configured(svc)
            return True
        return False

    def _settle_started(self, svc: Service) -> bool:
        """A spawned server: running once registered with its dependencies running;
        killed when a dependency went down before that."""
        down = self._down(svc)
        if down:
            svc.doomed = down
            self.log.info("dependency_down", server=svc.name, dependency=down)
            if self.placement(svc) == "kernel" or not self._kill(svc, "KILL"):
                self._not_started(svc)   # no exit will come: settle it now
            return True
        if svc.registered and all(self.services[d].state == RUNNING for d in self.deps(svc)):
            svc.state = RUNNING
            if svc.name == NAMING and svc.restarts:
                self._restore_names()
            self.log.info("running", server=svc.name, ep=svc.ep,
                          after_s=round(time.monotonic() - svc.started, 3))
            for d in svc.starters:
                d.reply({"name": svc.name, "ep": svc.ep, "pid": svc.pid})
            svc.starters.clear()
            self._flush_console()
            self._start_heartbeat(svc)
            return True
        return False

    def _not_started(self, svc: Service) -> None:
        svc.state = FAILED
        self._refuse_starters(svc, svc.status if svc.status is not None else -9)
        self.say(f"{svc.name} not started: {svc.doomed} is down")

    def banner(self, others: list[Service]) -> None:
        up = [s.name for s in others if s.state == RUNNING]
        down = [s.name for s in others if s.state != RUNNING]
        took = time.time() - float(os.environ.get("NK_BOOT_T0") or time.time())
        count = f"{len(up)} servers" if not down else f"{len(up)} of {len(others)} servers"
        failed = f" (down: {', '.join(down)})" if down else ""
        self.say(f"nanokernel: {count} up in {took:.2f} s{failed} — log: {self.logfile}")
        self.log.info("booted", up=up, down=down, seconds=round(took, 3))

    # -- spawning ----------------------------------------------------------------------
    def spawn(self, svc: Service) -> None:
        """Start ``svc``'s process (raises the kernel's error)."""
        spec = svc.spec
        acl = list(spec.calls)
        if "*" not in acl and NAMING not in acl:
            acl.append(NAMING)
        if spec.session and "*" not in acl and "init" not in acl:
            acl.append("init")   # it waits in our `booted` before it goes on
        slot = NAMING_SLOT if spec.name == NAMING and not svc.adhoc else None
        argv = spec.argv(dict(os.environ))
        if self.placement(svc) == "kernel":
            result = kernel().host(module=spec.module, name=spec.name, acl=acl,
                                   privileged=spec.privileged, public=spec.public,
                                   args=argv[2:], slot=slot)
        else:
            result = kernel().spawn(
                argv=argv, name=spec.name, acl=acl, privileged=spec.privileged,
                public=spec.public, console=spec.console, slot=slot, restarts=svc.restarts,
                env={"NK_SESSION_WAITS": "1"} if spec.session else None)
        svc.ep, svc.pid, svc.stopping = result["ep"], result["pid"], False
        svc.registered, svc.doomed = False, None
        svc.started = time.monotonic()
        svc.deadline = svc.started + svc.knobs.register_timeout
        svc.state = RUNNING if spec.session else STARTING
        self.by_ep[svc.ep] = svc
        self.log.info("started", server=spec.name, ep=svc.ep, pid=svc.pid,
                      restarts=svc.restarts, placement=self.placement(svc))
        if svc.state == STARTING:
            self._schedule_poll()

    @staticmethod
    def placement(svc: Service) -> str:
        """"kernel" to host ``svc`` inside the kernel process, else "process".

        A server placed "kernel" in boot.toml, every server with ``--monolithic``
        (NK_MODE=monolithic), fs and block with ``--hybrid``.  The session and servers
        started from the shell stay processes (user programs are never in the kernel).
        """
        spec = svc.spec
        if spec.session or spec.module is None or svc.adhoc:
            return "process"
        mode = os.environ.get("NK_MODE", "process")
        if (spec.placement == "kernel" or mode == "monolithic"
                or (mode == "hybrid" and spec.name in HYBRID)):
            return "kernel"
        return "process"

    def spawn_configured(self, svc: Service) -> None:
        try:
            self.spawn(svc)
        except IpcError as exc:
            self.log.error("spawn_failed", server=svc.name, error=str(exc))
            svc.started = time.monotonic()
            if svc.spec.session:
                svc.state = FAILED
                self.say(f"{svc.name} could not be started ({exc}); halting")
                kernel().halt(status=1)
                return
            self._gone(svc, 127, f"could not be started ({exc})")

    def _schedule_poll(self) -> None:
        if ordered():
            return   # a reproducible run has no host-speed timers: naming's NOTIFY only
        if self.poll_timer is None:
            self.poll_timer = self.runtime.after(POLL_S, self._poll)

    def _poll(self) -> None:
        """Which starting servers registered by now?  One ``list`` call to naming, made
        asynchronously (a slow or hung naming must not hold init up); and who is past
        its register deadline."""
        self.poll_timer = None
        waiting = [s for s in self.services.values()
                   if s.state == STARTING and not s.registered]
        if waiting:
            self._ask_names()
        now = time.monotonic()
        for svc in waiting:
            if self._held_up(svc, now):
                # A server cannot register while naming, or a server it waits on, is
                # down or not answering (a dependency hung, or restarting): its clock
                # starts again once they are all well.  Killing it for that would only
                # take down an innocent server after the guilty one.
                svc.deadline = max(svc.deadline, now + svc.knobs.register_timeout)
            elif now > svc.deadline:
                svc.deadline = float("inf")   # killed once; its exit comes as NOTIFY
                self.say(f"{svc.name} did not register within "
                         f"{svc.knobs.register_timeout:g} s; killing it")
                self._kill(svc, "KILL")
        if any(s.state == STARTING and not s.registered for s in self.services.values()):
            self._schedule_poll()

    def _held_up(self, svc: Service, now: float) -> bool:
        """Is a dependency of starting ``svc`` (naming included) not running, or not
        answering its heartbeat for longer than a quick answer takes?"""
        for name in self.deps(svc):
            dep = self.services[name]
            if dep.state != RUNNING:
                return True
            if not self.pinged(dep):
                continue
            since = dep.unanswered_since
            if since is not None and now - since > min(SUSPECT_S, dep.knobs.heartbeat):
                return True
            if dep.answered_at < svc.started:   # no sign of life since svc started: it
                return True                      # may have hung just before (a ping will tell)
        return False

    def _ask_names(self) -> None:
        """Ask naming for its table; one question at a time (a name that arrives while
        one is out is asked about again when the answer comes)."""
        if self.names_call is not None:
            self.names_again = True
            return
        self.names_again = False
        try:
            self.names_call = self.runtime.call_async(NAMING_EP, "list", {},
                                                      self._names_answered)
        except IpcError as exc:
            self.log.warning("names_not_asked", error=str(exc))

    def _names_answered(self, msg) -> None:
        self.names_call = None
        try:
            names = self.runtime.result(msg)
        except IpcError:
            names = {}
        if not isinstance(names, dict):
            names = {}
        now = time.monotonic()
        changed = False
        for svc in self.services.values():
            if svc.state == STARTING and not svc.registered and svc.ep is not None \
                    and names.get(svc.name) == svc.ep:
                svc.registered, changed = True, True
                svc.policy.registered()
                self.log.info("registered", server=svc.name, ep=svc.ep,
                              after_s=round(now - svc.started, 3))
        if changed:
            self.advance()
        if self.names_again and any(s.state == STARTING and not s.registered
                                    for s in self.services.values()):
            self._ask_names()

    def _restore_names(self) -> None:
        """A restarted naming knows nobody: tell it who runs (it checks each)."""
        names = {s.name: s.ep for s in self.services.values()
                 if s.state in (RUNNING, STARTING) and s.ep is not None and s.name != NAMING
                 and not s.spec.session}
        try:
            taken = self.runtime.call(NAMING_EP, "restore", {"names": names}, timeout=2.0)
            self.log.info("names_restored", taken=taken, offered=len(names))
        except IpcError as exc:
            self.log.error("names_not_restored", error=str(exc))

    def _kill(self, svc: Service, signal_name: str) -> bool:
        if svc.ep is not None:
            try:
                kernel().kill(ep=svc.ep, signal_name=signal_name)
                return True
            except IpcError as exc:
                self.log.info("kill_failed", server=svc.name, error=str(exc))
        return False

    # -- exits -----------------------------------------------------------------------------
    def on_notify(self, src: int, bits: int) -> None:
        if bits & NOTIFY_REGISTERED and any(s.state == STARTING and not s.registered
                                            for s in self.services.values()):
            if self.poll_timer is not None:   # naming says a name arrived: look now
                self.poll_timer.cancel()
            self._poll()
        if src == KERNEL and bits & NOTIFY_EXIT:
            for record in kernel().wait():
                svc = self.by_ep.pop(record["ep"], None)
                if svc is not None:
                    self.exited(svc, record["status"])

    def exited(self, svc: Service, status: int) -> None:
        self.log.info("server_exited", server=svc.name, status=status, ep=svc.ep)
        svc.ep = svc.pid = None
        svc.status = status
        if svc.timer is not None:
            svc.timer.cancel()
            svc.timer = None
        hung_for = svc.hung_for
        self._stop_heartbeat(svc)
        if not svc.stopping and not (status == 0 and svc.spec.session):
            svc.last_failure = failure(status, time.monotonic() - svc.started, hung_for,
                                       svc.knobs.heartbeat)
        if svc.spec.session:
            svc.state = EXITED
            halt = status if status >= 0 else 128 - status
            self.log.info("session_ended", status=status, halt=halt)
            kernel().halt(status=halt)
            return
        if svc.doomed is not None and svc.state == STARTING:
            self._not_started(svc)
            self.advance()
            return
        if svc.stopping:
            svc.state, svc.stopping = STOPPED, False
            for d in svc.stoppers:
                d.reply(None)
            svc.stoppers.clear()
            self._refuse_starters(svc, status)
            return
        if hung_for is not None:
            what = f"hung (no heartbeat answer in {hung_for:.1f} s) and was killed"
        elif status < 0:
            what = f"was killed by {describe(status)}"
        else:
            what = f"exited with {status}"
        self._gone(svc, status, what)

    def _gone(self, svc: Service, status: int, what: str) -> None:
        """Apply the restart policy to an exit (or a failed spawn)."""
        self._refuse_starters(svc, status)
        now = time.monotonic()
        decision = svc.policy.on_exit(status, now - svc.started, now)
        if decision.action == "restart":
            svc.state = BACKOFF
            svc.timer = self.runtime.after(decision.delay, lambda: self._restart(svc))
            self.say(f"{svc.name} {what}, restarting in {decision.delay:g} s "
                     f"— see {self.logfile}")
            return
        if decision.action == "give_up" and decision.reason == "intensity":
            svc.state = FAILED
            self.say(f"{svc.name} {what}: more than {svc.knobs.intensity} restarts in "
                     f"{svc.knobs.intensity_period:g} s (its intensity); giving up "
                     f"— see {self.logfile}")
        elif decision.action == "give_up":
            svc.state = FAILED
            self.say(f"{svc.name} keeps crashing ({decision.failures} times in "
                     f"{decision.window:.1f} s) and never registered; giving up "
                     f"— see {self.logfile}")
        elif decision.action == "wont_help":
            svc.state = FAILED
            self.say(f"{svc.name} {what} (restarting cannot help); not restarting "
                     f"— see {self.logfile}")
        else:
            svc.state = EXITED
            if status != 0:
                self.say(f"{svc.name} {what} — see {self.logfile}")
        self._flush_console()
        self.advance()

    def _restart(self, svc: Service) -> None:
        svc.timer = None
        if svc.state == BACKOFF:
            svc.restarts += 1
            self.spawn_configured(svc)
            self.advance()   # its dependants may start now

    def _refuse_starters(self, svc: Service, status: int) -> None:
        for d in svc.starters:
            d.error(ServerDied(f"start: {svc.name} exited with {describe(status)} before "
                               f"registering — see {self.logfile}"))
        svc.starters.clear()

    # -- the console ------------------------------------------------------------------------
    def say(self, line: str) -> None:
        """One line on the console; held until the console is up; the log if it never is."""
        self.log.info("console_line", text=line)
        self.unsaid.append(line)
        self._flush_console()

    def _flush_console(self) -> None:
        console = self.services.get("console")
        state = console.state if console is not None else FAILED
        if state == RUNNING and self.unsaid:
            try:
                self.console.write(text="".join(f"{line}\n" for line in self.unsaid))
                self.unsaid.clear()
                return
            except IpcError as exc:
                self.log.warning("console_unreachable", error=str(exc))
                state = FAILED
        if state in DOWN:
            for line in self.unsaid:
                print(line, flush=True)
            self.unsaid.clear()

    # -- ops ---------------------------------------------------------------------------------
    @op
    def start(self, ctx, path: str, name: str | None = None, args: list | None = None) -> dict:
        """Start the server in file ``path`` as ``name``; reply once it registered."""
        file = Path(path)
        if not file.is_file():
            raise InvalidArgument(f"start: no such file: {path}")
        name = name or file.stem
        if not NAME_RE.match(name):
            raise InvalidArgument(f"start: bad server name {name!r} (1-32 of a-z, 0-9, _, -)")
        args = [str(a) for a in args or ()]
        old = self.services.get(name)
        if old is not None and not old.adhoc:
            raise InvalidArgument(f"start: {name!r} is a configured server")
        if old is not None and old.state not in DOWN:
            raise InvalidArgument(f"start: {name!r} is already {old.state}")
        if name in ("init", "kernel"):
            raise InvalidArgument(f"start: the name {name!r} is reserved")
        spec = ServerSpec(name=name, path=str(file.resolve()), args=args, calls=["@public"],
                          public=True, restart="never")
        if self.config is not None:
            spec.knobs = self.config.restart
        svc = Service(spec, adhoc=True)
        self.spawn(svc)
        self.services[name] = svc
        svc.starters.append(ctx.defer())
        return None

    @op
    def stop(self, ctx, name: str) -> None:
        """Stop ``name`` for good (until started again); replies when it exited."""
        svc = self.services.get(name)
        if svc is None:
            raise InvalidArgument(f"stop: no server {name!r} (see status)")
        if svc.spec.session:
            raise InvalidArgument("stop: the session program ends by exiting (halt)")
        if svc.ep is not None and self.placement(svc) == "kernel":
            raise InvalidArgument(f"stop: {name} runs inside the kernel; it cannot be stopped")
        if svc.ep is None:
            if svc.timer is not None:
                svc.timer.cancel()
                svc.timer = None
            if svc.state not in DOWN:
                svc.state = STOPPED
            return None
        svc.stopping = True
        svc.stoppers.append(ctx.defer())
        self._kill(svc, "TERM")
        ep = svc.ep
        svc.timer = self.runtime.after(
            STOP_GRACE_S, lambda: self._kill(svc, "KILL") if svc.ep == ep else None)
        return None

    @op
    def crash(self, ctx, name: str) -> dict:
        """Make server ``name`` fault on purpose (privileged callers: the shell's ``crash``).

        A server process dies of it and is restarted per its policy; a server
        hosted in the kernel takes the kernel down with it (a panic) — the
        isolation a microkernel buys, shown by losing it."""
        caller = kernel().whoami(ep=ctx.sender.endpoint)
        if not caller["privileged"] or is_remote(ctx):
            raise PermissionDenied(f"crash: {caller['name']} is not privileged")
        svc = self.services.get(name)
        if svc is None or svc.ep is None:
            raise NoSuchEndpoint(f"crash: no running server named {name!r}")
        self.log.warning("crash_requested", server=name, by=caller["name"])
        try:
            self.runtime.call(svc.ep, "_fault", {})
        except ServerDied:
            return {"name": name, "placement": "process", "crashed": True}
        return {"name": name, "crashed": False}

    @op
    def booted(self, ctx) -> bool:
        """Replies once every configured server has settled and the banner was said (at
        once after that): the session, started with the servers, waits here."""
        if self.booted:
            return True
        self.boot_waiters.append(ctx.defer())
        return None

    @op
    def status(self, ctx) -> list:
        """Every server init knows, in start order, with its policy and last failure."""
        return [s.row(self.placement(s), self.pinged(s)) for s in self.services.values()]

    # -- heartbeats ----------------------------------------------------------------------------
    def pinged(self, svc: Service) -> bool:
        """Does init ping ``svc``?  Not the session, not a server nobody would restart,
        not one hosted in the kernel (it cannot hang apart from the kernel)."""
        return (svc.knobs.heartbeat > 0 and not svc.spec.session and not ordered()
                and svc.spec.restart != "never" and self.placement(svc) == "process")

    def _start_heartbeat(self, svc: Service) -> None:
        self._stop_heartbeat(svc)
        if self.pinged(svc) and svc.ep is not None:
            ep = svc.ep
            svc.beat_timer = self.runtime.after(svc.knobs.heartbeat,
                                                lambda: self._beat(svc, ep))

    def _stop_heartbeat(self, svc: Service) -> None:
        if svc.beat_timer is not None:
            svc.beat_timer.cancel()
        if svc.ping_id is not None and svc.ep is not None:
            self.runtime.forget(svc.ep, svc.ping_id)
        svc.beat_timer = svc.ping_id = svc.unanswered_since = svc.hung_for = None
        svc.beats, svc.answered_at = 0, 0.0

    def _beat(self, svc: Service, ep: int) -> None:
        """One heartbeat period passed: kill ``svc`` if its ping is HUNG_AFTER periods
        old, else ping it (unless a ping is still out) and look again in a period."""
        svc.beat_timer = None
        if svc.ep != ep or svc.state != RUNNING or svc.stopping:
            return
        period, now = svc.knobs.heartbeat, time.monotonic()
        since = svc.unanswered_since
        if since is not None and now - since >= HUNG_AFTER * period * 0.99:
            self.runtime.take_arrived()   # the answer may be on init's ring, unread
            if svc.ep != ep or svc.state != RUNNING or svc.stopping:
                return
            since = svc.unanswered_since
        if since is not None and now - since >= HUNG_AFTER * period * 0.99:
            self._hung(svc, now - since)
            return
        in_flight = sum(s.ping_id is not None for s in self.services.values())
        if svc.ping_id is None and in_flight < self.max_pings:
            if since is None:
                svc.unanswered_since = now
            try:
                svc.ping_id = self.runtime.call_async(
                    ep, HEARTBEAT_OP, {}, lambda msg: self._beat_answered(svc, ep, msg))
            except IpcError as exc:
                self.log.warning("heartbeat_not_sent", server=svc.name, error=str(exc))
        svc.beat_timer = self.runtime.after(period, lambda: self._beat(svc, ep))

    def _beat_answered(self, svc: Service, ep: int, msg) -> None:
        if svc.ep != ep or msg.id != svc.ping_id:
            return
        svc.ping_id = None
        if msg.src == ep:                 # the server itself answered: alive
            svc.unanswered_since = None
            svc.beats += 1
            svc.answered_at = time.monotonic()
        else:   # the kernel refused the call (it never got there): no news, ping again
            svc.unanswered_since = None
            try:
                self.runtime.result(msg)
            except IpcError as exc:
                self.log.warning("heartbeat_refused", server=svc.name, error=str(exc))

    def _hung(self, svc: Service, silent: float) -> None:
        """No answer for HUNG_AFTER periods: kill it; its exit restarts it per policy."""
        svc.state, svc.hung_for = HUNG, silent
        self.log.warning("heartbeat_missed", server=svc.name, ep=svc.ep,
                         silent_s=round(silent, 3), period_s=svc.knobs.heartbeat)
        self.say(f"{svc.name} did not answer heartbeats for {silent:.1f} s "
                 f"(period {svc.knobs.heartbeat:g} s); killing it")
        if not self._kill(svc, "KILL"):
            self.log.error("hung_server_not_killed", server=svc.name)


def failure(status: int, uptime: float, hung_for: float | None, period: float) -> dict:
    """The record of one failure for `status`: what, the exit status, when."""
    if hung_for is not None:
        what = f"missed heartbeats ({hung_for:.1f} s, period {period:g} s)"
    elif status < 0:
        what = f"killed by {describe(status)}"
    elif status == 0:
        what = "exited with 0"
    else:
        what = f"exited with {status}"
    return {"what": what, "status": status,
            "signal": describe(status) if status < 0 else None,
            "at": round(time.time(), 3), "uptime_s": round(uptime, 3)}


def describe(status: int) -> str:
    """An exit status in words: "1", or "SIGKILL" for a signal."""
    if status < 0:
        try:
            return signal.Signals(-status).name
        except ValueError:
            return f"signal {-status}"
    return str(status)


def main() -> None:
    """Server.main without the stop() hook (init's ``stop`` is an op)."""
    runtime = current()
    init = Init()
    runtime.transport.ring_on_signal(signal.SIGTERM)   # serve_forever stops on it
    init.attach(runtime)
    init.serve_forever()
    init.log.info("init_stopped")
    sys.stdout.flush()
    os._exit(0)


if __name__ == "__main__":
    main()
