"""Grader of labs/scheduling: who the router serves while somebody floods, from a trace.

Each test is one boot of the working copy.  The programs (labs/scheduling/programs/)
note on host files when each of their messages was already waiting in their ring —
a flooder after each batch is in (``send_many`` returned), the victim right after
each call is sent — and the trace (``boot --trace``) says in which order the router
moved every message.  Together they give, for each message of a process, how many
messages of *another* process the router moved while that one waited and its
sender got nothing: counted in messages, so a slow or loaded machine changes the
numbers a little, never the verdict.  (A stamp is taken after the send returns and
the trace's time after the move, so a message counted was moved while the other
one was in its ring for sure: the count can only come out lower than the truth.)

Random per run: the flood sizes, batch sizes and ballast, the programs' names, and
when the flooder is killed.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from nanokernel.labs.gradelib import Grade, test

# Messages of one sender the router may move while another's message waits.  The
# solution's quantum (16) gives at most 32 (two quanta: first in this pass and the
# next); the package's own rotation (32 a turn) 64.  The skeleton: thousands.  (The
# lab's boot.toml makes rings bigger than any flood here: no sender ever waits for
# room — kernel.py's back-pressure path, not the scheduler's, never runs.)
MOST_WHILE_WAITING = 128
FLOOD = (6000, 10000)   # messages per flooder (random in this range)
VICTIM_MOST = 100_000   # calls the victim may make (it stops when the flood is over)
BOOT_TIMEOUT = 90
ATTEMPTS = 3         # boots a test may take to see its programs overlap


@dataclass
class Sender:
    """One program's messages in the trace: their positions, times, and since when
    each was waiting in its ring (a stamp per message, or None: not known)."""

    name: str
    index: list[int]             # positions in the trace, in order
    moved: list[float]           # the trace's time of each
    ready: list[float | None]    # since when it waited in the ring


def load_trace(g: Grade, path: Path | None) -> list[dict]:
    g.check(path is not None and path.exists(), "the boot wrote no trace (boot --trace)")
    events = []
    for line in path.read_text().splitlines():
        try:
            events.append(json.loads(line))
        except ValueError:
            continue   # (a line cut short by the halt)
    g.check(events, f"the trace {path} is empty")
    return events


def read_stamps(g: Grade, path: Path) -> list[tuple[int, float]]:
    """A program's host file of "NUMBER TIME" lines."""
    g.check(path.exists(), f"the program did not write {path.name} (did it finish?)")
    return [(int(n), float(t)) for n, t in (ln.split() for ln in path.read_text().splitlines()
                                            if ln.strip())]


def flooder(g: Grade, events: list[dict], name: str, stamps: Path) -> Sender:
    """A flooder's SENDs to sink, each ready from the stamp of the batch it was in."""
    batches = read_stamps(g, stamps)
    mine = [(i, e) for i, e in enumerate(events)
            if e.get("src_name") == name and e.get("kind") == "SEND"
            and e.get("dst_name") == "sink"]
    ready: list[float | None] = []
    b = 0
    for k in range(len(mine)):
        while b < len(batches) and batches[b][0] <= k:
            b += 1
        ready.append(batches[b][1] if b < len(batches) else None)
    return Sender(name, [i for i, _ in mine], [e["t"] for _, e in mine], ready)


def victim(g: Grade, events: list[dict], name: str, stamps: Path) -> Sender:
    """The victim's calls to devices, each ready from its stamp (by call id)."""
    sent = dict(read_stamps(g, stamps))
    mine = [(i, e) for i, e in enumerate(events) if e.get("src_name") == name]
    calls = [(i, e) for i, e in mine if e.get("kind") == "CALL"
             and e.get("dst_name") == "devices" and e.get("id") in sent]
    return Sender(name, [i for i, _ in calls], [e["t"] for _, e in calls],
                  [sent[e["id"]] for _, e in calls])


