"""The lab framework (nanokernel/labs) on fake labs made in tmp_path (NK_LABS_DIR).

`alpha` is a lab whose starter answers 41 and whose solution answers 42; `beta`
holds the tests that show the machinery (secrets, timeouts, exceptions, a boot);
`broken` has a lab.toml without a title.  The commands run as `python -m
nanokernel ...`, as a student runs them.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest

from nanokernel.labs import catalog
from nanokernel.labs.gradelib import Grade, GradeFailure

pytestmark = pytest.mark.timeout(120)

ALPHA = '''
import sys
from nanokernel.labs.gradelib import Grade, test

@test(10)
def answer_is_right(g: Grade) -> None:
    path = g.dir / "answer.txt"
    g.expect(path.read_text() if path.exists() else "", r"^42$", "the answer:")

@test(5, parent=answer_is_right)
def needs_the_answer(g: Grade) -> None:
    g.note("the answer was right")

@test(2, name="host command")
def host(g: Grade) -> None:
    run = g.host([sys.executable, "-c", "print('from the host')"])
    g.expect(run.out, r"^from the host$")
'''

BETA = '''
import sys
from nanokernel.labs.gradelib import Grade, test

@test(1)
def secrets(g: Grade) -> None:
    g.fail(f"secrets {g.secret()} {g.secret(12)} {g.rng.randint(0, 10**9)}")

@test(1, timeout=2)
def too_slow(g: Grade) -> None:
    g.host([sys.executable, "-c", "import time; time.sleep(60)"], timeout=100)

@test(1)
def host_timeout(g: Grade) -> None:
    g.host([sys.executable, "-c", "import time; time.sleep(60)"], timeout=1)

@test(1)
def raises(g: Grade) -> None:
    1 / 0

@test(1, timeout=90)
def boots(g: Grade) -> None:
    word = g.secret()
    run = g.boot(f"echo {word}", timeout=80)
    g.expect(run.out, rf"^{word}$")
    g.check(run.log.is_file(), "the boot's log is kept")
'''

HIDDEN = '''
import lab_grade
from nanokernel.labs.gradelib import Grade, test

@test(4)
def hidden_passes(g: Grade) -> None:
    pass

@test(6, parent=lab_grade.answer_is_right)
def hidden_needs_the_answer(g: Grade) -> None:
    pass
'''


def make_lab(root: Path, name: str, order: int, grader: str, starter: dict[str, str],
             solution: dict[str, str], title: str | None = "A lab",
             edits: str = "answer.txt") -> Path:
    lab = root / name
    for sub, files in (("starter", starter), ("solution", solution)):
        (lab / sub).mkdir(parents=True)
        for rel, text in files.items():
            (lab / sub / rel).write_text(text)
    title_line = f'title = "{title}"\n' if title else ""
    (lab / "lab.toml").write_text(f'{title_line}order = {order}\nsummary = "about {name}"\n'
                                  f'files = ["{edits}"]\n')
    (lab / "README.md").write_text(f"# {name}\n")
    (lab / "grade.py").write_text(textwrap.dedent(grader))
    return lab


@pytest.fixture
def labs(tmp_path: Path) -> Path:
    root = tmp_path / "labs"
    make_lab(root, "alpha", 2, ALPHA, {"answer.txt": "41\n"}, {"answer.txt": "42\n"})
    make_lab(root, "beta", 1, BETA, {"notes.txt": "beta\n"}, {}, edits="notes.txt")
    make_lab(root, "broken", 3, ALPHA, {}, {}, title=None)
    return root


def nk(labs: Path, *args: str, timeout: float = 110) -> subprocess.CompletedProcess:
    env = {**os.environ, catalog.ENV: str(labs), "PYTHONDONTWRITEBYTECODE": "1"}
    return subprocess.run([sys.executable, "-m", "nanokernel", *args], env=env, text=True,
                          capture_output=True, timeout=timeout, stdin=subprocess.DEVNULL)


def started(labs: Path, tmp_path: Path, name: str = "alpha") -> Path:
    work = tmp_path / f"work-{name}"
    assert nk(labs, "lab", "start", name, str(work)).returncode == 0
    return work


def grade_json(labs: Path, *args: str) -> tuple[int, dict]:
    proc = nk(labs, "grade", *args, "--json")
    assert proc.stdout.strip(), proc.stderr
    return proc.returncode, json.loads(proc.stdout)


def by_name(report: dict) -> dict[str, dict]:
    return {t["name"]: t for t in report["tests"]}


class TestLabList:
    def test_in_order(self, labs: Path) -> None:
        """`lab list` shows the labs by their order, with title and summary."""
        proc = nk(labs, "lab", "list")
        assert proc.returncode == 0
        names = re.findall(r"^\s*\d+\. (\S+)", proc.stdout, re.M)
        assert ["beta", "alpha"] == names
        assert "about alpha" in proc.stdout

    def test_broken_lab_named(self, labs: Path) -> None:
        """A lab whose lab.toml lacks a key is reported on stderr, not listed."""
        proc = nk(labs, "lab", "list")
        assert "broken" not in proc.stdout
        assert re.search(r"broken.*title", proc.stderr)


class TestLabStart:
    def test_copies_the_starter(self, labs: Path, tmp_path: Path) -> None:
        """`lab start` copies the starter and prints the boot and grade commands."""
        work = tmp_path / "w"
        proc = nk(labs, "lab", "start", "alpha", str(work))
        assert proc.returncode == 0
        assert "41\n" == (work / "answer.txt").read_text()
        assert f"nanokernel grade alpha --dir {work}" in proc.stdout
        assert f"nanokernel boot --lab {work}" in proc.stdout

    def test_refuses_a_non_empty_dir(self, labs: Path, tmp_path: Path) -> None:
        """A non-empty DIR is refused (exit 2) unless --force."""
        work = tmp_path / "w"
        work.mkdir()
        (work / "mine.txt").write_text("keep")
        proc = nk(labs, "lab", "start", "alpha", str(work))
        assert 2 == proc.returncode
        assert "not empty" in proc.stderr
        assert not (work / "answer.txt").exists()
        assert 0 == nk(labs, "lab", "start", "alpha", str(work), "--force").returncode
        assert (work / "answer.txt").exists() and (work / "mine.txt").exists()

    def test_unknown_lab(self, labs: Path, tmp_path: Path) -> None:
        """An unknown NAME is refused with the names of the labs there are."""
        proc = nk(labs, "lab", "start", "nope", str(tmp_path / "w"))
        assert 2 == proc.returncode
        assert "alpha" in proc.stderr and "beta" in proc.stderr


class TestGrade:
    def test_points_and_parents(self, labs: Path, tmp_path: Path) -> None:
        """A failed test earns 0, its child is skipped, a passed one earns its points."""
        rc, report = grade_json(labs, "alpha", "--dir", str(started(labs, tmp_path)))
        assert 1 == rc
        tests = by_name(report)
        assert ["answer is right", "needs the answer", "host command"] == list(tests)
        assert ("FAIL", 0, 10) == tuple(tests["answer is right"][k]
                                        for k in ("status", "points", "max"))
        assert ("skipped", 0) == (tests["needs the answer"]["status"],
                                  tests["needs the answer"]["points"])
        assert ("OK", 2) == (tests["host command"]["status"], tests["host command"]["points"])
        assert (2, 17) == (report["score"], report["max"])
        assert "the answer:" in tests["answer is right"]["message"]

    def test_table(self, labs: Path, tmp_path: Path) -> None:
        """The table has a line per test, the transcript of a failure and the score."""
        work = started(labs, tmp_path)
        proc = nk(labs, "grade", "alpha", "--dir", str(work), "--seed", "17")
        assert 1 == proc.returncode
        out = proc.stdout
        assert f"grading alpha in {work} (seed 17; re-run: --seed 17)" in out
        assert re.search(r"^  answer is right \.+ FAIL +0/10 +transcript: "
                         + re.escape(str(work / ".grade" / "answer_is_right.log")), out, re.M)
        assert re.search(r"^  needs the answer \.+ skipped +0/5", out, re.M)
        assert re.search(r"^  host command \.+ OK +2/2 +\d+\.\d s$", out, re.M)
        assert re.search(r"^Score: 2/17$", out, re.M)

    def test_transcripts_for_failures_only(self, labs: Path, tmp_path: Path) -> None:
        """A failed test's transcript is kept; a passed one leaves none (and removes an
        earlier failure's)."""
        work = started(labs, tmp_path)
        grade_json(labs, "alpha", "--dir", str(work))
        log = work / ".grade" / "answer_is_right.log"
        assert "the answer:" in log.read_text()
        assert not (work / ".grade" / "host_command.log").exists()
        (work / "answer.txt").write_text("42\n")
        rc, report = grade_json(labs, "alpha", "--dir", str(work))
        assert (0, 17) == (rc, report["score"])
        assert not log.exists()

    def test_solution_full_marks(self, labs: Path) -> None:
        """--solution grades the starter with solution/ over it: full marks, exit 0."""
        rc, report = grade_json(labs, "alpha", "--solution")
        assert (0, 17, 17) == (rc, report["score"], report["max"])

    def test_extra_tests_count(self, labs: Path, tmp_path: Path) -> None:
        """--extra DIR's tests run after the lab's, count in the score, and may name a
        lab test (lab_grade) as their parent."""
        hidden = tmp_path / "hidden"
        hidden.mkdir()
        (hidden / "more.py").write_text(textwrap.dedent(HIDDEN))
        rc, report = grade_json(labs, "alpha", "--dir", str(started(labs, tmp_path)),
                                "--extra", str(hidden))
        tests = by_name(report)
        assert ["answer is right", "needs the answer", "host command", "hidden passes",
                "hidden needs the answer"] == list(tests)
        assert "skipped" == tests["hidden needs the answer"]["status"]
        assert (1, 6, 27) == (rc, report["score"], report["max"])

    def test_one_test_and_its_parents(self, labs: Path, tmp_path: Path) -> None:
        """--test T runs T and the tests it needs, nothing else."""
        work = started(labs, tmp_path)
        (work / "answer.txt").write_text("42\n")
        rc, report = grade_json(labs, "alpha", "--dir", str(work), "--test", "needs the answer")
        assert ["answer is right", "needs the answer"] == list(by_name(report))
        assert (0, 15) == (rc, report["score"])

    def test_unknown_test(self, labs: Path, tmp_path: Path) -> None:
        """An unknown --test is refused (exit 2) with the names there are."""
        proc = nk(labs, "grade", "alpha", "--dir", str(started(labs, tmp_path)),
                  "--test", "nope")
        assert 2 == proc.returncode
        assert "answer is right" in proc.stderr

    def test_not_a_working_copy(self, labs: Path, tmp_path: Path) -> None:
        """A directory with none of the lab's files is refused (exit 2)."""
        (tmp_path / "other").mkdir()
        proc = nk(labs, "grade", "alpha", "--dir", str(tmp_path / "other"))
        assert 2 == proc.returncode
        assert "not a working copy of alpha" in proc.stderr

    def test_missing_dir(self, labs: Path, tmp_path: Path) -> None:
        """A --dir that does not exist is refused (exit 2), with how to make one."""
        proc = nk(labs, "grade", "alpha", "--dir", str(tmp_path / "nope"))
        assert 2 == proc.returncode
        assert "lab start alpha" in proc.stderr


