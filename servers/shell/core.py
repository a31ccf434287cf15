"""The interpreter: one statement at a time, one line per error, never a crash.

Commands follow Python's ``cmd`` convention — ``do_ls`` runs ``ls``, its
docstring is its help (first line: usage, second: summary) — but take an
already-split argv, since the lexer (not ``cmd``'s string parsing) handles
quotes and redirections.

Output of a command is buffered and written once the command is done: to the
console (one ``write`` call), or into a file through fs when the statement
ends in ``> file`` / ``>> file``.  Errors never go into the file: they are
written to the console at once, as ``cmd: detail: Code``.

Exit status of a statement: 0 ok, 1 error, 2 usage error, 127 unknown
command, and a program's own status for ``run``.

Files on other nodes: a path under ``/net/NODE/`` is a file of node NODE's fs
(QNX Qnet's pathname space, as ``libipc.open`` has it): ``fs()`` sends such a
call to ``fs@NODE`` (a RemoteProxy, through this node's bridge) with the path
there, so every file command takes /net paths with no code of its own.  Its
errors read like the local ones (``cat: /net/a/x: FileNotFound``); those of
the link itself (NodeDown, an unknown node, a refusing ACL) carry their reason.
"""

from __future__ import annotations

import contextlib
import os
import posixpath
import signal
import time
from collections.abc import Iterable, Iterator
from typing import Any

import libipc
from libipc import InvalidArgument, IpcError, NoSuchEndpoint, jsonlog, lookup
from libipc.client import Proxy
from libipc.file import open as open_path
from libipc.limits import DATA_PER_MESSAGE
from libipc.naming import INIT
from libipc.remote import split_net_path, this_node
from libipc.runtime import current
from servers.shell.lexer import ShellSyntaxError, Statement, statements
from servers.shell.tools import here

log = jsonlog.get_logger()

RESTART_WAIT_S = 5.0      # how long a call waits for a known server that is restarting
CALL_TIMEOUT_S = 30.0     # a server that does not answer in this long is reported
DOWN_STATES = ("failed", "exited", "stopped")   # init's states of a server not coming back
CHUNK = DATA_PER_MESSAGE  # bytes per fs read/write call: one message each
INTERRUPTED_STATUS = 128 + 2   # a command Ctrl-C ended: 128 + SIGINT, as sh says
NET_ROOT = "/net"         # /net/NODE/PATH: PATH on node NODE (libipc.remote.split_net_path)
PATH_ARGS = ("path", "src", "dst")   # the fs ops' arguments that name a file
SYMLINK_NOT_FOLLOWED = "a symbolic link, which fs does not follow (readlink shows its target)"
# A remote call's failures that are the link's or the other node's, not its fs's: shown
# with their reason (which node, why it is down, what its [remote] ACL allows).
LINK_CODES = frozenset({"NodeDown", "NoSuchEndpoint", "PermissionDenied", "Timeout",
                        "WouldBlock"})


NOT_A_NODE = "not a node (boot with --node NAME)"


def no_bridge(exc: IpcError) -> bool:
    """Is ``exc`` (a NoSuchEndpoint) this system having no bridge, i.e. no --node?"""
    text = exc.message or ""
    return "no bridge" in text or text.endswith("registered as 'bridge'")


class CommandError(Exception):
    """A command failed: printed as ``cmd: detail: code``."""

    def __init__(self, detail: str, code: str, status: int = 1) -> None:
        super().__init__(detail)
        self.detail, self.code, self.status = detail, code, status


def usage_error(text: str) -> CommandError:
    return CommandError(f"usage: {text}", "Usage", status=2)


