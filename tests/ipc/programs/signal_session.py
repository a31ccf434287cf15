"""The session program of the signal tests: ``signal_session.py SCENARIO OUT.json``.

Spawns user processes (programs/signal_child.py) that report on a pipe, signals
them with libipc.kill and writes what it saw.
"""

from __future__ import annotations

import json
import signal
import sys
import time
import traceback
from pathlib import Path

import libipc
from libipc import IpcError, WouldBlock, kernel
from libipc.pipe import pipe

CHILD = str(Path(__file__).resolve().parent / "signal_child.py")
K = kernel()
EXITS: dict[int, int] = {}


class Child:
    """A signal_child.py process and the pipe it reports on."""

    def __init__(self, mode: str, *args, acl=("@public", "naming"), read_end=None) -> None:
        self.r, w = pipe()
        self.r.nonblock = True
        argv = [CHILD, mode, str(w.token), *map(str, args)]
        self.proc = K.spawn(argv=argv, name=f"sig-{mode}", acl=list(acl))
        self.ep = self.proc["ep"]
        w.give(self.ep)   # the child holds it now (closing it here would close it)
        if read_end is not None:
            read_end.give(self.ep)
        self.buf = b""
        self.expect("ready")

    def line(self, timeout: float = 10.0) -> str:
        deadline = time.monotonic() + timeout
        while b"\n" not in self.buf:
            if time.monotonic() > deadline:
                raise TimeoutError(f"no line from {self.ep} (have {self.buf!r})")
            try:
                data = self.r.read(4096)
            except WouldBlock:
                time.sleep(0.005)
                continue
            if data == b"":
                raise EOFError(f"child {self.ep} closed its report pipe")
            self.buf += data
        line, _, self.buf = self.buf.partition(b"\n")
        return line.decode()

    def expect(self, text: str, timeout: float = 10.0) -> str:
        line = self.line(timeout)
        if not line.startswith(text):
            raise AssertionError(f"expected {text!r}, got {line!r}")
        return line

    def status(self, timeout: float = 20.0) -> int:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            EXITS.update((record["ep"], record["status"]) for record in K.wait())
            if self.ep in EXITS:
                return EXITS[self.ep]
            time.sleep(0.01)
        raise TimeoutError(f"{self.ep} did not exit")

    def alive(self) -> bool:
        try:
            return K.whoami(ep=self.ep)["state"] == "running"
        except IpcError:
            return False


def code_of(fn) -> str:
    try:
        return str(fn())
    except IpcError as exc:
        return exc.code


TERMINATING = ("SIGTERM", "SIGINT", "SIGHUP", "SIGPIPE", "SIGUSR1", "SIGUSR2", "SIGALRM")


def defaults() -> dict:
    """Each signal's default action, and KILL."""
    out = {}
    for name in (*TERMINATING, "SIGKILL"):
        child = Child("idle")
        result = libipc.kill(child.ep, getattr(signal, name))
        out[name] = {"result": result, "status": child.status()}
    child = Child("idle")
    out["SIGCHLD"] = {"result": libipc.kill(child.ep, signal.SIGCHLD)}
    out["SIGCHLD"]["alive"] = child.alive()
    out["zero"] = libipc.kill(child.ep, 0)
    libipc.kill(child.ep, signal.SIGKILL)
    child.status()
    return out


def handlers() -> dict:
    """A handler per signal, run while the program sleeps in time.sleep."""
    names = ["SIGUSR1", "SIGUSR2", "SIGTERM", "SIGINT", "SIGHUP", "SIGALRM"]
    child = Child("catch", *names)
    caught = {}
    for name in names:
        result = libipc.kill(child.ep, getattr(signal, name))
        caught[name] = [result, child.line()]
    ignoring = Child("ignore")
    ignored = libipc.kill(ignoring.ep, signal.SIGUSR1)
    ignoring.expect("alive")
    ignoring.buf = b""
    still = ignoring.expect("alive")
    uncatchable = Child("uncatchable")
    codes = uncatchable.line()
    alive = child.alive()
    for c in (child, ignoring):
        libipc.kill(c.ep, signal.SIGKILL)
    return {"caught": caught, "alive": alive, "ignored": ignored, "still": still,
            "uncatchable": codes, "session_kill_code": code_of(
                lambda: libipc.signal(signal.SIGKILL, lambda n, f: None))}