class TestSeeds:
    def secrets(self, labs: Path, work: Path, seed: str, *only: str) -> str:
        tests = [a for t in only for a in ("--test", t)]
        _, report = grade_json(labs, "beta", "--dir", str(work), "--seed", seed, *tests)
        return by_name(report)["secrets"]["message"]

    def test_same_seed_same_secrets(self, labs: Path, tmp_path: Path) -> None:
        """The same seed gives the same g.secret() and g.rng values; another seed others."""
        work = started(labs, tmp_path, "beta")
        first = self.secrets(labs, work, "5", "secrets")
        assert re.fullmatch(r"secrets [a-z0-9]{8} [a-z0-9]{12} \d+", first)
        assert first == self.secrets(labs, work, "5", "secrets")
        assert first != self.secrets(labs, work, "6", "secrets")

    def test_secrets_do_not_depend_on_other_tests(self, labs: Path, tmp_path: Path) -> None:
        """A test's values are a function of the seed and its name, whichever tests run."""
        work = started(labs, tmp_path, "beta")
        assert self.secrets(labs, work, "9", "secrets") == \
            self.secrets(labs, work, "9", "secrets", "raises")

    def test_fresh_seed_printed(self, labs: Path, tmp_path: Path) -> None:
        """Without --seed each run draws one, and says it."""
        work = started(labs, tmp_path, "beta")
        seeds = {grade_json(labs, "beta", "--dir", str(work), "--test", "secrets")[1]["seed"]
                 for _ in range(2)}
        assert 2 == len(seeds)


