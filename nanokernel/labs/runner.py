"""runner — `nanokernel grade`: load a lab's grader, run its tests, print the score.

    grading kv-server in /home/me/kv (seed 3141592; re-run: --seed 3141592)
      put then get ............................ OK      10/10   1.3 s
      bad input ............................... FAIL     0/5    transcript: ...
    Score: 10/15

The steps: load labs/NAME/grade.py, then every --extra DIR/*.py (a teacher's
hidden tests; they count like the others), collecting their @test functions in
definition order; keep the --test ones and the parents they need; run each in
turn — after its parent passed, else it is skipped — with a fresh scratch
directory, the seed, and a timer (SIGALRM) for its timeout.  A failed test's
transcript is written to DIR/.grade/<test>.log and its scratch directory (boot
logs, disks, traces) kept; a passed test leaves neither (and removes the
transcript an earlier failure left).  Exit status: 0 on full marks, 1 below.

Hidden tests may hang off the lab's own: grade.py is importable as `lab_grade`
while they load (`parent=lab_grade.put_then_get`).
"""

from __future__ import annotations

import contextlib
import importlib.util
import json
import random
import shutil
import signal
import sys
import tempfile
import threading
import time
import traceback
from collections.abc import Iterator
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import TextIO

from nanokernel.labs import gradelib
from nanokernel.labs.catalog import Lab, LabError
from nanokernel.labs.gradelib import Grade, GradeFailure, Test, TestTimedOut

TRANSCRIPTS = ".grade"   # in the working copy: DIR/.grade/<test>.log
NAME_WIDTH = 40          # the dotted name column of the table


@dataclass
class Result:
    name: str
    points: int          # earned
    max: int
    status: str          # "OK", "FAIL" or "skipped"
    seconds: float
    message: str = ""    # why it failed or was skipped (first lines)
    transcript: str | None = None


@dataclass
class Report:
    lab: str
    dir: str
    seed: int
    tests: list[Result] = field(default_factory=list)

    @property
    def score(self) -> int:
        return sum(r.points for r in self.tests)

    @property
    def max(self) -> int:
        return sum(r.max for r in self.tests)

    def to_json(self) -> str:
        return json.dumps({"lab": self.lab, "dir": self.dir, "seed": self.seed,
                           "score": self.score, "max": self.max,
                           "tests": [asdict(r) for r in self.tests]}, indent=2)


def new_seed() -> int:
    return random.SystemRandom().randrange(1_000_000, 10_000_000)


# -- loading -------------------------------------------------------------------------
def load_tests(lab: Lab, extra: Path | None = None) -> list[Test]:
    """grade.py's tests, then those of every extra/*.py (sorted by file name)."""
    files = [lab.grader]
    if extra is not None:
        if not extra.is_dir():
            raise LabError(f"--extra {extra}: no such directory")
        files += sorted(extra.glob("*.py"))
    with gradelib.collecting() as tests:
        for i, path in enumerate(files):
            _load_module(path, "lab_grade" if i == 0 else f"lab_extra_{i}_{path.stem}")
        sys.modules.pop("lab_grade", None)
        found = list(tests)
    names = [t.name for t in found]
    dups = sorted({n for n in names if names.count(n) > 1})
    if dups:
        raise LabError(f"{lab.name}: two tests named {', '.join(map(repr, dups))}")
    if not found:
        raise LabError(f"{lab.grader}: no @test functions")
    return found


def _load_module(path: Path, name: str) -> None:
    spec = importlib.util.spec_from_file_location(name, path)
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module   # (dataclasses and pickling look a module up by name)
    try:
        spec.loader.exec_module(module)
    except Exception:
        sys.modules.pop(name, None)
        raise LabError(f"{path}: failed to load:\n{traceback.format_exc(limit=-3)}") from None


def select(tests: list[Test], only: list[str] | None) -> list[Test]:
    """The tests named in ``only`` (by name, or as the function is called) and their
    parents, in definition order; all of them without ``only``."""
    if not only:
        return tests
    wanted: set[int] = set()
    for want in only:
        match = [t for t in tests if want in (t.name, t.slug, t.fn.__name__)]
        if not match:
            known = "; ".join(t.name for t in tests)
            raise LabError(f"--test {want!r}: no such test (tests: {known})")
        for t in match:
            while t is not None:
                wanted.add(id(t))
                t = t.parent
    return [t for t in tests if id(t) in wanted]