def interrupt() -> dict:
    """A handler interrupts a blocking read (Interrupted), restart=True resumes it,
    and a handler that raises makes the read raise that."""
    out = {}
    for mode in ("interrupt", "restart", "raising"):
        r, w = pipe()
        child = Child(mode, r.token, read_end=r)
        wait_until(lambda r=r: serving("pipe") >= 1 or r.blocked()[0] >= 1,
                   "the child's read waits (in the pipe's region, or at the pipe server)")
        libipc.kill(child.ep, signal.SIGUSR1)
        out[mode + "_handler"] = child.line()   # its handler reports (a call inside a call)
        if mode == "restart":
            w.write(b"data")
        out[mode] = child.line()
        out[mode + "_status"] = child.status()
        w.close()
    return out


def host_state(pid: int) -> str:
    """The host's state letter for ``pid`` (T: stopped)."""
    return Path(f"/proc/{pid}/stat").read_text().rpartition(")")[2].split()[0]


def serving(name: str) -> int:
    rows = [p for p in K.ps() if p["name"] == name]
    return rows[0]["serving"] if rows else 0


def wait_until(cond, what: str, timeout: float = 10.0) -> None:
    deadline = time.monotonic() + timeout
    while not cond():
        if time.monotonic() > deadline:
            raise TimeoutError(what)
        time.sleep(0.005)


def coalesce() -> dict:
    """Three USR1 sent while the process is stopped run its handler once."""
    child = Child("count")
    stop = libipc.kill(child.ep, signal.SIGSTOP)
    wait_until(lambda: host_state(child.proc["pid"]) == "T", "the child is stopped")
    sent = [libipc.kill(child.ep, signal.SIGUSR1) for _ in range(3)]
    cont = libipc.kill(child.ep, signal.SIGCONT)
    libipc.kill(child.ep, signal.SIGUSR2)   # may come in the same take as USR1: the
    line = child.line()                     # handlers run in signal-number order
    libipc.kill(child.ep, signal.SIGKILL)
    return {"stop": stop, "sent": sent, "cont": cont, "line": line}


def sigchld() -> dict:
    """The parent's SIGCHLD handler runs when a child exits."""
    seen = []
    libipc.signal(signal.SIGCHLD, lambda n, f: seen.append(n))
    child = Child("idle")
    libipc.kill(child.ep, signal.SIGTERM)
    # The handler may run before pause() starts (as with POSIX pause: the child's exit
    # can come while kill's call returns), and pause() then waits for another signal.
    deadline = time.monotonic() + 10
    while not seen and time.monotonic() < deadline:
        libipc.pause(timeout=0.1)
    return {"paused": bool(seen), "seen": seen, "status": child.status()}


def permission() -> dict:
    """A user program may signal only what the call graph allows."""
    me = K.whoami()["ep"]   # privileged, calls "*", not public: not the child's to signal
    lone = Child("signal", me, signal.SIGUSR1)
    denied = lone.line()
    victim = Child("idle")
    peer = Child("signal", victim.ep, signal.SIGTERM)   # a sibling: neither calls the other
    peer_result = peer.line()
    self_child = Child("signal", 0, signal.SIGUSR1)   # 0: the kernel itself
    kernel_result = self_child.line()
    libipc.kill(victim.ep, signal.SIGKILL)
    return {"session": denied, "peer": peer_result, "kernel": kernel_result,
            "bad": [code_of(lambda: libipc.kill(victim.ep, 99)),
                    code_of(lambda: libipc.kill("no-such-server", signal.SIGUSR1)),
                    code_of(lambda: K.signal(ep=victim.ep, signum="USR1"))]}


def servers() -> dict:
    """A user program may signal the servers it may call only with signals they catch
    or ignore: stopping, continuing or ending one is the privileged kill's work."""
    naming, pipe_ep = 2, libipc.Proxy(name="pipe").endpoint
    tries = [(naming, signal.SIGCONT), (pipe_ep, signal.SIGUSR1), (naming, signal.SIGTERM),
             (naming, signal.SIGSTOP), (naming, signal.SIGKILL), (naming, 0),
             (pipe_ep, signal.SIGCHLD)]
    child = Child("signal", *[x for pair in tries for x in pair])
    # Nor through the console (privileged, for Ctrl-C): only a privileged process (the
    # shell) may name the foreground job the console signals.
    deputy = Child("foreground", naming)
    return {"results": child.line().split(), "foreground": deputy.line()}