def worst_wait(events: list[dict], waiter: Sender, other: str) -> tuple[int, int]:
    """The most messages of ``other`` moved while one of ``waiter``'s waited and
    ``waiter`` got none, and how many of waiter's messages waited at all."""
    own = [i for i, e in enumerate(events) if e.get("src_name") == waiter.name]
    worst, waited, j = 0, 0, 0
    for pos, ready in zip(waiter.index, waiter.ready, strict=True):
        while j < len(own) and own[j] < pos:
            j += 1
        before = own[j - 1] if j else -1   # the waiter's previous message, of any kind
        if ready is None:
            continue
        n = sum(1 for e in events[before + 1:pos]
                if e.get("src_name") == other and e["t"] > ready)
        waited += n > 0
        worst = max(worst, n)
    return worst, waited


def program(g: Grade, name: str) -> str:
    """Copy one of the grader's programs into g.scratch under a random name."""
    filename = f"{name}_{g.secret(5)}.py"
    g.program(filename, (g.lab_dir / "programs" / f"{name}.py").read_text())
    return filename


def run_flood(g: Grade, filename: str, stamps: Path, total: int, *others: Path) -> str:
    """The shell command that runs a flooder (starting once ``others``' .ready exist)."""
    batch, pad = g.rng.randint(32, 128), g.rng.randint(0, 64)
    return " ".join(["run", filename, str(total), str(batch), str(pad), str(stamps),
                     *(str(p.with_suffix(".ready")) for p in others)])


def finished(g: Grade, out: str, rc: int) -> None:
    """The boot ended normally: status 0, and nothing crashed (the kernel's traceback
    means an exception in the kernel's loop — in kernel/sched.py, most likely)."""
    crash = re.search(r"^Traceback \(most recent call last\):\n(?:[ \t].*\n)*(.*)$", out, re.M)
    g.check(crash is None, f"something crashed: {crash.group(1) if crash else ''}\n"
                           f"(see the traceback in the transcript; an exception in order() "
                           f"ends the kernel)")
    g.check(rc == 0, f"the boot exited with status {rc}, not 0\n{out[-2000:]}")
    g.expect_not(out, r"KERNEL PANIC", "no kernel panic")


def attempt_dir(g: Grade, n: int) -> Path:
    """A fresh directory for the host files of attempt n (a flooder waits for .ready files)."""
    path = g.scratch / f"try{n}"
    path.mkdir()
    return path


def judged(g: Grade, attempt: Callable[[int], bool], what: str) -> None:
    """Run ``attempt`` (one boot, its verdict by g.check) until it could judge: a run
    in which the programs never overlapped (a machine so loaded that one of them ran
    only after the other was done) shows nothing, and is tried again."""
    for n in range(1, ATTEMPTS + 1):
        if attempt(n):
            return
        g.note(f"attempt {n}: {what}; again")
    g.fail(f"in {ATTEMPTS} boots, {what}: nothing to judge")


@test(40, timeout=240)
def victim_served_during_flood(g: Grade) -> None:
    flood, calls = program(g, "flood"), program(g, "victim")
    fl, vi = Path(flood).stem, Path(calls).stem

    def attempt(n: int) -> bool:
        total, files = g.rng.randint(*FLOOD), attempt_dir(g, n)
        f_stamps, v_stamps = files / "flood.txt", files / "victim.txt"
        run = g.boot(f"{run_flood(g, flood, f_stamps, total, v_stamps)} &; run {calls} "
                     f"{v_stamps} {f_stamps.with_suffix('.done')} {VICTIM_MOST}; wait",
                     trace=True, timeout=BOOT_TIMEOUT)
        finished(g, run.out, run.rc)
        g.expect(run.out, rf"^flooded {total}$", f"the flooder sent its {total} messages")
        events = load_trace(g, run.trace)
        flood_sends = flooder(g, events, fl, f_stamps)
        g.check(len(flood_sends.index) == total,
                f"the trace has {len(flood_sends.index)} of the flooder's {total} SENDs")
        calls_sent = victim(g, events, vi, v_stamps)
        start, end = flood_sends.moved[0], flood_sends.moved[-1]
        during = sum(1 for r in calls_sent.ready if start < r < end)
        worst, waited = worst_wait(events, calls_sent, fl)
        g.note(f"victim: {len(calls_sent.index)} calls, {during} sent during the flood of "
               f"{total}; {waited} waited behind flood messages, at most {worst}")
        g.check(worst <= MOST_WHILE_WAITING,
                f"while one of the victim's calls waited in its ring, the router moved {worst} "
                f"of the flooder's messages in a row (at most {MOST_WHILE_WAITING} expected)")
        return during > 0 or waited > 0   # (a call that waited behind the flood counts)

    judged(g, attempt, "no call of the victim was sent or waited while the flood went on")


