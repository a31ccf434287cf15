"""The restart policy: what init does when one of its servers exits.

MINIX's reincarnation server (RS) and Erlang/OTP's supervisors are the model.
A server's ``restart`` policy says whether an exit is restarted at all:

    always       every exit (a clean exit too)
    on-failure   a non-zero status or a signal
    never        never (the session program, servers started from the shell)

How often, per server (boot.toml's [restart] sets the defaults, a
[servers.NAME] table may override any of them — ``RestartKnobs``):

* Backoff: the n-th quick failure in a row waits ``backoff * 2**(n-1)``
  seconds, at most ``backoff_max``.  A failure is quick when the server ran
  less than ``stable`` seconds; a server that stayed up that long starts the
  count over (the delay is back at ``backoff``).
* A server that never registered its name — it crashes while starting, every
  time: a bad argument, a missing file — is given up on after ``give_up``
  quick failures in a row.  Restarting it again would only spin.
* A server that served (registered at least once since boot) is restarted
  every time, its delay capped at ``backoff_max``: a core server killed once
  a second stays a core server.  Unless its intensity says otherwise —
  Erlang's MaxR in MaxT: more than ``intensity`` restarts within
  ``intensity_period`` seconds and init gives up on it.  ``intensity = 0``
  (the default) means no such limit.

A server that exits with ``EXIT_WONT_HELP`` (78, EX_CONFIG) says a restart
cannot fix it — a damaged disk, a missing image — and is not restarted,
whatever its policy.

Heartbeats (``heartbeat`` seconds, MINIX RS's ``-period``; 0 turns them off)
are init's business (servers/init.py); a server init killed for missing them
comes here as an exit by SIGKILL, a crash like any other.

``Reincarnation`` is pure bookkeeping (no IPC, no clock of its own): init
feeds it registrations and exits with their times and does what the returned
``Decision`` says.
"""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass, field

EXIT_WONT_HELP = 78   # EX_CONFIG: "do not restart me, the cause is outside me"


@dataclass(frozen=True)
class RestartKnobs:
    """A server's restart and heartbeat settings (seconds, and counts)."""

    backoff: float = 0.1            # first delay
    backoff_max: float = 5.0        # cap on the delay
    stable: float = 10.0            # up this long: the failure count starts over
    give_up: int = 5                # quick failures in a row of a server that never registered
    register_timeout: float = 10.0  # a started server must register within this
    intensity: int = 0              # at most this many restarts in intensity_period (0: any)
    intensity_period: float = 60.0  # … seconds (Erlang's MaxT)
    heartbeat: float = 2.0          # init pings the server this often (0: never)


# The knobs' names and types, for boot.toml's checker; "zero" ones may be 0 (off).
KNOB_TYPES = {"backoff": float, "backoff_max": float, "stable": float, "give_up": int,
              "register_timeout": float, "intensity": int, "intensity_period": float,
              "heartbeat": float}
KNOBS_ZERO_OK = ("intensity", "heartbeat")


@dataclass(frozen=True)
class Decision:
    action: str          # "restart" | "give_up" | "stay_down" | "wont_help"
    delay: float = 0.0   # for "restart"
    failures: int = 0    # quick failures in a row, this one included
    window: float = 0.0  # seconds from the first of them to this one
    reason: str = ""     # for "give_up": "never_registered" | "intensity"
    restarts: int = 0    # for reason "intensity": restarts within intensity_period


@dataclass
class Reincarnation:
    policy: str
    knobs: RestartKnobs = field(default_factory=RestartKnobs)
    failures: list[float] = field(default_factory=list)   # times of quick failures in a row
    served: bool = False                                   # registered at least once
    recent: deque[float] = field(default_factory=deque)    # restart times, intensity_period

    def wants_restart(self, status: int) -> bool:
        return self.policy == "always" or (self.policy == "on-failure" and status != 0)

    def registered(self) -> None:
        """The server registered its name: from now on it is one that served."""
        self.served = True

    def on_exit(self, status: int, uptime: float, now: float) -> Decision:
        """Decide about an exit with ``status`` after ``uptime`` seconds, at time ``now``."""
        if not self.wants_restart(status):
            return Decision("stay_down")
        if status == EXIT_WONT_HELP:
            return Decision("wont_help")
        knobs = self.knobs
        if uptime >= knobs.stable:
            self.failures.clear()
        self.failures.append(now)
        count, window = len(self.failures), now - self.failures[0]
        if not self.served and count >= knobs.give_up:
            return Decision("give_up", failures=count, window=window,
                            reason="never_registered")
        if knobs.intensity > 0:
            recent = self.recent
            while recent and now - recent[0] > knobs.intensity_period:
                recent.popleft()
            if len(recent) >= knobs.intensity:   # this restart would be one too many
                return Decision("give_up", failures=count, window=window,
                                reason="intensity", restarts=len(recent))
            recent.append(now)
        delay = min(knobs.backoff_max, knobs.backoff * 2 ** min(count - 1, 62))
        return Decision("restart", delay=delay, failures=count, window=window)

    def reset(self) -> None:
        self.failures.clear()
