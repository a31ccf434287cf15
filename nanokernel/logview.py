"""`nanokernel log [--follow] [BOOT]`: a boot's log, pretty-printed on the host.

Every process of a boot writes its log as JSON lines (libipc/jsonlog.py) to
the boot's log file, never to the console: by default
``$XDG_STATE_HOME/nanokernel/logs/boot-STAMP-PID.log`` (nanokernel/paths.py),
or ``boot --log FILE``.  This command shows one such file a line per event:

    22:40:32.062  kernel    info   spawned           name=init ep=4097 pid=5602

time (local), process, level, event, then the other fields as key=value
(strings with spaces quoted, lists and objects as JSON).  A line that is not
JSON (a traceback a process wrote to its stderr) is shown as it is.

BOOT: a log file's path; or a boot's name in the log directory, whole or any
part of it (``boot-20261201-224032-5580``, ``224032``); or ``-N``, the N-th
latest boot (``-1``, the default: the latest).  ``--follow`` keeps printing
what the log gains, like ``tail -f``, until Ctrl-C.

The command is added to ``nanokernel`` by ``add_log_command(sub)`` (sub: the
argparse subparsers); ``python -m nanokernel.logview ...`` runs it alone.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from collections.abc import Iterable, Iterator
from datetime import datetime
from pathlib import Path
from typing import IO, Any

from nanokernel.paths import state_dir

LEVELS = {"debug": 10, "info": 20, "warning": 30, "warn": 30, "error": 40,
          "critical": 50, "exception": 40}
COLOURS = {"warning": "\x1b[33m", "warn": "\x1b[33m", "error": "\x1b[31m",
           "critical": "\x1b[1;31m", "exception": "\x1b[31m", "debug": "\x1b[2m"}
PLAIN = "\x1b[0m"
FOLLOW_POLL_S = 0.2
SHOWN_FIRST = ("timestamp", "proc", "level", "event", "pid")


def log_dir() -> Path:
    return state_dir() / "logs"


def boot_logs(directory: Path | None = None) -> list[Path]:
    """The boots' log files in ``directory`` (default: the user's), oldest first."""
    directory = directory or log_dir()
    try:
        files = [p for p in directory.glob("boot-*.log") if p.is_file()]
    except OSError:
        return []
    return sorted(files, key=lambda p: (p.stat().st_mtime, p.name))


def find_log(boot: str | None, directory: Path | None = None) -> Path:
    """The log file ``boot`` names (see the module's docstring); ValueError if none."""
    directory = directory or log_dir()
    if boot is not None and not (boot.startswith("-") and boot[1:].isdigit()):
        path = Path(boot).expanduser()
        if path.is_file():
            return path
    logs = boot_logs(directory)
    if not logs:
        raise ValueError(f"no boot logs in {directory} (boot first, or give a log FILE)")
    if boot is None:
        return logs[-1]
    if boot.startswith("-") and boot[1:].isdigit():
        n = int(boot[1:])
        if not 1 <= n <= len(logs):
            raise ValueError(f"{boot}: there are {len(logs)} boot logs in {directory}")
        return logs[-n]
    matches = [p for p in logs if boot in p.name]
    if not matches:
        raise ValueError(f"{boot}: no such log file, and no boot log in {directory} "
                         f"has it in its name")
    return matches[-1]


def _value(v: Any) -> str:
    if isinstance(v, str):
        return json.dumps(v, ensure_ascii=False) if (not v or any(c.isspace() for c in v)
                                                     or '"' in v) else v
    return json.dumps(v, ensure_ascii=False, separators=(",", ":"))


def _time(stamp: Any) -> str:
    if not isinstance(stamp, str):
        return " " * 12
    try:
        when = datetime.fromisoformat(stamp.replace("Z", "+00:00")).astimezone()
    except ValueError:
        return f"{stamp[:12]:<12}"
    return when.strftime("%H:%M:%S.") + f"{when.microsecond // 1000:03d}"


def format_line(line: str, colour: bool = False) -> str | None:
    """One log line pretty-printed (None: a blank line)."""
    line = line.rstrip("\n")
    if not line.strip():
        return None
    try:
        obj = json.loads(line)
    except ValueError:
        obj = None
    if not isinstance(obj, dict):
        return line   # (a process's own stderr: a traceback, say)
    level = str(obj.get("level", ""))
    proc = str(obj.get("proc", "?"))
    # (a process's own pid is on each of its lines; the kernel's "pid" is a child's)
    hidden = SHOWN_FIRST if proc != "kernel" else SHOWN_FIRST[:-1]
    extra = " ".join(f"{k}={_value(v)}" for k, v in obj.items()
                     if k not in hidden and k != "exception")
    text = (f"{_time(obj.get('timestamp'))}  {proc:<9} {level:<7} "
            f"{obj.get('event', '')!s:<18} {extra}").rstrip()
    if "exception" in obj:   # a traceback: its lines after the event's
        text += "\n" + "\n".join("    " + t for t in str(obj["exception"]).splitlines())
    if colour and level in COLOURS:
        text = COLOURS[level] + text + PLAIN
    return text


def _wanted(line: str, min_level: int, procs: set[str]) -> bool:
    if min_level <= 0 and not procs:
        return True
    try:
        obj = json.loads(line)
    except ValueError:
        return min_level <= 0 and not procs
    if not isinstance(obj, dict):
        return True
    if procs and str(obj.get("proc")) not in procs:
        return False
    return LEVELS.get(str(obj.get("level", "")).lower(), 20) >= min_level


def follow_lines(f: IO[str], poll: float = FOLLOW_POLL_S) -> Iterator[str]:
    """The lines ``f`` has, then the lines it gains, for ever (``tail -f``)."""
    rest = ""
    while True:
        data = f.read()
        if data:
            rest += data
            *lines, rest = rest.split("\n")
            yield from (line + "\n" for line in lines)
        else:
            time.sleep(poll)


def show(lines: Iterable[str], out: IO[str], *, colour: bool = False, min_level: int = 0,
         procs: set[str] | None = None) -> int:
    """Print the wanted lines of ``lines`` pretty; returns how many were shown."""
    shown = 0
    for line in lines:
        if not _wanted(line, min_level, procs or set()):
            continue
        text = format_line(line, colour)
        if text is not None:
            out.write(text + "\n")
            out.flush()
            shown += 1
    return shown


def run(args: argparse.Namespace) -> int:
    try:
        path = find_log(args.boot, Path(args.dir) if getattr(args, "dir", None) else None)
    except ValueError as exc:
        print(f"nanokernel log: {exc}", file=sys.stderr)
        return 2
    colour = sys.stdout.isatty() and not os.environ.get("NO_COLOR")
    min_level = LEVELS.get(args.level, 0) if args.level else 0
    procs = set(args.proc or ())
    if sys.stderr.isatty():
        print(f"== {path}", file=sys.stderr)
    try:
        with path.open(encoding="utf-8", errors="replace") as f:
            lines = follow_lines(f) if args.follow else f
            show(lines, sys.stdout, colour=colour, min_level=min_level, procs=procs)
    except BrokenPipeError:   # (| head)
        with open(os.devnull, "w") as devnull:
            os.dup2(devnull.fileno(), sys.stdout.fileno())
        return 0
    except OSError as exc:
        print(f"nanokernel log: {path}: {exc.strerror}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        return 0
    return 0


def add_log_command(sub: Any) -> argparse.ArgumentParser:
    """Add ``log`` to the ``nanokernel`` command's subparsers ``sub``."""
    p = sub.add_parser("log", help="show a boot's log pretty-printed: log [--follow] [BOOT]",
                       description="Show a boot's log (JSON lines) one event a line: time, "
                                   "process, level, event, key=value.")
    p.add_argument("boot", nargs="?", metavar="BOOT",
                   help="a log FILE, a boot's name (or part of it) in the log directory, "
                        "or -N: the N-th latest boot (default: the latest)")
    p.add_argument("-f", "--follow", action="store_true",
                   help="keep printing what the log gains, until Ctrl-C")
    p.add_argument("--level", choices=("debug", "info", "warning", "error", "critical"),
                   help="only events of this level or higher")
    p.add_argument("--proc", action="append", metavar="NAME",
                   help="only this process's events (repeatable)")
    p.add_argument("--dir", metavar="DIR", help=argparse.SUPPRESS)
    p.set_defaults(func=run)
    return p


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="nanokernel")
    add_log_command(parser.add_subparsers(dest="command", required=True))
    args = parser.parse_args(["log", *(sys.argv[1:] if argv is None else argv)])
    return args.func(args)


if __name__ == "__main__":
    sys.exit(main())
