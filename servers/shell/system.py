"""Process and system commands: kernel calls, init, naming, devices, any server.

    ps, stats, trace, kill, run, halt   kernel calls (endpoint 0; kill: libipc.kill)
    start, crash, status                init (endpoint libipc.naming.INIT)
    names                               naming (endpoint libipc.naming.NAMING)
    nodes, kill ... NAME@NODE           the bridge (libipc.remote: other nodes)
    date, sleep                         devices
    call NAME OP {json}                 whatever server NAME is

``call`` shows replies as JSON.  JSON has no bytes, so bytes that are UTF-8
text (printable UTF-8) are shown as a string and other bytes as ``{"$base64": "…"}``; the same
``{"$base64": "…"}`` object in the arguments is sent as bytes.
"""

from __future__ import annotations

import ast
import base64
import contextlib
import json
import os
import signal
import tempfile
import time
from pathlib import Path
from typing import Any

from libipc import IpcError, NoSuchEndpoint, NoSuchOp, Proxy, jsonlog, kernel, kill, nodes
from libipc.message import KERNEL, NOTIFY, NOTIFY_EXIT
from libipc.naming import INIT, NAMING
from libipc.ordered import ordered
from libipc.remote import signal_remote, split_address
from libipc.runtime import current
from servers.shell.core import NOT_A_NODE, CommandError, Interpreter, no_bridge, usage_error

log = jsonlog.get_logger()

KILL_WAIT_S = 3.0
FOLLOWER_TIMEOUT_S = 10.0   # the live trace's follower prints what it has in this long


SIGNALS = {s.value: s for s in sorted(signal.Signals, key=lambda s: s.value)
           if 0 < s.value <= 31 and s.name.startswith("SIG") and not s.name.startswith("SIGRT")}


def signal_number(text: str) -> int:
    """``TERM``, ``SIGTERM``, ``term`` or ``15`` → 15; anything else is a usage error."""
    if text.isdigit() and int(text) in SIGNALS:
        return int(text)
    name = "SIG" + text.upper().removeprefix("SIG")
    for number, sig in SIGNALS.items():
        if sig.name == name:
            return number
    raise CommandError(f"-{text}: no such signal (kill -l lists them)", "Usage", status=2)


