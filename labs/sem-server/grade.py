"""Grader of labs/sem-server: the labsem server, driven by user programs in one boot.

The programs are the lab's own (labs/sem-server/solution/semctl.py and
prodcons.py, copied into the test's scratch directory, so a working copy's
edited copies do not count).  semctl prints ``TAG: STEP -> RESULT`` per step,
so the lines of two programs running at once are told apart by their tags.
Semaphore names, counts and item tags are random per run.
"""

from __future__ import annotations

import json
import re
from collections import Counter

from nanokernel.labs.gradelib import Grade, test

BOOT_TIMEOUT = 45.0   # every wait in the programs is bounded well inside this
MARK = "=== step"


def programs(g: Grade) -> None:
    for name in ("semctl.py", "prodcons.py"):
        g.program(name, (g.lab_dir / "solution" / name).read_text())


def semctl(tag: str, name: str, *steps: str) -> str:
    return f"run semctl.py {tag} {name} {' '.join(steps)}"


def expect_step(g: Grade, out: str, tag: str, step: str, result: object) -> None:
    """The line ``TAG: STEP -> RESULT``: a reply (JSON) or, for a str, an error code."""
    shown = result if isinstance(result, str) else json.dumps(result)
    g.expect(out, rf"^{re.escape(f'{tag}: {step} -> {shown}')}$",
             f"{tag}'s {step} to answer {shown}:")


@test(10)
def up_down_counts(g: Grade) -> None:
    programs(g)
    name, initial = g.secret(), g.rng.randint(0, 5)
    ups = [g.rng.randint(1, 4) for _ in range(g.rng.randint(1, 3))]
    total = initial + sum(ups)
    downs = g.rng.randint(1, total)
    rest = total - downs
    steps = [f"create:{initial}", *(f"up:{n}" for n in ups), "value", *["down"] * downs,
             "value", *["down:0"] * rest, "down:0", "value"]
    run = g.boot(semctl("A", name, *steps), timeout=BOOT_TIMEOUT)
    expect_step(g, run.out, "A", f"create:{initial}", None)
    g.expect(run.out, rf"^A: value -> {total}$", f"the value {initial} + {sum(ups)} "
             f"after create:{initial} and ups of {ups}")
    g.expect(run.out, rf"^A: value -> {rest}$", f"the value {rest} after {downs} downs")
    ok = len(re.findall(r"^A: down:0 -> null$", run.out, re.M))
    g.check(ok == rest, f"{rest} downs with timeout 0 to take the last units, "
            f"got {ok} answered")
    expect_step(g, run.out, "A", "down:0", "WouldBlock")
    g.expect(run.out, r"^A: value -> 0$", "the value 0 at the end")


@test(15, parent=up_down_counts)
def down_on_zero_blocks(g: Grade) -> None:
    programs(g)
    name = g.secret()
    run = g.boot(f"{semctl('S', name, 'create:0')}; {semctl('W', name, 'down:20', 'value')} &; "
                 f"{semctl('U', name, 'waiters:1', 'value', 'up')}; wait",
                 timeout=BOOT_TIMEOUT)
    expect_step(g, run.out, "U", "waiters:1", 1)   # W waits in the server, its down unanswered
    expect_step(g, run.out, "U", "value", 0)
    expect_step(g, run.out, "U", "up", None)
    expect_step(g, run.out, "W", "down:20", None)   # answered by U's up
    expect_step(g, run.out, "W", "value", 0)        # W took the unit


@test(10, parent=down_on_zero_blocks)
def timed_down_gives_up(g: Grade) -> None:
    programs(g)
    name = g.secret()
    wait = round(g.rng.uniform(0.2, 0.5), 2)
    run = g.boot(semctl("A", name, "create:0", f"down:{wait}", "stat", "up", "value",
                        "down:0", "value"), timeout=BOOT_TIMEOUT)
    expect_step(g, run.out, "A", f"down:{wait}", "Timeout")
    expect_step(g, run.out, "A", "stat", {"value": 0, "waiters": 0})
    expect_step(g, run.out, "A", "up", None)
    expect_step(g, run.out, "A", "value", 1)   # the expired down did not take it
    expect_step(g, run.out, "A", "down:0", None)


