"""Grader of labs/reincarnation: init's restart policy, judged by injected faults.

The grader boots the working copy with a configuration of its own (``--config``,
written into the test's scratch directory: the package's servers/boot.toml plus
three copies of this lab's crashy.py with restart knobs drawn per run, and
waiter.py, which lets the shell wait until init reports a state).  It judges by
what init says on the console ("X exited with 1, restarting in D s", "giving
up"), by init's status, and by the boot log's "started" and "server_exited"
events (their times give each run's uptime).

Three boots: a server that never registers (one test), a server that crashes
after every start (four tests share that boot: the first to run boots and
the others read its output, ``shared``), and a steady server killed and hung
from the shell (two tests share it).

Keeping the lab in step with the package: solution/servers/reincarnation.py is
the package's module as it is, and the starter's is the same with on_exit's
policy cut out; a change to servers/reincarnation.py is copied into both (init,
bootconfig, fs and block import the rest of it from the working copy's).
"""

from __future__ import annotations

import json
import random
import re
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from nanokernel.labs.gradelib import Grade, GradeFailure, Run, excerpt, test
from servers.bootconfig import default_path

WAIT_S = 25       # the waiter's longest wait (the shell's call gives up at 30 s)
PERIOD_S = 60.0   # the crash loop's intensity_period
MIN_RESTARTS = 3  # of the crash loop: what "restarted again and again" asks
BOOT_HELD_S = 25  # the boot with a server that never registers: a hang after this


# -- the boot configuration -------------------------------------------------------------
def crashy(g: Grade) -> str:
    """The lab's own copy of crashy.py (the student's may be changed; this is not)."""
    return str(g.lab_dir.resolve() / "starter" / "servers" / "crashy.py")


def boot_config(g: Grade, servers: dict[str, dict]) -> Path:
    """The package's boot.toml with the waiter and ``servers`` added; its path."""
    tables = {"waiter": {"path": str(g.lab_dir.resolve() / "waiter.py"), "calls": ["init"],
                         "heartbeat": 0.0}, **servers}
    text = default_path().read_text()
    for name, table in tables.items():
        text += f"\n[servers.{name}]\n" + "".join(f"{k} = {json.dumps(v)}\n"
                                                  for k, v in table.items())
    path = g.scratch / "boot.toml"
    path.write_text(text)
    added = text[text.index("[servers.waiter]"):]
    g.note(f"boot configuration {path}: the package's, and\n{added}")
    return path


def wait_for(name: str, *conds: str, seconds: float = WAIT_S) -> str:
    """The shell command that waits until init reports one of ``conds`` for ``name``."""
    args = json.dumps({"name": name, "seconds": seconds, "conds": list(conds)})
    return f"call waiter until '{args}'"


# -- what a boot said -----------------------------------------------------------------------
@dataclass
class Boot:
    """One boot's output and log, kept after its test's scratch directory is gone."""

    out: str
    log: str

    def delays(self, name: str) -> list[float]:
        """Each "NAME ..., restarting in D s" that init said, in order."""
        return [float(d) for d in re.findall(rf"^{name} .*, restarting in (\S+) s", self.out,
                                             re.M)]

    def uptimes(self, name: str) -> list[float]:
        """Seconds from each spawn of ``name`` to its exit, from the log's events."""
        started, ups = None, []
        for line in self.log.splitlines():
            try:
                ev = json.loads(line)
            except ValueError:
                continue
            if ev.get("proc") != "init" or ev.get("server") != name:
                continue
            when = datetime.fromisoformat(ev["timestamp"].replace("Z", "+00:00"))
            if ev.get("event") == "started":
                started = when
            elif ev.get("event") == "server_exited" and started is not None:
                ups.append((when - started).total_seconds())
        return ups


def boot(g: Grade, config: Path, commands: str, timeout: float = 60) -> Boot:
    run: Run = g.boot(commands, args=("--config", str(config)), timeout=timeout)
    log = run.log.read_text(errors="replace") if run.log and run.log.exists() else ""
    return Boot(run.out, log)


_shared: dict[tuple[str, int, str], Boot] = {}


def shared(g: Grade, key: str, make) -> Boot:
    """The boot ``key`` of this run (same working copy and seed), booted once."""
    k = (str(g.dir), g.seed, key)
    if k not in _shared:
        _shared[k] = make(g)
    else:
        g.note(f"(the {key} boot, shared with an earlier test of this run)\n{_shared[k].out}")
    return _shared[k]


