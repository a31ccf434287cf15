"""Every code block of docs/tutorial.md and docs/shell.md runs here.

* A python block marked ``<!-- file: PATH -->`` is the whole of PATH.
* A python block marked ``<!-- from: PATH -->`` is a verbatim excerpt of PATH.
* A console block is a shell session: its ``nk:/$ `` lines are run in one
  boot, and the other lines must be exactly the output (``...`` in a line
  matches any text, like doctest's ELLIPSIS).
"""

from __future__ import annotations

import re
from dataclasses import dataclass

import pytest

from tests.e2e.conftest import REPO

DOCS = [REPO / "docs" / "tutorial.md", REPO / "docs" / "shell.md"]
PROMPT = "nk:/$ "
FENCE = re.compile(r"(?:<!-- (file|from): (\S+) -->\n)?```(\w*)\n(.*?)^```", re.S | re.M)


@dataclass
class Block:
    line: int
    doc: str
    lang: str
    body: str
    marker: str | None
    path: str | None

    def __str__(self) -> str:
        return f"{self.doc}:{self.line}:{self.lang}"


def blocks() -> list[Block]:
    found = []
    for doc in DOCS:
        text = doc.read_text()
        found += [Block(text.count("\n", 0, m.start()) + 1, doc.name, m.group(3), m.group(4),
                        m.group(1), m.group(2)) for m in FENCE.finditer(text)]
    return found


def session(block: Block) -> tuple[list[str], list[str]]:
    commands, expected = [], []
    for line in block.body.splitlines():
        if line.startswith(PROMPT):
            commands.append(line[len(PROMPT):])
        else:
            expected.append(line)
    return commands, expected


def matches(pattern: str, line: str) -> bool:
    return re.fullmatch(".*".join(map(re.escape, pattern.split("..."))), line) is not None


class TestTutorial:
    def test_every_block_is_checked(self):
        """Each block is a file, an excerpt of a file, or a shell session."""
        found = blocks()
        assert found, "no code blocks found"
        for block in found:
            assert (block.lang == "python" and block.marker) or block.lang == "console", block

    @pytest.mark.parametrize("block", [b for b in blocks() if b.lang == "python"], ids=str)
    def test_python_blocks_are_the_example_files(self, block):
        """The code shown is the code in examples/ (whole, or a verbatim excerpt)."""
        source = (REPO / block.path).read_text()
        if block.marker == "file":
            assert source == block.body
        else:
            assert block.body in source

    @pytest.mark.parametrize("block", [b for b in blocks() if b.lang == "console"], ids=str)
    def test_console_blocks_run_as_shown(self, nk, block, mode):
        """Running the block's commands in a fresh boot prints exactly the block's output
        (the docs show the default, microkernel mode)."""
        if mode != "process":
            pytest.skip("the docs' sessions show the default (microkernel) mode")
        commands, expected = session(block)
        r = nk("\n".join(commands))
        actual = [line for line in r.stdout.splitlines()
                  if not line.startswith("nanokernel: ")]   # the boot banner
        assert len(expected) == len(actual), f"expected {expected}\nactual {actual}"
        for want, got in zip(expected, actual, strict=True):
            assert matches(want, got), f"{want!r} != {got!r}\nall output:\n{r.stdout}"
