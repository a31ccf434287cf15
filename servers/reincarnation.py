"""The restart policy: what init does when one of its servers exits.

MINIX's reincarnation server is the model.  A server's ``restart`` policy says
whether an exit is restarted at all:

    always       every exit (a clean exit too)
    on-failure   a non-zero status or a signal
    never        never (the session program, servers started from the shell)

Restarts back off exponentially: the n-th quick failure in a row waits
``backoff * 2**(n-1)`` seconds, at most ``backoff_max``.  A failure is quick
when the server ran less than ``stable`` seconds; a server that stayed up that
long starts a fresh count.  After ``give_up`` quick failures in a row init
stops trying and says so once on the console; the rest of the system stays up.

A server that exits with ``EXIT_WONT_HELP`` (78, EX_CONFIG) says a restart
cannot fix it — a damaged disk, a missing image — and is not restarted.

``Reincarnation`` is pure bookkeeping (no IPC, no clock of its own): init
feeds it exits with their times and does what the returned ``Decision`` says.
"""

from __future__ import annotations

from dataclasses import dataclass, field

EXIT_WONT_HELP = 78   # EX_CONFIG: "do not restart me, the cause is outside me"


@dataclass(frozen=True)
class RestartKnobs:
    """The [restart] table of boot.toml (seconds, and a count)."""

    backoff: float = 0.1            # first delay
    backoff_max: float = 5.0        # cap on the delay
    stable: float = 10.0            # up this long: the failure count starts over
    give_up: int = 5                # quick failures in a row before giving up
    register_timeout: float = 10.0  # a started server must register within this


@dataclass(frozen=True)
class Decision:
    action: str          # "restart" | "give_up" | "stay_down" | "wont_help"
    delay: float = 0.0   # for "restart"
    failures: int = 0    # quick failures in a row, this one included
    window: float = 0.0  # seconds from the first of them to this one


@dataclass
class Reincarnation:
    policy: str
    knobs: RestartKnobs = field(default_factory=RestartKnobs)
    failures: list[float] = field(default_factory=list)   # times of quick failures in a row

    def wants_restart(self, status: int) -> bool:
        return self.policy == "always" or (self.policy == "on-failure" and status != 0)

    def on_exit(self, status: int, uptime: float, now: float) -> Decision:
        """Decide about an exit with ``status`` after ``uptime`` seconds, at time ``now``."""
        if not self.wants_restart(status):
            return Decision("stay_down")
        if status == EXIT_WONT_HELP:
            return Decision("wont_help")
        if uptime >= self.knobs.stable:
            self.failures.clear()
        self.failures.append(now)
        count, window = len(self.failures), now - self.failures[0]
        if count >= self.knobs.give_up:
            return Decision("give_up", failures=count, window=window)
        delay = min(self.knobs.backoff_max, self.knobs.backoff * 2 ** (count - 1))
        return Decision("restart", delay=delay, failures=count, window=window)

    def reset(self) -> None:
        self.failures.clear()