def close(a: float, b: float) -> bool:
    return abs(a - b) <= 1e-6 + 1e-4 * abs(b)


def expect_delays(g: Grade, got: list[float], want: list[float], what: str) -> None:
    ok = len(got) >= len(want) and all(close(x, y) for x, y in zip(got, want, strict=False))
    g.check(ok, f"{what}: expected restart delays starting {fmt(want)} s; init said "
                f"{fmt(got) or 'no restart at all'}")


def fmt(delays: list[float]) -> str:
    return ", ".join(f"{d:g}" for d in delays)


# -- a server that never registers -----------------------------------------------------------
@test(10, timeout=40)
def gives_up_on_a_server_that_never_registers(g: Grade) -> None:
    """A server that exits before it registers, every time, is given up on after
    give_up tries; the boot goes on without it."""
    give_up, backoff, word = g.rng.randint(2, 4), round(g.rng.uniform(0.02, 0.05), 3), g.secret()
    config = boot_config(g, {"broken": {
        "path": crashy(g), "args": ["--never-register"], "calls": [], "give_up": give_up,
        "backoff": backoff, "backoff_max": 1.0}})
    try:
        b = boot(g, config, f"status broken; echo {word}", timeout=BOOT_HELD_S)
    except GradeFailure as exc:
        g.fail(f"the boot did not finish in {BOOT_HELD_S} s. The banner (and the shell) "
               "wait until every configured server has settled: running, or given up on; "
               f"a policy that restarts broken forever holds the whole boot.\n{exc}")
    g.expect(b.out, rf"^broken keeps crashing \({give_up} times in .*giving up",
             f"init giving up on broken after give_up = {give_up} quick failures")
    restarts = len(b.delays("broken"))
    g.check(restarts == give_up - 1, f"broken restarted {give_up - 1} times before init gave "
            f"up (give_up = {give_up}); it was restarted {restarts} times")
    g.expect(b.out, r"\(down: broken\)", "the boot banner naming broken as down")
    g.expect(b.out, r"^state\s+failed$", "status broken: state failed")
    g.expect(b.out, rf"^{word}$", "the shell running its commands after the boot")


# -- a server that crashes after every start --------------------------------------------------
@dataclass(frozen=True)
class Loop:
    backoff: float
    cap: float
    intensity: int
    word: str          # echoed by the shell after the loop

    def want(self, n: int) -> list[float]:
        """The first n delays of the policy (every failure a quick one)."""
        return [min(self.cap, self.backoff * 2 ** i) for i in range(n)]


def loop_knobs(g: Grade) -> Loop:
    """The crash loop's knobs: fixed by the seed alone, the same in each of its tests."""
    rng = random.Random(f"{g.seed}:crash loop")
    backoff = round(rng.uniform(0.04, 0.08), 3)
    return Loop(backoff, round(backoff * rng.uniform(5, 7), 3), rng.randint(4, 5),
                f"{rng.randrange(10**8):08d}")


def crash_loop(g: Grade) -> Boot:
    k = loop_knobs(g)
    config = boot_config(g, {"crashy": {
        "path": crashy(g), "args": ["--crash-after", "0.3"], "calls": ["init"],
        "backoff": k.backoff, "backoff_max": k.cap, "stable": 30.0,
        "intensity": k.intensity, "intensity_period": PERIOD_S}})
    g.note(f"knobs: backoff {k.backoff}, backoff_max {k.cap}, intensity {k.intensity} "
           f"in {PERIOD_S:g} s; crashy crashes 0.3 s after init sees it running")
    return boot(g, config, f"{wait_for('crashy', 'state=failed', f'restarts={k.intensity + 2}')}"
                f"; status crashy; echo {k.word}")


def loop(g: Grade) -> tuple[Boot, Loop]:
    return shared(g, "crash loop", crash_loop), loop_knobs(g)


@test(5)
def restarts_a_crashing_server(g: Grade) -> None:
    """A server that crashes after every start is restarted, again and again."""
    b, k = loop(g)
    n = len(b.delays("crashy"))
    g.check(n >= MIN_RESTARTS, f"crashy restarted at least {MIN_RESTARTS} times (its "
            f"intensity is {k.intensity}); init said 'restarting' {n} times\n{excerpt(b.out)}")
    g.expect(b.out, rf"^{k.word}$", "the shell's commands after the crash loop")


@test(10, parent=restarts_a_crashing_server)
def backoff_doubles(g: Grade) -> None:
    """The n-th quick failure in a row waits backoff * 2**(n-1) seconds."""
    b, k = loop(g)
    expect_delays(g, b.delays("crashy")[:3], k.want(3),
                  f"crashy's first three restarts (backoff {k.backoff} s)")