@test(40, timeout=240)
def flooders_share_the_router(g: Grade) -> None:
    one, two = program(g, "flood"), program(g, "flood")
    names = [Path(one).stem, Path(two).stem]

    def attempt(n: int) -> bool:
        totals, files = [g.rng.randint(*FLOOD) for _ in range(2)], attempt_dir(g, n)
        stamps = [files / "one.txt", files / "two.txt"]
        run = g.boot(f"{run_flood(g, one, stamps[0], totals[0], stamps[1])} &; "
                     f"{run_flood(g, two, stamps[1], totals[1], stamps[0])}; wait",
                     trace=True, timeout=BOOT_TIMEOUT)
        finished(g, run.out, run.rc)
        for total in totals:
            g.expect(run.out, rf"^flooded {total}$", f"a flooder sent its {total} messages")
        events = load_trace(g, run.trace)
        senders = [flooder(g, events, who, s) for who, s in zip(names, stamps, strict=True)]
        overlapped = False
        for me, other in ((0, 1), (1, 0)):
            worst, waited = worst_wait(events, senders[me], names[other])
            g.note(f"{names[me]}: {waited} of its {totals[me]} messages waited behind "
                   f"{names[other]}'s, at most {worst}")
            g.check(worst <= MOST_WHILE_WAITING,
                    f"while a message of one flooder waited in its ring, the router moved "
                    f"{worst} of the other's in a row (at most {MOST_WHILE_WAITING} expected)")
            overlapped = overlapped or waited > 0
        return overlapped

    judged(g, attempt, "no message of either flooder waited while the other's were moved")


@test(10, timeout=120)
def every_message_arrives(g: Grade) -> None:
    one, two = program(g, "flood"), program(g, "flood")
    totals = [g.rng.randint(1000, 3000) for _ in range(2)]
    stamps = [g.scratch / "one.txt", g.scratch / "two.txt"]
    run = g.boot(f"{run_flood(g, one, stamps[0], totals[0])} &; "
                 f"{run_flood(g, two, stamps[1], totals[1])}; wait; call sink counts",
                 timeout=BOOT_TIMEOUT)
    finished(g, run.out, run.rc)
    m = g.expect(run.out, r"^\{.*\}$", "sink's counts (call sink counts)")
    counts = json.loads(m.group(0))
    for name, total in zip((Path(one).stem, Path(two).stem), totals, strict=True):
        g.check(counts.get(name) == total,
                f"sink ate {counts.get(name)} messages of {name}, which sent {total}")


@test(10, timeout=120)
def flooder_killed_mid_flood(g: Grade) -> None:
    flood, calls = program(g, "flood"), program(g, "victim")
    f_stamps, v_stamps = g.scratch / "flood.txt", g.scratch / "victim.txt"
    rounds, later = g.rng.randint(50, 200), g.rng.randint(5, 20)
    pause = g.rng.choice(["0.3", "0.5", "0.8"])
    token = g.secret()
    never = g.scratch / "never"   # (the victim stops after its calls, not at a flood's end)
    run = g.boot(f"{run_flood(g, flood, f_stamps, 10**8, v_stamps)} &; "
                 f"run {calls} {v_stamps} {never} {rounds} &; sleep {pause}; kill %1; wait %2; "
                 f"call sink count; run {calls} {g.scratch / 'again.txt'} {never} {later}; "
                 f"echo {token}", timeout=BOOT_TIMEOUT)
    finished(g, run.out, run.rc)
    g.expect(run.out, rf"^victim made {rounds} calls$",
             f"the victim made its {rounds} calls (the kernel went on after the kill)")
    g.expect(run.out, r"^\d+$", "sink answered a call after the flooder was killed")
    g.expect(run.out, rf"^victim made {later} calls$", "a program run after the kill works")
    g.expect(run.out, rf"^{re.escape(token)}$", "the shell ran its last command")