class TestFailures:
    def test_test_timeout(self, labs: Path, tmp_path: Path) -> None:
        """A test past its timeout fails, saying so, and its command is killed."""
        work = started(labs, tmp_path, "beta")
        t0 = time.monotonic()
        _, report = grade_json(labs, "beta", "--dir", str(work), "--test", "too slow")
        assert time.monotonic() - t0 < 30
        result = by_name(report)["too slow"]
        assert "FAIL" == result["status"]
        assert "timeout (2 s)" in result["message"]

    def test_command_timeout(self, labs: Path, tmp_path: Path) -> None:
        """A host command past its own timeout fails the test as a hang."""
        work = started(labs, tmp_path, "beta")
        _, report = grade_json(labs, "beta", "--dir", str(work), "--test", "host timeout")
        assert "did not finish in 1 s" in by_name(report)["host timeout"]["message"]

    def test_exception_is_a_failure(self, labs: Path, tmp_path: Path) -> None:
        """Any other exception fails the test, its traceback in the transcript."""
        work = started(labs, tmp_path, "beta")
        _, report = grade_json(labs, "beta", "--dir", str(work), "--test", "raises")
        result = by_name(report)["raises"]
        assert result["message"].startswith("ZeroDivisionError")
        text = Path(result["transcript"]).read_text()
        assert "Traceback" in text and "1 / 0" in text

    def test_boot(self, labs: Path, tmp_path: Path) -> None:
        """g.boot boots the working copy and returns its output and its log."""
        work = started(labs, tmp_path, "beta")
        _, report = grade_json(labs, "beta", "--dir", str(work), "--test", "boots")
        assert "OK" == by_name(report)["boots"]["status"], by_name(report)["boots"]


