"""The `lab` and `grade` commands of `nanokernel` (wired in by nanokernel/cli.py).

    nanokernel lab list                    the labs, in order: name, title, summary
    nanokernel lab start NAME DIR          copy NAME's starter files into DIR
    nanokernel grade NAME [--dir DIR]      run NAME's grader on a working copy

docs/labs.md is the guide; catalog.py finds labs, runner.py grades them.
"""

from __future__ import annotations

import argparse
import shutil
import sys
import tempfile
from pathlib import Path

from nanokernel.labs.catalog import LabError, find, scan


def add_lab_commands(sub: argparse._SubParsersAction) -> None:
    """Add `lab` (list, start) and `grade` to the `nanokernel` subcommands."""
    lab = sub.add_parser("lab", help="the teaching labs: lab list, lab start NAME DIR",
                         description="Graded labs (docs/labs.md): list them, or start one "
                                     "in a working copy of your own.")
    lab_sub = lab.add_subparsers(dest="lab_command", required=True, metavar="ACTION")
    listing = lab_sub.add_parser("list", help="the labs, in order",
                                 description="Show each lab's name, title and summary.")
    listing.set_defaults(func=lab_list)
    start = lab_sub.add_parser("start", help="copy a lab's starter files into DIR",
                               description="Make DIR a working copy of lab NAME: its "
                                           "starter files, which `boot --lab DIR` boots "
                                           "in front of the package's.")
    start.add_argument("name", metavar="NAME", help="the lab (see nanokernel lab list)")
    start.add_argument("dir", metavar="DIR", help="the working copy (new, or empty)")
    start.add_argument("--force", action="store_true",
                       help="copy into a non-empty DIR (the starter's files are replaced)")
    start.set_defaults(func=lab_start)

    grade = sub.add_parser("grade", help="grade a lab's working copy: grade NAME [--dir DIR]",
                           description="Run lab NAME's tests against a working copy; print "
                                       "each with its points and `Score: X/Y`.  Exit status "
                                       "0 only on full marks.")
    grade.add_argument("name", metavar="NAME", help="the lab (see nanokernel lab list)")
    where = grade.add_mutually_exclusive_group()
    where.add_argument("--dir", metavar="DIR", default=".",
                       help="the working copy (default: the current directory)")
    where.add_argument("--solution", action="store_true",
                       help="grade the lab's reference solution (a copy, in a temp dir)")
    grade.add_argument("--test", metavar="T", action="append",
                       help="run only test T (and the tests it needs); repeatable")
    grade.add_argument("--seed", metavar="N", type=int,
                       help="the random inputs of an earlier run (its seed is printed)")
    grade.add_argument("--extra", metavar="DIR",
                       help="more tests: every DIR/*.py (a teacher's hidden tests)")
    grade.add_argument("--json", action="store_true", help="the results as one JSON object")
    grade.set_defaults(func=grade_command)


def lab_list(args: argparse.Namespace) -> int:
    labs, broken = scan()
    if not labs and not broken:
        print("no labs found", file=sys.stderr)
        return 1
    width = max((len(lab.name) for lab in labs), default=0)
    for lab in labs:
        print(f"{lab.order:>2}. {lab.name:<{width}}  {lab.title}")
        print(f"    {'':<{width}}  {lab.summary}")
    for exc in broken:
        print(f"nanokernel lab: broken lab: {exc}", file=sys.stderr)
    return 0


def lab_start(args: argparse.Namespace) -> int:
    try:
        lab = find(args.name)
    except LabError as exc:
        print(f"nanokernel lab start: {exc}", file=sys.stderr)
        return 2
    dest = Path(args.dir).expanduser().resolve()
    if dest.exists() and not dest.is_dir():
        print(f"nanokernel lab start: {args.dir}: not a directory", file=sys.stderr)
        return 2
    if dest.is_dir() and any(dest.iterdir()) and not args.force:
        print(f"nanokernel lab start: {args.dir}: not empty (use --force to copy the "
              "starter files over what is there)", file=sys.stderr)
        return 2
    shutil.copytree(lab.starter, dest, dirs_exist_ok=True)
    print(f"lab {lab.name}: {lab.title}")
    print(f"working copy: {dest}")
    print(f"handout:      {lab.handout}")
    print("edit:         " + ", ".join(lab.files))
    print(f"boot it:      nanokernel boot --lab {dest} --ramdisk")
    print(f"grade it:     nanokernel grade {lab.name} --dir {dest}")
    return 0


def grade_command(args: argparse.Namespace) -> int:
    from nanokernel.labs.runner import grade

    try:
        lab = find(args.name)
        copy = _solution_copy(lab) if args.solution else None
        work = copy or Path(args.dir).expanduser().resolve()
        extra = Path(args.extra).expanduser().resolve() if args.extra else None
        report = grade(lab, work, seed=args.seed, only=args.test, extra=extra,
                       out=None if args.json else sys.stdout)
    except LabError as exc:
        print(f"nanokernel grade: {exc}", file=sys.stderr)
        return 2
    if args.json:
        print(report.to_json())
    full = report.score == report.max
    if copy is not None:
        if full:
            shutil.rmtree(copy, ignore_errors=True)
        else:
            print(f"(the solution's copy is kept for its transcripts: {copy})", file=sys.stderr)
    return 0 if full else 1


def _solution_copy(lab) -> Path:
    """A working copy of the reference: the starter with solution/ copied over it."""
    copy = Path(tempfile.mkdtemp(prefix=f"nk-solution-{lab.name}-"))
    shutil.copytree(lab.starter, copy, dirs_exist_ok=True)
    shutil.copytree(lab.solution, copy, dirs_exist_ok=True)
    return copy
