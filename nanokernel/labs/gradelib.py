"""gradelib — what a lab's grader (labs/NAME/grade.py) is written with.

After MIT xv6's gradelib.py.  A grader is a list of point-weighted tests, each
a function of one argument, the Grade of that run:

    from nanokernel.labs.gradelib import Grade, test

    @test(10)                                  # name: "put then get"
    def put_then_get(g: Grade) -> None:
        key, value = g.secret(), g.secret()    # fresh per run, fixed per seed
        run = g.boot(f"kvput {key} {value}; kvget {key}")
        g.expect(run.out, rf"^{value}$")       # some line of the output matches

    @test(5, parent=put_then_get)              # skipped (0 points) if the parent failed
    def bad_input(g: Grade) -> None: ...

The rules the runner (runner.py) keeps:
- a test passes when it returns and fails when it raises: GradeFailure (from
  expect/check/fail, its message says what was expected and what came) or any
  other exception (its traceback goes to the transcript);
- a test runs only after its parent passed; otherwise it is skipped;
- everything a test runs (command lines, outputs, exit statuses, notes) goes to
  its transcript, which is kept in DIR/.grade/<test>.log when the test fails;
- g.rng and g.secret() are seeded from (seed, test name): a seed gives each test
  the same inputs whichever other tests run, so `--seed N --test T` re-runs a
  failure exactly; no seed given, a fresh one is drawn (and printed).
This module only defines tests and the Grade they get; the runner finds, orders
and runs them.
"""

from __future__ import annotations

import contextlib
import os
import random
import re
import signal
import string
import subprocess
import sys
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path

DEFAULT_TIMEOUT = 120.0   # seconds a test may take (g.boot's own default: 60)
EXCERPT_LINES = 40        # of an output shown in a failure's message
SECRET_ALPHABET = string.ascii_lowercase + string.digits   # safe in shell words and paths


class GradeFailure(Exception):
    """The test failed; the message says what was expected and what came."""


class TestTimedOut(BaseException):
    """The test ran past its timeout (a BaseException: a test's `except Exception`
    must not swallow it)."""


@dataclass
class Test:
    """One @test: its function, points, display name, parent and timeout."""

    fn: Callable[[Grade], None]
    points: int
    name: str
    parent: Test | None = None
    timeout: float = DEFAULT_TIMEOUT

    @property
    def slug(self) -> str:
        """The name as a file name (its transcript: DIR/.grade/<slug>.log)."""
        return re.sub(r"[^A-Za-z0-9_-]+", "_", self.name).strip("_") or "test"

    def __call__(self, g: Grade) -> None:
        self.fn(g)


_collected: list[Test] | None = None   # where @test puts tests while the runner loads


@contextlib.contextmanager
def collecting() -> Iterator[list[Test]]:
    """The tests @test defines while this is open, in definition order (runner.py)."""
    global _collected
    was, _collected = _collected, []
    try:
        yield _collected
    finally:
        _collected = was


def test(points: int, *, name: str | None = None, parent: Test | None = None,
         timeout: float = DEFAULT_TIMEOUT) -> Callable[[Callable[[Grade], None]], Test]:
    """Declare a test worth ``points``; its name is the function's, _ read as a space."""
    if not isinstance(points, int) or points < 0:
        raise ValueError(f"@test: points must be a whole number >= 0, not {points!r}")
    if parent is not None and not isinstance(parent, Test):
        raise TypeError("@test: parent must be another @test (declared above this one)")

    def declare(fn: Callable[[Grade], None]) -> Test:
        t = Test(fn, points, name or fn.__name__.replace("_", " "), parent, timeout)
        if _collected is not None:
            _collected.append(t)
        return t
    return declare


@dataclass
class Run:
    """What one boot or host command did."""

    argv: list[str]
    out: str             # stdout and stderr, interleaved as they came
    rc: int              # exit status (negative: killed by that signal)
    seconds: float
    log: Path | None = None     # the boot's log file (JSON lines of every server)
    trace: Path | None = None   # the boot's trace, if one was asked for


