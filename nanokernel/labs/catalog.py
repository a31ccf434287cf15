"""catalog — where the labs are, and what each lab.toml says.

The labs live in the repository's labs/ directory (beside nanokernel/), one
directory per lab; NK_LABS_DIR points elsewhere (the framework's own tests use
it for fake labs).  A directory is a lab when it holds a lab.toml:

    title = "Add an operation to the fs server"
    order = 1                       # place in `lab list` (then by name)
    summary = "one line for `lab list`"
    files = ["servers/fs/wc.py"]    # what the student edits or creates

and beside it README.md (the handout), starter/, solution/ and grade.py.  A lab
missing one of them, or with a lab.toml that does not say the above, is refused
with a LabError that names the file and the problem.
"""

from __future__ import annotations

import os
import tomllib
from dataclasses import dataclass
from pathlib import Path

import nanokernel

ENV = "NK_LABS_DIR"
REQUIRED = ("README.md", "starter", "solution", "grade.py")


class LabError(Exception):
    """A lab that cannot be found or is not well-formed: the message says why."""


@dataclass(frozen=True)
class Lab:
    name: str
    path: Path
    title: str
    order: int
    summary: str
    files: tuple[str, ...]

    @property
    def starter(self) -> Path:
        return self.path / "starter"

    @property
    def solution(self) -> Path:
        return self.path / "solution"

    @property
    def grader(self) -> Path:
        return self.path / "grade.py"

    @property
    def handout(self) -> Path:
        return self.path / "README.md"


def labs_root() -> Path:
    """$NK_LABS_DIR, or the repository's labs/ directory."""
    override = os.environ.get(ENV)
    if override:
        return Path(override).resolve()
    return Path(nanokernel.__file__).resolve().parent.parent / "labs"


def scan(root: Path | None = None) -> tuple[list[Lab], list[LabError]]:
    """Every lab under ``root``, in order; and the problems of those that are broken."""
    root = labs_root() if root is None else root
    labs: list[Lab] = []
    broken: list[LabError] = []
    if root.is_dir():
        for path in sorted(p for p in root.iterdir() if (p / "lab.toml").is_file()):
            try:
                labs.append(load(path))
            except LabError as exc:
                broken.append(exc)
    return sorted(labs, key=lambda lab: (lab.order, lab.name)), broken


def find(name: str) -> Lab:
    """The lab called ``name``; LabError listing the known ones if there is none."""
    path = labs_root() / name
    if not name or "/" in name or not (path / "lab.toml").is_file():
        known = ", ".join(lab.name for lab in scan()[0]) or "none"
        raise LabError(f"no lab named {name!r} (labs: {known})")
    return load(path)


def load(path: Path) -> Lab:
    """Read and check ``path``/lab.toml and the lab's layout."""
    where = path / "lab.toml"
    try:
        meta = tomllib.loads(where.read_text())
    except (OSError, tomllib.TOMLDecodeError) as exc:
        raise LabError(f"{where}: {exc}") from None
    _check(where, meta, "title", str)
    _check(where, meta, "summary", str)
    _check(where, meta, "order", int)
    files = meta.get("files")
    if not isinstance(files, list) or not files or not all(isinstance(f, str) for f in files):
        raise LabError(f"{where}: files must be a list of the paths the student edits")
    unknown = set(meta) - {"title", "order", "summary", "files"}
    if unknown:
        raise LabError(f"{where}: unknown keys {', '.join(sorted(unknown))}")
    missing = [n for n in REQUIRED if not (path / n).exists()]
    if missing:
        raise LabError(f"{path}: missing {', '.join(missing)}")
    return Lab(path.name, path, meta["title"], meta["order"], meta["summary"], tuple(files))


def _check(where: Path, meta: dict, key: str, kind: type) -> None:
    value = meta.get(key)
    if not isinstance(value, kind) or isinstance(value, bool) or value in ("",):
        raise LabError(f"{where}: {key} must be a {kind.__name__}")