def to_json(value: Any) -> Any:
    """A reply made JSON-able: bytes → str (printable UTF-8) or {"$base64": …}."""
    if isinstance(value, bytes | bytearray):
        try:
            text = bytes(value).decode("utf-8")
            if all(c.isprintable() or c in "\n\r\t" for c in text):
                return text
        except UnicodeDecodeError:
            pass
        return {"$base64": base64.b64encode(value).decode()}
    if isinstance(value, dict):
        return {str(k): to_json(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [to_json(v) for v in value]
    return value


def from_json(value: Any) -> Any:
    """Arguments from JSON: {"$base64": …} → bytes."""
    if isinstance(value, dict):
        if set(value) == {"$base64"} and isinstance(value["$base64"], str):
            return base64.b64decode(value["$base64"])
        return {k: from_json(v) for k, v in value.items()}
    if isinstance(value, list):
        return [from_json(v) for v in value]
    return value


def beat_of(row: dict) -> str:
    """A status row's heartbeat column: "2s", "off", or "kernel" (hosted: not pinged)."""
    if row.get("placement") == "kernel":
        return "kernel"
    beat = row.get("heartbeat") or 0
    return f"{beat:g}s" if beat > 0 else "off"


def intensity_of(row: dict) -> str:
    """"5/60s": at most 5 restarts in 60 s; "-": no limit (a server that served)."""
    n = row.get("intensity") or 0
    return f"{n}/{row.get('intensity_period', 0):g}s" if n > 0 else "-"


def describe_failure(failure: dict | None, now: float | None = None) -> str:
    """A last_failure record in words: "killed by SIGKILL 3.2 s ago (up 10.1 s)"."""
    if not failure:
        return "-"
    ago = (time.time() if now is None else now) - failure["at"]
    return f"{failure['what']} {ago:.1f} s ago (up {failure['uptime_s']:.1f} s)"


def ago(when: float | None, now: float | None = None) -> str:
    """A time in the past as "12s ago" ("-": never)."""
    if not when:
        return "-"
    seconds = max(0.0, (time.time() if now is None else now) - when)
    return f"{seconds:.0f}s ago" if seconds >= 10 else f"{seconds:.1f}s ago"


def server_class_in(path: str, has_args: bool = False) -> str | None:
    """The name of the libipc ``Server`` class that the Python file ``path`` would
    serve as a program, or None.  ``run`` refuses such a file: a server serves until
    it is stopped, and the shell would wait for ever — ``start`` is for servers.

    A file serves when its ``if __name__ == "__main__":`` block calls ``main()`` of a
    class deriving from ``Server`` (directly, or through another class of the file):
    always when the call is one of the block's own statements; when it is under some
    further condition (a file that is a server without arguments and a client with
    them, like examples/shm_ring.py), only if ``run`` gives no arguments."""
    try:
        tree = ast.parse(Path(path).read_bytes(), filename=path)
    except (OSError, SyntaxError, ValueError):
        return None   # (running it says what is wrong)
    servers = {"Server"}
    changed = True
    while changed:   # a class of the file may derive from another one of it
        changed = False
        for node in ast.walk(tree):
            if isinstance(node, ast.ClassDef) and node.name not in servers and any(
                    (b.attr if isinstance(b, ast.Attribute) else getattr(b, "id", None))
                    in servers for b in node.bases):
                servers.add(node.name)
                changed = True
    servers.discard("Server")
    if not servers:
        return None

    def served(node: ast.AST) -> str | None:
        for sub in ast.walk(node):
            if isinstance(sub, ast.Call) and isinstance(sub.func, ast.Attribute) \
                    and sub.func.attr == "main" and isinstance(sub.func.value, ast.Name) \
                    and sub.func.value.id in servers:
                return sub.func.value.id
        return None

    for node in tree.body:
        if not (isinstance(node, ast.If) and "__main__" in ast.unparse(node.test)):
            continue
        for statement in node.body:
            name = served(statement)
            if name is not None and (isinstance(statement, ast.Expr) or not has_args):
                return name
    return None


CLOCK_TICKS = os.sysconf("SC_CLK_TCK") if hasattr(os, "sysconf") else 100


def cpu_seconds(pid: int | None) -> float | None:
    """User + system CPU time of host process ``pid`` (/proc/PID/stat), or None."""
    if not pid:
        return None
    try:
        with open(f"/proc/{pid}/stat", "rb") as f:
            fields = f.read().rsplit(b")", 1)[1].split()
    except (OSError, IndexError):
        return None
    return (int(fields[11]) + int(fields[12])) / CLOCK_TICKS   # utime, stime


def top_sample() -> dict:
    """What top compares: the kernel's stats and each pid's CPU time, at a moment."""
    stats = kernel().stats()
    kernel_pid = int(os.environ.get("NK_KERNEL_PID", "0") or 0)
    pids = {r["pid"] for r in stats["procs"] if r.get("pid")} | {kernel_pid}
    return {"t": time.monotonic(), "stats": stats, "kernel_pid": kernel_pid,
            "cpu": {pid: cpu_seconds(pid) for pid in pids}}


def top_lines(before: dict, after: dict) -> list[str]:
    """top's screen: a summary line, then one row per process (rates over the two
    samples; a process new since ``before`` counts from zero)."""
    dt = max(1e-6, after["t"] - before["t"])

    def cpu(pid: int | None) -> str:
        a, b = after["cpu"].get(pid), before["cpu"].get(pid)
        return "-" if a is None else f"{(a - (b or 0.0)) / dt * 100:.1f}"

    s, s0 = after["stats"], before["stats"]
    rate = (s["messages_routed"] - s0["messages_routed"]) / dt
    lines = [f"up {s['uptime_s']:.1f} s, {s['processes']} processes, {rate:,.0f} msg/s"
             f" routed, kernel (pid {after['kernel_pid']}) CPU {cpu(after['kernel_pid'])}%"
             f", tracing {'on' if s['tracing'] else 'off'}",
             f"{'EP':>5} {'NAME':<12} {'STATE':<8} {'CPU%':>6} {'in/s':>8} {'out/s':>8}"
             f" {'msg/s':>8} {'CALLS':>5} {'RING-HW':>8} {'RESTARTS':>8}"]
    old = {r["ep"]: r for r in s0["procs"]}
    for r in s["procs"]:
        o = old.get(r["ep"], {"msgs_in": 0, "msgs_out": 0})
        rin = (r["msgs_in"] - o["msgs_in"]) / dt
        rout = (r["msgs_out"] - o["msgs_out"]) / dt
        where = "kernel" if r.get("placement") == "kernel" else None
        lines.append(f"{r['ep']:>5} {r['name']:<12} {r['state']:<8}"
                     f" {where or cpu(r.get('pid')):>6} {rin:>8.1f} {rout:>8.1f}"
                     f" {rin + rout:>8.1f} {r['calls_in_flight']:>5}"
                     f" {r['ring_high_water']:>8} {r['restarts']:>8}")
    return lines


MAX_KEPT_EXITS = 1024   # exit statuses of children kept for a later wait


class SystemCommands(Interpreter):
    def do_help(self, args: list[str]) -> int:
        """help [COMMAND]
        List the commands, or show how to use one."""
        if args:
            doc = getattr(self, f"do_{args[0]}", None).__doc__ if hasattr(
                self, f"do_{args[0]}") else None
            if doc is None:
                raise CommandError(args[0], "NoSuchCommand")
            usage, _, rest = doc.partition("\n")
            self.print(f"usage: {usage.strip()}")
            for line in rest.strip().splitlines():
                self.print("  " + line.strip())
            return 0
        self.print("commands (help COMMAND for more):")
        for name in self.commands():
            usage, _, rest = getattr(self, f"do_{name}").__doc__.partition("\n")
            summary = rest.strip().splitlines()[0] if rest.strip() else ""
            usage = usage.strip()
            if len(usage) > 24:
                self.print(f"  {usage}\n  {'':<24} {summary}")
            else:
                self.print(f"  {usage:<24} {summary}")
        return 0

    # -- processes ----------------------------------------------------------------
    def do_ps(self, args: list[str]) -> int:
        """ps
        List processes: endpoint, name, pid, state, messages in/out, restarts."""
        rows = kernel().ps()
        self.print(f"{'EP':>6} {'NAME':<12} {'PID':>7} {'STATE':<8} {'PARENT':>6} {'IN':>7}"
                   f" {'OUT':>7} {'CALLS':>5} {'RESTARTS':>8} {'UPTIME':>8}")
        for r in rows:
            self.print(f"{r['ep']:>6} {r['name']:<12} {r['pid'] or '-':>7} {r['state']:<8}"
                       f" {r['parent']:>6} {r['msgs_in']:>7} {r['msgs_out']:>7}"
                       f" {r['calls_in_flight']:>5} {r['restarts']:>8} {r['uptime_s']:>7.1f}s")
        return 0

    def do_names(self, args: list[str]) -> int:
        """names
        List the names registered with the naming server and their endpoints."""
        names = Proxy(NAMING).list()
        for name, ep in sorted(names.items()):
            self.print(f"{name:<16} {ep}")
        self._seen.update(names)
        return 0

    def do_kill(self, args: list[str]) -> int:
        """kill [-SIGNAME|-N] NAME|EP|%JOB|NAME@NODE
        Signal a process, or every process of a job (KILL by default; -l lists the
        names).  KILL, and a signal it does not catch, end it: kill then waits until it
        is gone.  A server init manages is restarted; try ps or ls / afterwards.
        NAME@NODE: every process called NAME on node NODE, if NODE's [remote] ACL gives
        this node "@signal" (any signal; kill does not wait for it there)."""
        if args == ["-l"]:
            self.print(" ".join(f"{n}={s.name.removeprefix('SIG')}" for n, s in SIGNALS.items()))
            return 0
        signum = signal.SIGKILL
        if args and args[0].startswith("-"):
            signum = signal_number(args.pop(0)[1:])
        if len(args) != 1:
            raise usage_error("kill [-SIGNAME|-N] NAME|EP|%JOB|NAME@NODE")
        if "@" in args[0] and not args[0].startswith("%"):
            return self._kill_remote(args[0], signum)
        eps = (self.job_endpoints(args[0]) if args[0].startswith("%")
               else [self.endpoint_of(args[0])])
        ended = []
        for ep in eps:
            try:
                result = kill(ep, signum)
            except NoSuchEndpoint:
                if len(eps) == 1 and not args[0].startswith("%"):
                    raise CommandError(args[0], "NoSuchEndpoint") from None
                continue
            except IpcError as exc:
                raise CommandError(args[0], exc.code) from None
            if result == "killed":
                ended.append(ep)
        self._wait_gone(ended)
        return 0

    def _kill_remote(self, target: str, signum: int) -> int:
        """``kill -SIG NAME@NODE``: the bridge asks NODE's bridge, which checks that its
        [remote] ACL gives us "@signal" (libipc.remote.signal_remote)."""
        try:
            name, node = split_address(target)
            signal_remote(name, node, SIGNALS[signum].name.removeprefix("SIG"))
        except NoSuchEndpoint as exc:
            if no_bridge(exc):
                raise CommandError(f"{target}: {NOT_A_NODE}", exc.code) from None
            raise CommandError(f"{target}: {exc.message}" if exc.message else target,
                               exc.code) from None
        except IpcError as exc:
            raise CommandError(f"{target}: {exc.message}" if exc.message else target,
                               exc.code) from None
        return 0

    def _wait_gone(self, eps: list[int]) -> None:
        deadline = time.monotonic() + KILL_WAIT_S
        for ep in eps:
            while time.monotonic() < deadline:
                try:
                    if kernel().whoami(ep=ep)["state"] != "running":
                        break
                except NoSuchEndpoint:
                    break
                time.sleep(0.01)

    def do_nodes(self, args: list[str]) -> int:
        """nodes
        The nodes this one links to (boot --node/--peer): state (up, down, connecting,
        refused) and since when, round trip, calls sent and answered, calls the link
        failed, one-way sends, the peer's calls served here, and why it is not up."""
        if args:
            raise usage_error("nodes")
        try:
            rows = nodes()
        except NoSuchEndpoint:
            raise CommandError(NOT_A_NODE, "NoSuchEndpoint") from None
        now = time.time()
        self.print(f"{'NODE':<10} {'STATE':<10} {'SINCE':>10} {'RTT':>9} {'CALLS':>6}"
                   f" {'ANSWERS':>7} {'FAILED':>6} {'SENDS':>6} {'SERVED':>6}  WHY")
        for r in sorted(rows, key=lambda r: r["node"]):
            rtt = "-" if r.get("rtt_ms") is None else f"{r['rtt_ms']:.1f}ms"
            self.print(f"{r['node']:<10} {r['state']:<10} {ago(r.get('since'), now):>10}"
                       f" {rtt:>9} {r['calls']:>6} {r['answers']:>7} {r['failed']:>6}"
                       f" {r['sends']:>6} {r['served']:>6}  {r.get('why') or '-'}")
        return 0

    def endpoint_of(self, target: str) -> int:
        """An endpoint number, a registered name, or the name of a live process."""
        if target.isdigit():
            return int(target)
        try:
            ep = Proxy(NAMING).lookup(name=target)
            self._seen.add(target)
            return ep
        except NoSuchEndpoint:
            pass
        for row in kernel().ps():
            if row["name"] == target and row["state"] == "running":
                return row["ep"]
        raise CommandError(target, "NoSuchEndpoint")

    def do_start(self, args: list[str]) -> int:
        """start PATH.py [NAME]
        Start a server in the background (through init); NAME: the file's stem."""
        if len(args) not in (1, 2):
            raise usage_error("start PATH.py [NAME]")
        path = self._program(args[0])
        try:
            info = Proxy(INIT).start(path=path, name=args[1] if len(args) > 1 else None)
        except IpcError as exc:
            raise CommandError(f"{args[0]}: {exc.message}" if exc.message else args[0],
                               exc.code) from None
        self._seen.add(info["name"])
        self.print(f"started {info['name']} (ep {info['ep']}, pid {info['pid']})")
        return 0

    def _program(self, name: str) -> str:
        path = self.host_path(name)
        if not Path(path).is_file():
            raise CommandError(name, "FileNotFound")
        return path

    def do_run(self, args: list[str]) -> int:
        """run PATH.py [ARGS...]
        Run a user program in the foreground; its exit status is the command's.
        A file that defines a Server is refused (it would never end): use start."""
        if not args:
            raise usage_error("run PATH.py [ARGS...]")
        path = self._program(args[0])
        server = server_class_in(path, has_args=len(args) > 1)
        if server is not None:
            raise CommandError(f"{args[0]} is a server (class {server}), not a program;"
                               f" start it instead: start {args[0]}", "InvalidArgument")
        self.flush()
        with self.starting():
            child = kernel().spawn(argv=["-m", "libipc.program", path, *args[1:]],
                                   name=Path(path).stem[:32] or "program",
                                   acl=["@public", "naming"])   # naming: for lookup()
            self.set_foreground([child["ep"]])   # Ctrl-C interrupts it, not the shell
            return self._wait_for(child["ep"], job=[child["ep"]])

    def _wait_for(self, ep: int, job: list[int] | None = None) -> int:
        """Wait for the child at ``ep`` to exit (NOTIFY_EXIT from the kernel, then wait());
        the exits of other children seen meanwhile are kept for their own waits.  A
        Ctrl-C that reached the shell meanwhile goes on to ``job``."""
        rt = current()
        exits = self.__dict__.setdefault("_exits", {})
        while True:
            if job:
                self.forward_interrupt(job)
            for record in kernel().wait():
                status = record["status"]
                exits[record["ep"]] = 128 - status if status < 0 else status
            if ep in exits:
                return exits.pop(ep)
            while len(exits) > MAX_KEPT_EXITS:   # children nobody waits for
                exits.pop(next(iter(exits)))
            # (a look every second in case an exit's NOTIFY was missed; not in a
            # reproducible run, whose kernel calls must not depend on the host's speed)
            msg = rt.next_event(timeout=None if ordered() else 1.0)
            if msg is None or (msg.kind == NOTIFY and msg.src == KERNEL
                               and msg.id & NOTIFY_EXIT):
                continue
            if msg.kind != NOTIFY and msg.id:   # a CALL to the shell: it serves nothing
                rt.reply_error(msg.src, msg.id, NoSuchOp("the shell serves no operations"))

    def do_call(self, args: list[str]) -> int:
        """call NAME|EP OP [JSON-OBJECT]
        Call a server's operation; print the reply as JSON (see help call).
        Bytes in the reply show as a string when they are printable text, else as
        {"$base64": "…"}; the same object in the arguments is sent as bytes.
        Quote the JSON: call fs stat '{"path": "/etc"}'"""
        if len(args) not in (2, 3):
            raise usage_error("call NAME|EP OP [JSON-OBJECT]")
        target, op = args[0], args[1]
        try:
            kwargs = json.loads(args[2]) if len(args) == 3 else {}
        except json.JSONDecodeError as exc:
            raise CommandError(f"bad JSON: {exc}", "InvalidArgument") from None
        if not isinstance(kwargs, dict):
            raise CommandError("the arguments must be a JSON object", "InvalidArgument")
        try:
            if target.isdigit():
                reply = Proxy(int(target)).call(op, **from_json(kwargs))
            else:
                reply = self.call_args(target, op, from_json(kwargs))
        except IpcError as exc:
            detail = f"{target}.{op}" + (f": {exc.message}" if exc.message else "")
            raise CommandError(detail, exc.code) from None
        self.print(json.dumps(to_json(reply)))
        return 0

    def do_status(self, args: list[str]) -> int:
        """status [NAME]
        init's view of every server: state, restarts, restart policy, heartbeat
        period, intensity (restarts allowed per period) and the last failure.
        With NAME: that server's every field, one a line."""
        if len(args) > 1:
            raise usage_error("status [NAME]")
        try:
            rows = Proxy(INIT).status()
        except IpcError as exc:
            raise CommandError("status", exc.code) from None
        if args:
            row = next((r for r in rows if r["name"] == args[0]), None)
            if row is None:
                raise CommandError(args[0], "NoSuchEndpoint")
            for key, value in row.items():
                if key == "last_failure":
                    value = describe_failure(value)
                self.print(f"{key:<17} {'-' if value is None else value}")
            return 0
        self.print(f"{'NAME':<12} {'STATE':<9} {'RESTARTS':>8}  {'POLICY':<10} {'BEAT':<6}"
                   f" {'INTENSITY':<10} LAST FAILURE")
        for r in rows:
            self.print(f"{r['name']:<12} {r['state']:<9} {r['restarts']:>8}  "
                       f"{r['policy']:<10} {beat_of(r):<6} {intensity_of(r):<10} "
                       f"{describe_failure(r.get('last_failure'))}")
        return 0

    def do_crash(self, args: list[str]) -> int:
        """crash NAME
        Make a server fault on purpose. As a process it dies and init restarts it;
        hosted in the kernel (--monolithic, --hybrid) the fault is a kernel panic."""
        if len(args) != 1:
            raise usage_error("crash NAME")
        try:
            Proxy(INIT).crash(name=args[0])
        except IpcError as exc:
            raise CommandError(args[0], exc.code) from None
        self._seen.add(args[0])   # coming back: the next call to it waits for it (ls after)
        self.print(f"{args[0]} crashed (init restarts it per its policy)")
        return 0

    # -- the system -------------------------------------------------------------------
    def do_trace(self, args: list[str]) -> int:
        """trace on [FILE] | trace off
        Trace every message.  With no FILE each one is a line on the console (dimmed,
        after a │): time, from → to, kind, op, size, latency; the trace's own
        messages to the console are left out.  With FILE (on the host) they go there
        as JSON lines: render them with nanokernel trace FILE.  trace off ends either."""
        if not args or args[0] not in ("on", "off") or len(args) > 2 \
                or (args[0] == "off" and len(args) > 1):
            raise usage_error("trace on [FILE] | trace off")
        if args[0] == "off" or len(args) == 2:
            path = os.path.abspath(args[1]) if len(args) == 2 else None
            try:
                result = kernel().trace(on=args[0] == "on", path=path)
            except IpcError as exc:
                raise CommandError(exc.message.removeprefix("trace: ") or args[0],
                                   exc.code) from None
            self.stop_live_trace()
            self.print(f"tracing {'on' if result['on'] else 'off'}"
                       + (f" → {result['path']}" if result["on"] and result["path"] else ""))
            return 0
        self.start_live_trace()
        self.print("tracing on → console (trace off ends it)")
        return 0

    def start_live_trace(self) -> None:
        """``trace on``: the kernel traces into a fresh host file that a follower
        process (servers/shell/tracefollow.py) prints on the console; the follower's
        messages and the console's are not traced."""
        if self.__dict__.get("_follower") is not None:
            return
        fd, path = tempfile.mkstemp(prefix="nk-trace-", suffix=".jsonl")
        os.close(fd)
        child = None
        try:
            with self.starting():
                child = kernel().spawn(argv=["-m", "servers.shell.tracefollow", path],
                                       name="trace", acl=["@public", "naming", "console"])
            exclude = [child["ep"], self.console.endpoint]
            kernel().trace(on=True, path=path, exclude=exclude)
            follower = Proxy(child["ep"])
            # Once it answers it has the file open, as the kernel has: the name can go
            # (the file goes when both let go of it — even if the boot is killed).
            follower.with_timeout(FOLLOWER_TIMEOUT_S).sync(quiet=True)
        except IpcError as exc:
            with contextlib.suppress(IpcError):
                kernel().trace(on=False)
            if child is not None:
                with contextlib.suppress(IpcError):
                    kill(child["ep"], signal.SIGKILL)
            raise CommandError(exc.message.removeprefix("trace: ") or "on", exc.code) from None
        finally:
            with contextlib.suppress(OSError):
                os.unlink(path)
        self._follower = follower

    def sync_live_trace(self, op: str = "sync", **args: Any) -> None:
        """The trace of what ran so far, on the console before anything else (and then
        quiet until the next command: ``resume``)."""
        follower = self.__dict__.get("_follower")
        if follower is None:
            return
        try:
            follower.with_timeout(FOLLOWER_TIMEOUT_S).call(op, **args)
        except IpcError as exc:   # it died or hangs: the trace would go nowhere now
            self.live_trace_lost(follower, exc.code)

    def live_trace_lost(self, follower: Proxy, code: str) -> None:
        """The follower died (ServerDied) or hangs (Timeout): tracing off, a hung one
        killed (it would hold its trace file), and one line saying so — a trace that
        stops in silence reads as "no messages"."""
        log.warning("trace_follower_lost", code=code)
        self._follower = None
        with contextlib.suppress(IpcError):
            kernel().trace(on=False)
        with contextlib.suppress(IpcError):
            kill(follower.endpoint, signal.SIGKILL)
        self.error("trace", "the live trace's follower was lost; tracing off", code)

    def stop_live_trace(self) -> None:
        """The follower prints the rest and exits (after the kernel stopped tracing
        into its file, or switched to another)."""
        follower = self.__dict__.get("_follower")
        if follower is None:
            return
        self._follower = None
        self.flush()   # (what the command printed so far comes before the last lines)
        try:
            follower.with_timeout(FOLLOWER_TIMEOUT_S).stop()
        except IpcError as exc:
            self.live_trace_lost(follower, exc.code)

    def statement_begin(self) -> None:
        self.sync_live_trace("resume")

    def statement_done(self) -> None:
        self.sync_live_trace(quiet=True)

    def end_session(self) -> None:
        """The session ends: a live trace prints its last lines first."""
        if self.__dict__.get("_follower") is not None:
            with contextlib.suppress(IpcError):
                kernel().trace(on=False)
            self.stop_live_trace()

    def do_top(self, args: list[str]) -> int:
        """top [-n COUNT] [-d SECONDS]
        A live view of the processes, refreshed every SECONDS (1): endpoint, name,
        state, CPU %, messages per second in, out and both (msg/s), calls in flight,
        ring high-water, restarts.  On a terminal it redraws in place until q or Ctrl-C;
        otherwise (or with -n) it prints COUNT snapshots (1 without a terminal)."""
        count, delay = None, 1.0
        rest = list(args)
        try:
            while rest:
                flag = rest.pop(0)
                if flag == "-n" and rest:
                    count = int(rest.pop(0))
                elif flag == "-d" and rest:
                    delay = float(rest.pop(0))
                else:
                    raise ValueError(flag)
        except ValueError:
            raise usage_error("top [-n COUNT] [-d SECONDS]") from None
        if (count is not None and count < 1) or not 0.05 <= delay <= 3600:
            raise usage_error("top [-n COUNT] [-d SECONDS]")
        live = self.job_control and count is None and not self.redirected
        if not live:
            count = count or 1
            before = top_sample()
            for i in range(count):
                self.flush()
                time.sleep(delay if count > 1 else min(delay, 0.5))
                after = top_sample()
                if i:
                    self.print()
                for line in top_lines(before, after):
                    self.print(line)
                before = after
            return 0
        before = top_sample()
        self.write("\x1b[?25l")   # no cursor while it redraws
        try:
            key = ""
            while key not in ("q", "Q"):
                key = self.console.with_timeout(delay + 30).call("read_key", timeout=delay)
                if key is None:   # no terminal after all: one snapshot
                    time.sleep(delay)
                after = top_sample()
                self.write("\x1b[H\x1b[2J" + "\n".join(top_lines(before, after))
                           + "\n(q or Ctrl-C to leave)\n")
                before = after
                if key is None:
                    break
        finally:
            self.write("\x1b[?25h")
            with contextlib.suppress(IpcError):   # the terminal back in line mode
                self.console.with_timeout(5).call("read_key", timeout=-1)
        return 0

    def do_stats(self, args: list[str]) -> int:
        """stats
        Kernel counters: messages routed, kernel calls, dropped replies, refusals."""
        s = kernel().stats()
        self.print(f"messages routed  {s['messages_routed']}")
        self.print(f"kernel calls     {s['kernel_calls']}")
        self.print(f"dropped replies  {s['dropped_replies']}")
        self.print(f"refused          {s['refused']}")
        self.print(f"processes        {s['processes']}")
        self.print(f"uptime           {s['uptime_s']:.1f} s")
        self.print(f"max message      {s['max_message']} B")
        self.print(f"tracing          {'on' if s['tracing'] else 'off'}")
        self.print(f"{'NAME':<12} {'IN':>7} {'OUT':>7} {'BYTES IN':>9} {'BYTES OUT':>9}"
                   f" {'RING HW':>8} {'DROPPED':>7}")
        for r in s["procs"]:
            self.print(f"{r['name']:<12} {r['msgs_in']:>7} {r['msgs_out']:>7} {r['bytes_in']:>9}"
                       f" {r['bytes_out']:>9} {r['ring_high_water']:>8} {r['dropped']:>7}")
        return 0

    def do_date(self, args: list[str]) -> int:
        """date
        Print the time (devices' clock)."""
        now = self.call_server("devices", "now")
        self.print(time.strftime("%a %Y-%m-%d %H:%M:%S %Z", time.localtime(now)))
        return 0

    def do_sleep(self, args: list[str]) -> int:
        """sleep SECONDS
        Wait (devices' clock replies after SECONDS)."""
        try:
            seconds = float(args[0]) if len(args) == 1 else None
        except ValueError:
            seconds = None
        if seconds is None or not 0 <= seconds < 1e6:
            raise usage_error("sleep SECONDS")
        self.flush()
        self.call_server("devices", "sleep", timeout=seconds + 30, seconds=seconds)
        return 0

    def do_halt(self, args: list[str]) -> int:
        """halt
        Stop every process and end the boot (status: the last command's)."""
        self.flush()
        kernel().halt(status=self.status)
        self.halted = True
        return self.status

    def do_exit(self, args: list[str]) -> int:
        """exit [STATUS]
        End the session; init halts the system with STATUS (default: the last)."""
        if len(args) > 1 or (args and not args[0].lstrip("-").isdigit()):
            raise usage_error("exit [STATUS]")
        self.halted = True
        return int(args[0]) if args else self.status