@dataclass
class Grade:
    """The one argument of a test: where things are, randomness, and helpers."""

    dir: Path          # the working copy being graded
    lab_dir: Path      # labs/NAME
    seed: int
    test_name: str
    scratch: Path      # a fresh directory for this test (disks, programs, traces)
    rng: random.Random = field(init=False)
    transcript: list[str] = field(default_factory=list, init=False)   # lines, in order
    _boots: int = field(default=0, init=False, repr=False)

    def __post_init__(self) -> None:
        self.rng = random.Random(f"{self.seed}:{self.test_name}")   # (str seeds: stable)

    # -- randomness -----------------------------------------------------------------
    def secret(self, n: int = 8) -> str:
        """A random token of n lowercase letters and digits (a word in any shell line)."""
        return "".join(self.rng.choice(SECRET_ALPHABET) for _ in range(n))

    # -- running things -------------------------------------------------------------
    def boot(self, commands: str, *, disk: Path | None = None, timeout: float = 60,
             args: Sequence[str] = (), env: dict[str, str] | None = None,
             trace: bool = False) -> Run:
        """Boot the working copy (`boot --lab DIR`), run ``commands`` in its shell, halt.
        A throwaway RAM disk unless ``disk`` is given; runs in g.scratch, so a shell's
        `run prog.py` finds what g.program wrote."""
        self._boots += 1
        n = "" if self._boots == 1 else str(self._boots)
        log = self.scratch / f"boot{n}.log"
        trace_path = self.scratch / f"trace{n}.jsonl" if trace else None
        argv = [sys.executable, "-m", "nanokernel", "boot", "--lab", str(self.dir),
                *(["--disk", str(disk)] if disk is not None else ["--ramdisk"]),
                "--log", str(log), *(["--trace", str(trace_path)] if trace_path else []),
                *args, "-c", commands]
        run = self._run(argv, timeout, env=env)
        run.log = log
        run.trace = trace_path
        if trace_path is None and "--trace" in args:
            run.trace = Path(args[list(args).index("--trace") + 1])
        return run

    def host(self, argv: Sequence[str], timeout: float = 60, input: str | bytes | None = None,
             *, overlay: bool = False, env: dict[str, str] | None = None) -> Run:
        """Run a host command (e.g. `nanokernel fsck DISK`) in g.scratch; with
        overlay=True it imports the working copy's modules, as a boot's processes do."""
        extra = dict(env or {})
        if overlay:
            from nanokernel.overlay import env_for
            extra = {**env_for(self.dir), **extra}
        return self._run(list(argv), timeout, env=extra, input=input)

    def program(self, filename: str, source: str) -> Path:
        """Write a user program into g.scratch (the shell's `run FILENAME` runs it)."""
        path = self.scratch / filename
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(source)
        self.note(f"program {path}:\n{source}")
        return path

    def _run(self, argv: list[str], timeout: float, env: dict[str, str] | None = None,
             input: str | bytes | None = None) -> Run:
        """Run argv in its own session, killed with all its children on a timeout (or
        when the test's own timeout interrupts the wait)."""
        child_env = {k: v for k, v in os.environ.items() if not k.startswith("NK_")}
        child_env.update(env or {})
        data = input.encode() if isinstance(input, str) else input
        self.note("$ " + " ".join(_quote(a) for a in argv))
        t0 = time.monotonic()
        proc = subprocess.Popen(argv, cwd=self.scratch, env=child_env, start_new_session=True,
                                stdin=subprocess.PIPE if data is not None else subprocess.DEVNULL,
                                stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
        try:
            out, _ = proc.communicate(data, timeout=timeout)
        except subprocess.TimeoutExpired:
            _kill_group(proc)
            out, _ = proc.communicate()   # (what it printed before: communicate kept it)
            text = (out or b"").decode(errors="replace")
            self.note(f"{text}[killed: still running after {timeout:g} s]")
            raise GradeFailure(f"{_short(argv)}: did not finish in {timeout:g} s (a hang?)"
                               f"\n{excerpt(text)}") from None
        finally:
            _kill_group(proc)   # (a test timeout interrupted the wait; or leftovers)
        text = out.decode(errors="replace")
        run = Run(argv, text, proc.returncode, time.monotonic() - t0)
        self.note(f"{text}[exit status {run.rc}, {run.seconds:.1f} s]")
        return run

    # -- judging --------------------------------------------------------------------
    def expect(self, text: str, regex: str, msg: str | None = None) -> re.Match:
        """Some line of ``text`` matches ``regex`` (re.MULTILINE: ^ and $ are lines)."""
        m = re.search(regex, text, re.MULTILINE)
        if m is None:
            self.fail(f"{msg or 'expected a line matching'} {regex!r}\ngot:\n{excerpt(text)}")
        return m

    def expect_not(self, text: str, regex: str, msg: str | None = None) -> None:
        """No line of ``text`` matches ``regex``."""
        m = re.search(regex, text, re.MULTILINE)
        if m is not None:
            line = text[text.rfind("\n", 0, m.start()) + 1:].split("\n", 1)[0]
            self.fail(f"{msg or 'expected no line matching'} {regex!r}\ngot: {line}")

    def check(self, cond: object, msg: str) -> None:
        """``cond`` holds, or the test fails with ``msg``."""
        if not cond:
            self.fail(msg)

    def fail(self, msg: str) -> None:
        """The test fails with ``msg`` (say what was expected, and what came)."""
        self.note(f"FAIL: {msg}")
        raise GradeFailure(msg)

    def note(self, text: str) -> None:
        """A line (or more) for the transcript."""
        self.transcript.append(text.rstrip("\n"))


def excerpt(text: str, lines: int = EXCERPT_LINES) -> str:
    """The last ``lines`` lines of ``text``, indented (what came, in a failure)."""
    rows = text.rstrip("\n").split("\n")
    cut = [f"  ... ({len(rows) - lines} lines before)"] if len(rows) > lines else []
    return "\n".join(cut + ["  | " + r for r in rows[-lines:]]) if text.strip() else "  (nothing)"


def _kill_group(proc: subprocess.Popen) -> None:
    if proc.poll() is None:
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(proc.pid, signal.SIGKILL)
        proc.wait()


def _quote(arg: str) -> str:
    return arg if re.fullmatch(r"[\w./=:+-]+", arg) else "'" + arg.replace("'", "'\\''") + "'"


def _short(argv: list[str]) -> str:
    """`nanokernel boot` or the program's name, for a message."""
    if argv[1:3] == ["-m", "nanokernel"] and len(argv) > 3:
        return f"nanokernel {argv[3]}"
    return Path(argv[0]).name