@test(5, parent=restarts_a_crashing_server)
def backoff_is_capped(g: Grade) -> None:
    """No delay is longer than backoff_max: the doubling stops there."""
    b, k = loop(g)
    got = b.delays("crashy")[:k.intensity]
    g.check(len(got) >= 4, "crashy restarted at least 4 times (the 4th delay is the first "
            f"over backoff_max); it was restarted {len(got)} times")
    expect_delays(g, got, k.want(len(got)),
                  f"crashy's restarts (backoff {k.backoff} s, backoff_max {k.cap} s)")


@test(10, parent=restarts_a_crashing_server)
def gives_up_past_its_intensity(g: Grade) -> None:
    """More than `intensity` restarts within intensity_period: init gives up on the
    server (it is "failed"), and the rest of the system goes on."""
    b, k = loop(g)
    n = len(b.delays("crashy"))
    g.check(n == k.intensity, f"crashy restarted exactly {k.intensity} times (its intensity "
            f"{k.intensity} in {PERIOD_S:g} s), then given up on; it was restarted {n} times")
    g.expect(b.out, rf"^crashy exited with 1: more than {k.intensity} restarts in "
             rf"{PERIOD_S:g} s \(its intensity\); giving up", "init saying it gives up")
    g.expect(b.out, r'^\{"name": "crashy", "state": "failed"', "init's status: crashy failed")
    g.expect(b.out, r"^state\s+failed$", "status crashy: state failed")


# -- a steady server, killed and hung ---------------------------------------------------------
@dataclass(frozen=True)
class Steady:
    backoff: float
    stable: float
    heartbeat: float


def steady_knobs(g: Grade) -> Steady:
    rng = random.Random(f"{g.seed}:steady")
    return Steady(round(rng.uniform(0.1, 0.2), 3), round(rng.uniform(3.5, 4.5), 1),
                  round(rng.uniform(0.2, 0.4), 2))


def steady_boot(g: Grade) -> Boot:
    k = steady_knobs(g)
    config = boot_config(g, {"steady": {
        "path": crashy(g), "calls": [], "public": True, "backoff": k.backoff,
        "backoff_max": 20 * k.backoff, "stable": k.stable, "heartbeat": k.heartbeat}})
    g.note(f"knobs: backoff {k.backoff}, stable {k.stable}, heartbeat {k.heartbeat}")
    running = [wait_for("steady", f"state=running,restarts={n}") for n in range(1, 5)]
    return boot(g, config, "; ".join([
        "kill -KILL steady", running[0], "kill -KILL steady", running[1],
        f"sleep {k.stable + 0.5:g}", "kill -KILL steady", running[2],
        "kill -STOP steady", running[3], "call steady ping", "echo steady done"]))


@test(10)
def backoff_starts_over_after_a_stable_run(g: Grade) -> None:
    """Killed twice quickly the delay doubles; killed after `stable` seconds up it is
    back at backoff."""
    b, k = shared(g, "steady", steady_boot), steady_knobs(g)
    ups = b.uptimes("steady")
    g.note(f"steady's runs lasted {', '.join(f'{u:.2f}' for u in ups)} s")
    if len(ups) >= 3:
        g.check(ups[1] < k.stable and ups[2] >= k.stable,
                f"(the test's own premise) steady's second run shorter than stable = "
                f"{k.stable} s and its third one longer; they lasted {ups[1]:.2f} and "
                f"{ups[2]:.2f} s: a very slow machine?")
    expect_delays(g, b.delays("steady")[:3], [k.backoff, 2 * k.backoff, k.backoff],
                  f"three kills of steady: the second soon after its restart (quick), the "
                  f"third after more than stable = {k.stable} s up")


@test(5)
def a_hung_server_is_found_and_restarted(g: Grade) -> None:
    """A server stopped with SIGSTOP misses init's heartbeats, is killed and restarted."""
    b, k = shared(g, "steady", steady_boot), steady_knobs(g)
    g.expect(b.out, rf"^steady did not answer heartbeats for .* \(period {k.heartbeat:g} s\)",
             "init noticing the missed heartbeats")
    g.expect(b.out, r"^steady hung .*, restarting in ", "init restarting the hung steady")
    g.expect(b.out, r'^\{"name": "steady", "state": "running", "restarts": 4',
             "steady running again after its fourth restart")
    g.expect(b.out, r'^"pong"$', "the restarted steady answering ping")