NAP = str(Path(__file__).resolve().parents[2] / "e2e" / "programs" / "nap.py")


def shell_spawn() -> dict:
    """A job-control shell (servers/shell, as at a terminal) gets Ctrl-C's SIGINT right
    after it spawned a program, before it named the program the foreground job: the
    program is interrupted and waited for, not left running unknown."""
    from servers.shell import pipeline, system
    from servers.shell.main import Shell
    shell = Shell()
    shell.job_control = True
    shell.take_interrupts()
    me, armed = K.whoami()["ep"], [True]

    class Landing:   # kernel() whose spawn is followed by Ctrl-C's SIGINT to the shell
        def __getattr__(self, name):
            return getattr(kernel(), name)

        def spawn(self, **args):
            child = kernel().spawn(**args)
            if armed:
                armed.clear()
                libipc.kill(me, signal.SIGINT)
            return child
    out = {}
    for module, line in ((system, f"run {NAP} 30"), (pipeline, f"run {NAP} 30 | cat")):
        armed[:] = [True]
        real, module.kernel = module.kernel, Landing
        try:
            status = shell.run_text(line)
        finally:
            module.kernel = real
        left = [r["ep"] for r in K.ps() if r["name"] in ("nap", "cat")
                and r["state"] == "running"]
        for ep in left:
            libipc.kill(ep, signal.SIGKILL)
        out[line.split()[-1]] = {"status": status, "left": len(left)}
    return out


def by_name() -> dict:
    """kill by name finds a server that restarted (its old endpoint was looked up and
    kept by libipc before)."""
    before = libipc.kill("console", 0)
    old = libipc.Proxy(name="console").endpoint
    libipc.kill("console", signal.SIGKILL)
    wait_until(lambda: code_of(lambda: libipc.Proxy(2).lookup(name="console")) not in (
        "NoSuchEndpoint", str(old)), "console to be restarted and registered again")
    return {"before": before, "after": code_of(lambda: libipc.kill("console", 0))}


def sigpipe() -> dict:
    """A write with no reader: SIGPIPE ends the writer by default; ignored, the
    write raises BrokenPipe."""
    r, w = pipe()
    r.close()
    libipc.signal(signal.SIGPIPE, signal.SIG_IGN)
    code = code_of(lambda: w.write(b"x"))
    return {"ignored_write": code}


def line_or(child: Child, what: str, timeout: float = 8.0) -> str:
    try:
        return child.line(timeout)
    except TimeoutError:
        return what


def rest() -> dict:
    """USR1 and USR2 come in one take (sent while the child is stopped); USR1's handler
    raises: USR2's runs all the same."""
    child = Child("rest")
    libipc.kill(child.ep, signal.SIGSTOP)
    wait_until(lambda: host_state(child.proc["pid"]) == "T", "the child is stopped")
    for signum in (signal.SIGUSR1, signal.SIGUSR2, signal.SIGCONT):
        libipc.kill(child.ep, signum)
    lines = sorted(line_or(child, "missing", 5.0) for _ in range(2))
    libipc.kill(child.ep, signal.SIGKILL)
    return {"lines": lines}


def reentry(mode: str) -> dict:
    """A handler that makes a call, run between two steps of a send (signal_child.py)."""
    child = Child(mode)
    child.expect("armed")
    libipc.kill(child.ep, signal.SIGUSR1)
    line = line_or(child, "hung")
    libipc.kill(child.ep, signal.SIGKILL)
    return {"line": line}


def nested() -> dict:
    return reentry("nested")


def locked() -> dict:
    return reentry("locked")


def answered() -> dict:
    """A call answered while its interrupting handler's own call waited returns."""
    child = Child("answered")
    return {"line": line_or(child, "hung")}


SCENARIOS = {f.__name__: f for f in (defaults, handlers, interrupt, coalesce, sigchld,
                                     permission, servers, shell_spawn, by_name, sigpipe, rest,
                                     nested, locked, answered)}

if __name__ == "__main__":
    name, out = sys.argv[1], sys.argv[2]
    try:
        result = SCENARIOS[name]()
    except BaseException as exc:   # noqa: BLE001
        result = {"session_error": repr(exc), "traceback": traceback.format_exc()}
    with open(out, "w") as f:
        json.dump(result, f)
