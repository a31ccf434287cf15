"""Every lab under labs/: its starter scores below full marks, its solution full marks.

What issue 18's "Checked by" asks of a fresh clone, lab by lab: `lab start` then
`grade --dir` scores less than full marks and exits non-zero; `grade --solution`
scores full marks and exits 0.  The graders boot real systems: minutes, not seconds.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from nanokernel.labs.catalog import labs_root, scan

LABS = sorted(p.name for p in labs_root().iterdir() if (p / "lab.toml").is_file()) \
    if labs_root().is_dir() else []

pytestmark = pytest.mark.timeout(300)


def nk(*args: str) -> subprocess.CompletedProcess:
    env = {k: v for k, v in os.environ.items() if not k.startswith("NK_")}
    env["PYTHONDONTWRITEBYTECODE"] = "1"
    return subprocess.run([sys.executable, "-m", "nanokernel", *args], env=env, text=True,
                          capture_output=True, timeout=280, stdin=subprocess.DEVNULL)


def graded(*args: str) -> tuple[int, dict]:
    proc = nk("grade", *args, "--json")
    assert proc.stdout.strip(), proc.stderr
    return proc.returncode, json.loads(proc.stdout)


def failures(report: dict) -> str:
    return "\n".join(f"{t['name']}: {t['status']} {t['message']}" for t in report["tests"]
                     if t["status"] != "OK")


def test_at_least_five_labs() -> None:
    """`lab list` shows at least five labs, none of them broken."""
    labs, broken = scan()
    assert [] == [str(e) for e in broken]
    assert len(labs) >= 5


@pytest.mark.parametrize("name", LABS)
def test_starter_scores_below_full_marks(name: str, tmp_path: Path) -> None:
    """The starter, as `lab start` copies it, boots but does not score full marks."""
    work = tmp_path / name
    start = nk("lab", "start", name, str(work))
    assert 0 == start.returncode, start.stderr
    rc, report = graded(name, "--dir", str(work))
    assert report["score"] < report["max"], f"the starter scored full marks ({report['seed']=})"
    assert rc != 0


@pytest.mark.parametrize("name", LABS)
def test_solution_scores_full_marks(name: str) -> None:
    """The reference solution scores full marks and exits 0."""
    rc, report = graded(name, "--solution")
    assert report["score"] == report["max"], failures(report)
    assert 0 == rc