@test(20, parent=down_on_zero_blocks)
def bounded_buffer(g: Grade) -> None:
    programs(g)
    slots = g.rng.randint(1, 3)
    producers = {g.secret(5): g.rng.randint(4, 7) for _ in range(2)}
    total = sum(producers.values())
    consumers = {"c1": total // 2, "c2": total - total // 2}
    line = [f"run prodcons.py setup {slots}"]
    line += [f"run prodcons.py produce {tag} {n} &" for tag, n in producers.items()]
    line += [f"run prodcons.py consume c1 {consumers['c1']} &",
             f"run prodcons.py consume c2 {consumers['c2']}", "wait"]
    run = g.boot("; ".join(line), timeout=BOOT_TIMEOUT)
    g.expect_not(run.out, r"^prodcons .*: \w+$", "no producer or consumer to fail")
    got = Counter(re.findall(r"^c[12]: got (\S+)$", run.out, re.M))
    want = Counter(f"{tag}-{i}" for tag, n in producers.items() for i in range(n))
    missing, extra = sorted((want - got).elements()), sorted((got - want).elements())
    g.check(not missing and not extra,
            f"every one of the {total} items exactly once ({slots} slots, producers "
            f"{producers}); missing: {missing or 'none'}; extra or twice: {extra or 'none'}")


@test(15, parent=down_on_zero_blocks)
def dead_waiter_takes_no_unit(g: Grade) -> None:
    programs(g)
    name = g.secret()
    run = g.boot(f"{semctl('S', name, 'create:0')}; {semctl('D', name, 'down:20')} &; "
                 f"{semctl('X', name, 'waiters:1')}; kill %1; "
                 f"{semctl('Y', name, 'waiters:0', 'up', 'down:2', 'value')}",
                 timeout=BOOT_TIMEOUT)
    expect_step(g, run.out, "X", "waiters:1", 1)
    g.expect_not(run.out, r"^D: down", "the killed waiter's down not to be answered")
    expect_step(g, run.out, "Y", "waiters:0", 0)   # the dead waiter left the queue
    expect_step(g, run.out, "Y", "up", None)
    expect_step(g, run.out, "Y", "down:2", None)   # the unit was not given to the dead
    expect_step(g, run.out, "Y", "value", 0)


def steps(g: Grade, commands: list[str]) -> tuple[list[str], str]:
    """Run ``commands`` in one boot: (each command's output, the whole output)."""
    script = "; ".join(f"echo '{MARK} {i}'; {c}" for i, c in enumerate(commands))
    run = g.boot(script, timeout=BOOT_TIMEOUT)
    parts = re.split(rf"^{MARK} (\d+)$", run.out, flags=re.M)
    got = {int(parts[i]): parts[i + 1].strip() for i in range(1, len(parts) - 1, 2)}
    missing = [c for i, c in enumerate(commands) if i not in got]
    if missing:
        g.fail(f"the boot stopped before {missing[0]!r} ran (exit status {run.rc})")
    return [got[i] for i in range(len(commands))], run.out


def call(op: str, **args: object) -> str:
    return f"call labsem {op} '{json.dumps(args)}'" if args else f"call labsem {op}"


@test(10)
def bad_input(g: Grade) -> None:
    name, other, value = g.secret(), g.secret(), g.rng.randint(1, 9)
    cases = [   # (op, arguments, what, the error code)
        ("create", {"name": name, "value": -g.rng.randint(1, 9)}, "a negative value",
         "InvalidArgument"),
        ("create", {"name": name, "value": "three"}, "a value that is a string",
         "InvalidArgument"),
        ("create", {"name": "", "value": 1}, "an empty name", "InvalidArgument"),
        ("create", {"value": 1}, "create without a name", "InvalidArgument"),
        ("create", {"name": name, "value": value}, "", None),
        ("create", {"name": name, "value": 1}, "a second create of the name", "FileExists"),
        ("up", {"name": name, "n": 0}, "up by 0", "InvalidArgument"),
        ("up", {"name": name, "n": -g.rng.randint(1, 9)}, "up by a negative n",
         "InvalidArgument"),
        ("down", {"name": name, "timeout": -1}, "a negative timeout", "InvalidArgument"),
        ("down", {"name": other}, "down of an unknown semaphore", "FileNotFound"),
        ("up", {"name": other}, "up of an unknown semaphore", "FileNotFound"),
        ("value", {"name": other}, "value of an unknown semaphore", "FileNotFound"),
        ("frobnicate", {"name": name}, "an unknown op", "NoSuchOp"),
    ]
    out, whole = steps(g, [call(op, **args) for op, args, _, _ in cases]
                       + [call("value", name=name)])
    for (op, _, what, code), text in zip(cases, out, strict=False):
        if code is None:
            g.expect(text, r"^null$", f"create of {name!r} with value {value}: null")
        else:
            g.expect(text, rf"^call: labsem\.{op}: .*: {code}$", f"{what}: the error {code}")
    g.expect(out[-1], rf"^{value}$", f"the value {value} after the refused calls")
    g.expect_not(whole, r"^labsem (exited|was killed|hung)", "labsem never died of them")