class TestCatalog:
    def test_checks_lab_toml(self, tmp_path: Path) -> None:
        """A lab.toml with a wrong or unknown key, or a lab missing a part, is refused."""
        lab = make_lab(tmp_path, "x", 1, ALPHA, {}, {})
        assert "x" == catalog.load(lab).name
        (lab / "lab.toml").write_text('title = "t"\norder = "1"\nsummary = "s"\nfiles = ["a"]\n')
        with pytest.raises(catalog.LabError, match="order"):
            catalog.load(lab)
        (lab / "lab.toml").write_text('title = "t"\norder = 1\nsummary = "s"\nfiles = ["a"]\n'
                                      'colour = "red"\n')
        with pytest.raises(catalog.LabError, match="colour"):
            catalog.load(lab)
        (lab / "lab.toml").write_text('title = "t"\norder = 1\nsummary = "s"\nfiles = ["a"]\n')
        (lab / "grade.py").unlink()
        with pytest.raises(catalog.LabError, match="grade.py"):
            catalog.load(lab)


class TestJudging:
    def grade(self, tmp_path: Path) -> Grade:
        return Grade(dir=tmp_path, lab_dir=tmp_path, seed=1, test_name="t", scratch=tmp_path)

    def test_expect_matches_a_line(self, tmp_path: Path) -> None:
        """expect's regex is matched per line (^ and $ are a line's ends)."""
        g = self.grade(tmp_path)
        g.expect("one\ntwo 2\nthree", r"^two \d$")
        with pytest.raises(GradeFailure, match=r"(?s)wanted '\^four\$'.*\| three"):
            g.expect("one\ntwo\nthree", r"^four$", "wanted")

    def test_expect_not(self, tmp_path: Path) -> None:
        """expect_not fails naming the line that matched."""
        g = self.grade(tmp_path)
        g.expect_not("a\nb", r"^c$")
        with pytest.raises(GradeFailure, match="got: bad line"):
            g.expect_not("ok\nbad line\n", r"bad")

    def test_check_and_transcript(self, tmp_path: Path) -> None:
        """check fails with its message, which the transcript keeps."""
        g = self.grade(tmp_path)
        g.check(True, "never shown")
        with pytest.raises(GradeFailure, match="^it broke$"):
            g.check(False, "it broke")
        assert "FAIL: it broke" in g.transcript
