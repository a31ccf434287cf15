"""Every command the welcome text (/etc/motd) suggests works exactly as printed.

The test reads /etc/motd from a booted system, takes each suggested command
(the indented ``  command    what it does`` lines) and runs it in a ``-c`` boot
followed by ``ls /`` (what the motd says to try after a crash): no error line,
status 0, and the system still answers.  In the default mode only, the one the
motd greets (hosted in the kernel, fs cannot be crashed or killed on its own).
"""

from __future__ import annotations

import re

import pytest

from tests.e2e.conftest import lines

SUGGESTION = re.compile(r"^  (\S.*?)\s{2,}\S")
ERROR = re.compile(r"^[\w.-]+: .*: [A-Z][A-Za-z]+$")   # the shell's "cmd: detail: Code"


def suggested(motd: list[str]) -> list[str]:
    return [m.group(1) for m in map(SUGGESTION.match, motd) if m]


@pytest.mark.parametrize("mode", ["process"])
def test_every_motd_command_works(nk):
    r = nk("cat /etc/motd")
    assert 0 == r.returncode, r.output
    motd = lines(r.stdout)[1:]   # (after the boot's own first line)
    commands = suggested(motd)
    assert len(commands) >= 5 and "trace on" in commands, motd
    for command in commands:
        r = nk(f"{command}; ls /")
        out = lines(r.stdout)
        errors = [line for line in out if ERROR.match(line)]
        assert not errors and 0 == r.returncode, (command, r.output)
        assert "etc" in out and "home" in out, (command, r.stdout)
        if command == "trace on":   # "watch the messages behind the next command"
            assert any(line.startswith("│ ") and "shell" in line and "→ fs" in line
                       for line in out), r.stdout
        if command == "help":
            assert any(line.strip().startswith("top") for line in out), r.stdout
