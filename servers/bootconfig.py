"""The boot configuration (boot.toml): which servers boot, with what rights.

    [servers.fs]                 # the table key is the server's name
    module = "servers.fs"        # or: path = "my_server.py" (relative to this file)
    args = []                    # "{disk}" / "{ramdisk}" become NK_DISK / NK_RAMDISK
    calls = ["block"]            # ACL: names it may call; "*" all; "@public" public ones
    public = true                # callable by anyone whose calls hold "@public"
    privileged = false           # may make privileged kernel calls (spawn, kill, halt)
    restart = "always"           # "always" | "on-failure" | "never"
    heartbeat = 2.0              # any [restart] knob, for this server only
    intensity = 0                #   (see below and servers/reincarnation.py)
    depends = ["block"]          # started only once these registered their names
    console = false              # inherits the terminal (the console server only)
    placement = "process"        # or "kernel": hosted inside the kernel process
    session = false              # the session program (the shell): started last,
                                 # its exit halts the system with its exit status
    node = false                 # started only on a node (boot --node NAME): the bridge
    [limits]                     # read by the kernel: max_message, max_calls,
                                 # each within libipc/limits.py's LIMIT_RANGES
    [restart]                    # the defaults of every server's knobs (RestartKnobs):
    backoff = 0.1                # first restart delay, doubling per quick failure
    backoff_max = 5.0            # at most this
    stable = 10.0                # up this long: the failure count starts over
    give_up = 5                  # quick failures of a server that never registered
    register_timeout = 10.0      # a started server must register within this
    intensity = 0                # give up after more than this many restarts …
    intensity_period = 60.0      # … within this many seconds (0: no limit)
    heartbeat = 2.0              # ping period; 2 missed periods = hung (0: off)
    [remote]                     # which servers each peer node may call (the bridge
    a = ["fs", "echo"]           # checks it; docs/network.md): deny by default,
    "*" = ["@public"]            # "*" any trusted peer, "@public" the public servers,
                                 # "@signal" may signal this node's processes

``load(path)`` reads and checks the whole file and returns a ``Config``, or
raises ``BootConfigError`` with ONE message in "FILE:LINE: KEY: problem" form
(the line when it can be found).  It is pure: nothing is spawned, so the
kernel can call it before booting and init calls it again before starting
anything.  Checks: TOML syntax, unknown keys, types, module or file exists,
names in calls/depends exist, no dependency cycle, at most one console and
one session.
"""

from __future__ import annotations

import importlib.util
import re
import tomllib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from libipc.limits import LIMIT_RANGES
from servers.reincarnation import KNOB_TYPES, KNOBS_ZERO_OK, RestartKnobs

NAME_RE = re.compile(r"^[a-z][a-z0-9_-]{0,31}$")
RESERVED = {"init", "kernel"}          # names the system itself uses
POLICIES = ("always", "on-failure", "never")
PLACEMENTS = ("process", "kernel")
NAMING = "naming"                      # the server spawned in the well-known slot 2

SERVER_KEYS = {
    "module": str, "path": str, "args": list, "calls": list, "public": bool,
    "privileged": bool, "restart": str, "depends": list, "console": bool,
    "placement": str, "session": bool, "node": bool,
}
RESTART_KEYS = KNOB_TYPES               # [restart], and per server: the same names
MIN_HEARTBEAT = 0.05                   # seconds: a shorter period is a ping flood


class BootConfigError(Exception):
    """The boot configuration is unusable; ``str()`` is the one line to show."""


@dataclass
class ServerSpec:
    name: str
    module: str | None = None
    path: str | None = None
    args: list[str] = field(default_factory=list)
    calls: list[str] = field(default_factory=list)
    public: bool = False
    privileged: bool = False
    restart: str = "always"
    depends: list[str] = field(default_factory=list)
    console: bool = False
    node: bool = False                    # only on a node (boot --node): the bridge
    placement: str = "process"
    session: bool = False
    knobs: RestartKnobs = field(default_factory=RestartKnobs)   # [restart] + its own keys

    def argv(self, env: dict[str, str]) -> list[str]:
        """The python argv for the kernel's spawn, with {disk}/{ramdisk} filled in."""
        args = [a.replace("{disk}", env.get("NK_DISK", ""))
                .replace("{ramdisk}", env.get("NK_RAMDISK", "")) for a in self.args]
        return ["-m", self.module, *args] if self.module else [self.path, *args]


@dataclass
class Config:
    path: Path
    servers: dict[str, ServerSpec]        # in start order (dependencies first)
    limits: dict[str, int] = field(default_factory=dict)
    restart: RestartKnobs = field(default_factory=RestartKnobs)
    remote: dict[str, list[str]] = field(default_factory=dict)   # peer -> names it may call

    @property
    def session(self) -> ServerSpec | None:
        return next((s for s in self.servers.values() if s.session), None)


def default_path() -> Path:
    """The packaged default configuration."""
    return Path(__file__).resolve().parent / "boot.toml"


def config_path(env: dict[str, str]) -> Path:
    """NK_CONFIG when set, else the packaged default."""
    return Path(env["NK_CONFIG"]) if env.get("NK_CONFIG") else default_path()