# -- running -------------------------------------------------------------------------
def grade(lab: Lab, work: Path, *, seed: int | None = None, only: list[str] | None = None,
          extra: Path | None = None, out: TextIO | None = sys.stdout) -> Report:
    """Run the lab's tests against the working copy ``work``; ``out`` gets the table
    line by line as tests finish (None: quiet, e.g. for --json)."""
    if not work.is_dir():
        raise LabError(f"{work}: no such directory (make one: nanokernel lab start "
                       f"{lab.name} DIR)")
    if not any((work / f).exists() for f in lab.files):   # (the repository itself, say)
        raise LabError(f"{work}: not a working copy of {lab.name}: it has none of "
                       f"{', '.join(lab.files)} (make one: nanokernel lab start {lab.name} DIR)")
    tests = select(load_tests(lab, extra), only)
    report = Report(lab.name, str(work), new_seed() if seed is None else seed)
    _say(out, f"grading {lab.name} in {work} (seed {report.seed}; "
              f"re-run: --seed {report.seed})")
    passed: set[int] = set()
    for t in tests:
        if t.parent is not None and id(t.parent) not in passed:
            result = Result(t.name, 0, t.points, "skipped", 0.0,
                            f"needs {t.parent.name!r}, which did not pass")
        else:
            result = run_one(t, lab, work, report.seed)
        if result.status == "OK":
            passed.add(id(t))
        report.tests.append(result)
        _say(out, table_line(result))
    _say(out, f"Score: {report.score}/{report.max}")
    return report


def run_one(t: Test, lab: Lab, work: Path, seed: int) -> Result:
    """One test, in its scratch directory; its transcript kept if it fails."""
    scratch = Path(tempfile.mkdtemp(prefix=f"nk-grade-{t.slug}-"))
    g = Grade(dir=work, lab_dir=lab.path, seed=seed, test_name=t.name, scratch=scratch)
    g.note(f"test {t.name!r} of lab {lab.name} ({t.points} points), working copy {work}\n"
           f"re-run: nanokernel grade {lab.name} --dir {work} --seed {seed} "
           f"--test '{t.name}'\nscratch: {scratch}")
    t0 = time.monotonic()
    try:
        with _deadline(t.timeout):
            t(g)
        status, message = "OK", ""
    except GradeFailure as exc:
        status, message = "FAIL", str(exc)
    except TestTimedOut:
        status, message = "FAIL", f"the test took longer than its timeout ({t.timeout:g} s)"
        g.note(f"FAIL: {message}")
    except Exception as exc:   # a bug in the test, or what the working copy did to it
        status, message = "FAIL", f"{type(exc).__name__}: {exc}"
        g.note("FAIL: the test raised\n" + traceback.format_exc())
    seconds = time.monotonic() - t0
    log = work / TRANSCRIPTS / f"{t.slug}.log"
    if status == "OK":
        shutil.rmtree(scratch, ignore_errors=True)
        log.unlink(missing_ok=True)   # (an earlier run's failure)
        return Result(t.name, t.points, t.points, status, round(seconds, 2))
    log.parent.mkdir(exist_ok=True)
    log.write_text("\n".join(g.transcript) + "\n")
    return Result(t.name, 0, t.points, status, round(seconds, 2), _first_lines(message), str(log))


@contextlib.contextmanager
def _deadline(seconds: float) -> Iterator[None]:
    """TestTimedOut in the test after ``seconds`` (SIGALRM: main thread only)."""
    if threading.current_thread() is not threading.main_thread() or seconds <= 0:
        yield
        return

    def expired(signum: int, frame: object) -> None:
        raise TestTimedOut()
    old = signal.signal(signal.SIGALRM, expired)
    signal.setitimer(signal.ITIMER_REAL, seconds)
    try:
        yield
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, old)


# -- printing ------------------------------------------------------------------------
def table_line(r: Result) -> str:
    dots = "." * max(3, NAME_WIDTH - len(r.name))
    head = f"  {r.name} {dots} {r.status:<7} {r.points:>2}/{r.max:<3}"
    if r.status == "OK":
        return f"{head}  {r.seconds:.1f} s"
    if r.status == "skipped":
        return f"{head}  ({r.message})"
    why = "\n".join("      " + line for line in r.message.splitlines())
    return f"{head}  transcript: {r.transcript}\n{why}"


def _first_lines(text: str, n: int = 6) -> str:
    lines = text.strip().splitlines()
    return "\n".join(lines[:n] + (["  ..."] if len(lines) > n else []))


def _say(out: TextIO | None, line: str) -> None:
    if out is not None:
        print(line, file=out, flush=True)