class Interpreter:
    """State (cwd, last status) and the machinery every command uses."""

    prompt_name = "nk"

    def __init__(self, console: Proxy | None = None) -> None:
        self.console = console or lookup("console")
        self.cwd = "/"
        self.status = 0
        self.halted = False
        self.redirected = False   # the running command's output goes to a file
        self._out: list[str] = []
        self._proxies: dict[str, Proxy] = {}
        self._seen: set[str] = set()   # names resolved before: worth waiting for on restart
        # Job control (a terminal's Ctrl-C): the console signals the foreground job,
        # which the shell names for each command.  Without a terminal there is no Ctrl-C.
        self.job_control = (os.environ.get("NK_INTERACTIVE") == "1"
                            and "NK_COMMANDS" not in os.environ)
        # Ctrl-C in the shell (take_interrupts): where it may raise KeyboardInterrupt.
        self.interruptible = False   # a command's own work runs in the shell
        self.interrupted = False     # one came while it had to wait (processes starting)
        self.at_prompt = False       # reading a line: the console cancels that itself

    # -- Ctrl-C -----------------------------------------------------------------------
    def take_interrupts(self) -> None:
        """Ctrl-C (the console's SIGINT to the foreground job) interrupts the commands
        the shell runs itself — and never the shell between them."""
        libipc.signal(signal.SIGINT, self.on_interrupt, restart=True)

    def on_interrupt(self, signum: int, frame: Any) -> None:
        """SIGINT, between two bytecodes or in a call's wait.  KeyboardInterrupt only
        inside a command's own work (``interruptible_work``: run_statement and a
        pipeline's shell stage catch it) — raised anywhere else it would end the shell,
        or lose a process it just spawned; there it waits in ``interrupted`` for
        ``forward_interrupt`` or the next command; at the prompt it is dropped."""
        if self.interruptible:
            raise KeyboardInterrupt
        if not self.at_prompt:
            self.interrupted = True

    @contextlib.contextmanager
    def interruptible_work(self) -> Iterator[None]:
        """A command's own work: Ctrl-C raises KeyboardInterrupt in it (at once, if one
        came since the line was read — a Ctrl-C right after Enter)."""
        was, self.interruptible = self.interruptible, True
        try:
            if self.interrupted:
                self.interrupted = False
                raise KeyboardInterrupt
            yield
        finally:
            self.interruptible = was

    @contextlib.contextmanager
    def starting(self) -> Iterator[None]:
        """Processes are started and waited for: a Ctrl-C meanwhile waits in
        ``interrupted`` (an interrupted spawn would leave its child running, unknown to
        us and to Ctrl-C) until ``forward_interrupt`` gives it to them."""
        was, self.interruptible = self.interruptible, False
        try:
            yield
        finally:
            self.interruptible = was

    def forward_interrupt(self, endpoints: Iterable[int], keep: bool = False) -> None:
        """A Ctrl-C that waited is the job's: SIGINT to each of ``endpoints`` (``keep``:
        the shell's own stage of the job is interrupted as well)."""
        if not self.interrupted:
            return
        self.interrupted = keep
        for ep in endpoints:
            with contextlib.suppress(IpcError):   # (one that has ended already)
                libipc.kill(ep, signal.SIGINT)

    # -- reading --------------------------------------------------------------------
    @property
    def endpoint(self) -> int:
        return current().endpoint

    @property
    def prompt(self) -> str:
        return f"{self.prompt_name}:{self.cwd}$ "

    def run_text(self, text: str) -> int:
        """Run every statement of ``text``; returns the last status."""
        try:
            for statement in statements(text):
                if self.halted:
                    break
                self.statement_begin()
                if statement.next is not None or statement.stdin is not None \
                        or statement.background or self.runs_as_process(statement.argv[0]):
                    self.status = self.run_pipeline_guarded(statement)
                else:
                    self.status = self.run_statement(statement)
                self.statement_done()
        except ShellSyntaxError as exc:
            self.error("sh", str(exc), "SyntaxError")
            self.status = 2
        return self.status

    def statement_begin(self) -> None:
        """Before each statement (the live trace prints again: system.py)."""

    def statement_done(self) -> None:
        """After each statement (the live trace prints what it saw: system.py)."""

    def end_session(self) -> None:
        """Before the shell exits."""

    def run_pipeline(self, first: Statement) -> int:
        raise CommandError("pipelines are not available in this interpreter", "Unsupported")

    def runs_as_process(self, name: str) -> bool:
        """``name`` is no shell command but a program the shell starts (wc, grep, …)."""
        return False

    def job_endpoints(self, spec: str) -> list[int]:
        raise CommandError(f"{spec}: no such job", "NoSuchJob")

    def run_pipeline_guarded(self, first: Statement) -> int:
        """A pipeline (servers/shell/pipeline.py), its errors reported like a command's."""
        self.flush()
        try:
            return self.run_pipeline(first)
        except CommandError as exc:
            self.error(first.argv[0], exc.detail, exc.code)
            return exc.status
        except KeyboardInterrupt:   # Ctrl-C in a stage the shell ran itself
            self._out = []
            return INTERRUPTED_STATUS
        except IpcError as exc:
            self.error(first.argv[0], exc.message or "failed", exc.code)
            return 1
        except Exception as exc:   # a bug in the shell must not end the session
            log.exception("pipeline_crashed", argv=first.argv)
            self.error(first.argv[0], f"{type(exc).__name__}: {exc}"[:200], "Internal")
            return 1

    def set_foreground(self, endpoints: list[int]) -> None:
        """Ctrl-C now interrupts these processes (the console's next read by the shell
        forgets them: back at the prompt, Ctrl-C only cancels the line)."""
        if not self.job_control:
            return
        try:
            self.console.foreground(eps=endpoints)
        except IpcError as exc:   # no console: no Ctrl-C either
            log.info("foreground_not_set", code=exc.code)

    def run_statement(self, st: Statement) -> int:
        name, args = st.argv[0], st.argv[1:]
        handler = getattr(self, f"do_{name}", None)
        if handler is None:
            self.error(name, "command not found", "NoSuchCommand")
            return 127
        self._out = []
        self.redirected = st.redirect is not None
        t0 = time.monotonic()
        try:
            self.set_foreground([self.endpoint])   # a built-in runs in the shell itself
            with self.interruptible_work():
                status = handler(args) or 0
            text, self._out = "".join(self._out), []
            if st.redirect is not None:
                self.write_file(st.target, text, append=st.redirect == ">>")
            else:
                self.write(text)
        except CommandError as exc:
            self.flush()
            self.error(name, exc.detail, exc.code)
            status = exc.status
        except KeyboardInterrupt:   # Ctrl-C (SIGINT) while the shell ran it
            self._out = []
            status = INTERRUPTED_STATUS
        except IpcError as exc:
            self.flush()
            self.error(name, exc.message or "failed", exc.code)
            status = 1
        except Exception as exc:   # a bug in a command must not end the session
            log.exception("command_crashed", argv=st.argv)
            self.flush()
            self.error(name, f"{type(exc).__name__}: {exc}"[:200], "Internal")
            status = 1
        log.info("command", argv=st.argv, status=status,
                 ms=round((time.monotonic() - t0) * 1000, 2))
        return status

    # -- writing --------------------------------------------------------------------
    def print(self, *parts: Any, end: str = "\n") -> None:
        """Add a line to the current command's output."""
        self._out.append(" ".join(str(p) for p in parts) + end)

    def flush(self) -> None:
        """Write what the command printed so far (before it blocks, or on error)."""
        text, self._out = "".join(self._out), []
        self.write(text)

    def write(self, text: str) -> None:
        if not text:
            return
        try:
            self.call_server("console", "write", text=text)
        except IpcError as exc:       # no console: the boot log still gets it
            print(text, end="", flush=True)
            log.warning("console_write_failed", code=exc.code)

    def error(self, cmd: str, detail: str, code: str) -> None:
        self.write(f"{cmd}: {detail}: {code}\n")

    def write_file(self, target: str | None, text: str, append: bool) -> None:
        """``> target`` / ``>> target``: the command's output into a file."""
        path = self.path(target or "")
        data = text.encode()
        offset = 0
        if append:
            offset = self.fs(path, "stat", default={"size": 0}, path=path)["size"]
        try:
            self.fs(path, "write", path=path, offset=offset, data=data[:CHUNK], create=True)
        except CommandError as exc:   # fs refuses a FIFO's write: is it one?
            if exc.code != "InvalidArgument" or not self.is_fifo(path, path):
                raise
            with open_path(path, "wb") as fifo:   # waits for a reader
                fifo.write(data)
            return
        for start in range(CHUNK, len(data), CHUNK):
            self.fs(path, "write", path=path, offset=offset + start,
                    data=data[start:start + CHUNK])
        if not append:
            self.fs(path, "truncate", path=path, size=len(data))

    # -- paths ----------------------------------------------------------------------
    def path(self, name: str) -> str:
        """``name`` made absolute against the working directory, normalised; a /net
        path of this node itself is the local path it names."""
        if not name:
            raise CommandError("empty path", "InvalidPath")
        joined = posixpath.normpath(posixpath.join(self.cwd, name))
        return here("/" + joined.lstrip("/"))   # (/net/THIS-NODE/x is /x)

    @staticmethod
    def host_path(name: str) -> str:
        """A program file on the host, relative to the directory the boot ran in."""
        return os.path.abspath(name)

    # -- calls ----------------------------------------------------------------------
    def server(self, name: str) -> Proxy:
        proxy = self._proxies.get(name)
        if proxy is None:
            proxy = self._proxies[name] = lookup(name, timeout=CALL_TIMEOUT_S)
        return proxy

    def call_server(self, name: str, op: str, /, *, timeout: float | None = CALL_TIMEOUT_S,
                    **args: Any) -> Any:
        """Call ``name.op``; a server we reached before gets time to come back."""
        return self.call_args(name, op, args, timeout=timeout)

    def call_args(self, name: str, op: str, args: dict[str, Any], *,
                  timeout: float | None = CALL_TIMEOUT_S) -> Any:
        """``call_server`` with the arguments as a dict: any argument name goes through
        (``call NAME OP '{"name": …, "timeout": …}'``), none is taken for our own."""
        proxy = self.server(name) if timeout == CALL_TIMEOUT_S else \
            lookup(name, timeout=timeout)
        deadline = time.monotonic() + RESTART_WAIT_S
        while True:
            try:
                result = proxy.call(op, **args)
            except NoSuchEndpoint:
                if (name not in self._seen or time.monotonic() > deadline
                        or not self._coming_back(name)):
                    raise
                time.sleep(0.05)
                continue
            self._seen.add(name)
            return result

    @staticmethod
    def _coming_back(name: str) -> bool:
        """Is init (re)starting ``name``?  (Unknown to init, or given up on: no.)"""
        try:
            rows = Proxy(INIT).status()
        except IpcError:
            return True   # cannot tell: give it the time
        return any(r["name"] == name and r["state"] not in DOWN_STATES for r in rows)

    @staticmethod
    def node_name() -> str | None:
        """This node's name (boot --node NAME sets NK_NODE for every process), or None."""
        return this_node()

    def fs_of(self, detail: str, path: str) -> tuple[str, str]:
        """The fs server holding ``path`` and the path there: ``/net/a/home/x`` is
        ``/home/x`` of ``fs@a``; any other path is this node's ``fs`` (``path`` made
        /net/THIS-NODE/x into /x already)."""
        try:
            node, rest = split_net_path(path)
        except InvalidArgument:
            raise CommandError(f"{detail}: a network path is /net/NODE/PATH",
                               "InvalidPath") from None
        return ("fs", path) if node is None else (f"fs@{node}", rest)

    def fs(self, detail: str, op: str, default: Any = None, where: str | None = None,
           **args: Any) -> Any:
        """An fs call whose error reads ``cmd: detail: Code``.

        The call goes to the fs holding its path arguments (``fs_of``: a /net path is
        another node's), or holding ``where`` for an op that names no file (statfs).
        Two paths on two nodes (a rename) are refused: CrossNode.
        With ``default``, FileNotFound returns it instead of failing.
        """
        servers = {self.fs_of(detail, where)[0]} if where is not None else set()
        for key in PATH_ARGS:
            if isinstance(args.get(key), str):
                server, args[key] = self.fs_of(detail, args[key])
                servers.add(server)
        if len(servers) > 1:
            raise CommandError(f"{detail}: on two nodes (cp, then rm)", "CrossNode")
        server = servers.pop() if servers else "fs"
        try:
            return self.call_server(server, op, **args)
        except IpcError as exc:
            if default is not None and exc.code == "FileNotFound":
                return default
            if server != "fs" and exc.code in LINK_CODES and exc.message:
                detail = f"{detail}: {NOT_A_NODE if no_bridge(exc) else exc.message}"
            elif "is a symbolic link" in exc.message:   # (a code alone would puzzle)
                detail = f"{detail}: {SYMLINK_NOT_FOLLOWED}"
            raise CommandError(detail, exc.code) from None

    def is_fifo(self, detail: str, path: str) -> bool:
        return self.fs(detail, "stat", default={"type": "none"}, path=path)["type"] == "fifo"

    def commands(self) -> list[str]:
        return sorted(n[3:] for n in dir(self) if n.startswith("do_"))