def load(path: str | Path) -> Config:
    """Read and check ``path``; raise BootConfigError naming the file, line and key."""
    path = Path(path)
    try:
        text = path.read_text()
    except OSError as exc:
        raise BootConfigError(f"{path}: cannot read boot configuration: "
                              f"{exc.strerror or exc}") from None
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise BootConfigError(f"{path}: {exc}") from None
    return _Checker(path, text).config(data)


class _Checker:
    """Turns the parsed TOML into a Config, failing at the first problem found."""

    def __init__(self, path: Path, text: str) -> None:
        self.path = path
        self.lines = text.splitlines()

    def fail(self, key: str, problem: str) -> BootConfigError:
        line = self._line_of(key)
        where = f"{self.path}:{line}" if line else f"{self.path}"
        return BootConfigError(f"{where}: {key}: {problem}")

    def _line_of(self, key: str) -> int | None:
        """The line that sets dotted ``key`` (best effort: [table] headers, then key =)."""
        parts = key.split(".")
        for split in range(len(parts), 0, -1):
            table, rest = parts[:split], parts[split:]
            header = _find(self.lines, 0, lambda s, t=table: _is_header(s, t))
            if header is None:
                continue
            if not rest:
                return header + 1
            end = _find(self.lines, header + 1, lambda s: s.lstrip().startswith("["))
            hit = _find(self.lines[:end], header + 1,
                        lambda s, k=rest[0]: re.match(rf"\s*\"?{re.escape(k)}\"?\s*=", s))
            return (hit if hit is not None else header) + 1
        return None

    # -- top level ------------------------------------------------------------------
    def config(self, data: dict[str, Any]) -> Config:
        for key in data:
            if key not in ("servers", "limits", "restart", "remote"):
                raise self.fail(key, "unknown key (expected servers, limits, restart, remote)")
        servers = data.get("servers")
        if not isinstance(servers, dict) or not servers:
            raise self.fail("servers", "missing: add at least one [servers.NAME] table")
        defaults = self.knobs(data.get("restart", {}))
        specs = {name: self.server(name, table, defaults) for name, table in servers.items()}
        self.check_names(specs)
        return Config(self.path, self.order(specs), self.limits(data.get("limits", {})),
                      defaults, self.remote(data.get("remote", {})))

    def remote(self, table: Any) -> dict[str, list[str]]:
        """[remote]: peer node (or "*") -> the names it may call here."""
        if not isinstance(table, dict):
            raise self.fail("remote", "must be a table")
        for peer, names in table.items():
            if peer != "*" and not NAME_RE.match(peer):
                raise self.fail(f"remote.{peer}", "a node name is 1-32 of a-z, 0-9, _ and -, "
                                                  "starting with a letter (or \"*\")")
            if not isinstance(names, list) or not all(isinstance(n, str) for n in names):
                raise self.fail(f"remote.{peer}", "must be a list of server names")
        return {peer: list(names) for peer, names in table.items()}

    def limits(self, table: Any) -> dict[str, int]:
        if not isinstance(table, dict):
            raise self.fail("limits", "must be a table")
        for key, value in table.items():
            if key not in LIMIT_RANGES:
                raise self.fail(f"limits.{key}",
                                f"unknown key (expected {', '.join(LIMIT_RANGES)})")
            low, high = LIMIT_RANGES[key]
            if not isinstance(value, int) or isinstance(value, bool) or not low <= value <= high:
                raise self.fail(f"limits.{key}", f"must be an integer from {low} to {high}")
        return dict(table)

    def knobs(self, table: Any, where: str = "restart",
              base: RestartKnobs | None = None) -> RestartKnobs:
        """[restart] (or a server's own knob keys, over ``base``) as RestartKnobs."""
        if not isinstance(table, dict):
            raise self.fail(where, "must be a table")
        values: dict[str, Any] = {}
        for key, value in table.items():
            kind = RESTART_KEYS.get(key)
            if kind is None:
                raise self.fail(f"{where}.{key}", "unknown key (expected "
                                + ", ".join(RESTART_KEYS) + ")")
            low = 0 if key in KNOBS_ZERO_OK else 1
            if kind is int:
                ok = isinstance(value, int) and not isinstance(value, bool) and value >= low
            else:
                ok = (isinstance(value, int | float) and not isinstance(value, bool)
                      and (value >= 0 if low == 0 else value > 0))
            if not ok:
                what = ("a positive integer" if kind is int and low else
                        "an integer >= 0 (0: no limit)" if kind is int else
                        "a number of seconds >= 0 (0: off)" if key in KNOBS_ZERO_OK else
                        "a positive number of seconds")
                raise self.fail(f"{where}.{key}", f"must be {what}, got {value!r}")
            if key == "heartbeat" and 0 < value < MIN_HEARTBEAT:
                raise self.fail(f"{where}.{key}", f"must be 0 (off) or at least "
                                                  f"{MIN_HEARTBEAT:g} s, got {value!r}")
            values[key] = kind(value)
        knobs = RestartKnobs(**{**(base.__dict__ if base is not None else {}), **values})
        if knobs.backoff_max < knobs.backoff:
            key = "backoff_max" if "backoff_max" in values else "backoff"
            raise self.fail(f"{where}.{key}", f"backoff_max ({knobs.backoff_max:g}) is "
                                              f"less than backoff ({knobs.backoff:g})")
        return knobs

    # -- one server -------------------------------------------------------------------
    def server(self, name: str, table: Any, defaults: RestartKnobs) -> ServerSpec:
        key = f"servers.{name}"
        if not NAME_RE.match(name):
            raise self.fail(key, "a server name is 1-32 of a-z, 0-9, _ and -, "
                                 "starting with a letter")
        if name in RESERVED:
            raise self.fail(key, f"the name {name!r} is reserved")
        if not isinstance(table, dict):
            raise self.fail(key, "must be a table")
        knob_keys = {k: v for k, v in table.items() if k in RESTART_KEYS}
        table = {k: v for k, v in table.items() if k not in RESTART_KEYS}
        for k, value in table.items():
            kind = SERVER_KEYS.get(k)
            if kind is None:
                raise self.fail(f"{key}.{k}", "unknown key (expected "
                                + ", ".join([*SERVER_KEYS, *RESTART_KEYS]) + ")")
            if not isinstance(value, kind):
                raise self.fail(f"{key}.{k}", f"must be a {_TYPE_NAMES[kind]}, "
                                              f"got {type(value).__name__}")
            if kind is list and not all(isinstance(v, str) for v in value):
                raise self.fail(f"{key}.{k}", "must be a list of strings")
        spec = ServerSpec(name=name, **table,
                          knobs=self.knobs(knob_keys, key, defaults) if knob_keys else defaults)
        if (spec.module is None) == (spec.path is None):
            raise self.fail(key, "needs exactly one of module = \"pkg.mod\" or path = \"file.py\"")
        if spec.module is not None and not _module_exists(spec.module):
            raise self.fail(f"{key}.module", f"no such module: {spec.module}")
        if spec.path is not None:
            file = (self.path.parent / spec.path).resolve()
            if not file.is_file():
                raise self.fail(f"{key}.path", f"no such file: {file}")
            spec.path = str(file)
        if spec.restart not in POLICIES:
            raise self.fail(f"{key}.restart", f"must be one of {', '.join(POLICIES)}")
        if spec.placement not in PLACEMENTS:
            raise self.fail(f"{key}.placement", f"must be one of {', '.join(PLACEMENTS)}")
        if spec.session:
            if "restart" in table and spec.restart != "never":
                raise self.fail(f"{key}.restart", "the session program is never restarted "
                                                  "(its exit halts the system)")
            spec.restart = "never"
        return spec

    def check_names(self, specs: dict[str, ServerSpec]) -> None:
        known = set(specs) | {"init"}
        for spec in specs.values():
            for k in ("calls", "depends"):
                for target in getattr(spec, k):
                    if k == "calls" and target in ("*", "@public"):
                        continue
                    if target not in known or (k == "depends" and target == "init"):
                        raise self.fail(f"servers.{spec.name}.{k}",
                                        f"unknown server {target!r} (servers: "
                                        + ", ".join(specs) + ")")
                    if k == "depends" and target == spec.name:
                        raise self.fail(f"servers.{spec.name}.depends", "depends on itself")
        for flag in ("console", "session"):
            holders = [s.name for s in specs.values() if getattr(s, flag)]
            if len(holders) > 1:
                raise self.fail(f"servers.{holders[1]}.{flag}",
                                f"only one server may set {flag} = true "
                                f"(also set by {holders[0]})")

    def order(self, specs: dict[str, ServerSpec]) -> dict[str, ServerSpec]:
        """Dependencies first, file order otherwise; a cycle is an error."""
        done: dict[str, ServerSpec] = {}
        visiting: list[str] = []

        def visit(name: str) -> None:
            if name in done:
                return
            if name in visiting:
                cycle = visiting[visiting.index(name):] + [name]
                raise self.fail(f"servers.{cycle[0]}.depends",
                                "dependency cycle: " + " -> ".join(cycle))
            visiting.append(name)
            for dep in specs[name].depends:
                visit(dep)
            visiting.pop()
            done[name] = specs[name]

        for name in specs:
            visit(name)
        return done


_TYPE_NAMES = {str: "string", list: "list", bool: "boolean (true/false)"}


def _find(lines: list[str], start: int, pred) -> int | None:
    for i in range(start, len(lines)):
        if pred(lines[i]):
            return i
    return None


def _is_header(line: str, table: list[str]) -> bool:
    m = re.match(r"\s*\[([^\[\]]+)\]", line)
    if not m:
        return False
    return [p.strip().strip('"') for p in m.group(1).split(".")] == table


def _module_exists(module: str) -> bool:
    """``python -m module`` would find something to run (a module or a package's __main__)."""
    try:
        spec = importlib.util.find_spec(module)
        if spec is not None and spec.submodule_search_locations is not None:
            spec = importlib.util.find_spec(module + ".__main__")
    except (ImportError, ValueError):
        return False
    return spec is not None
