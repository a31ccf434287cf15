"""Two nodes on loopback for `bench net`: real ``nanokernel boot --node`` processes.

    with NodePair(tmp) as pair:            # keys made, free ports picked
        result = pair.measure(["measure", ...], timeout)   # boots a, then b; b's JSON

Node a listens, boots naming, console, the bridge and netbench (net_server.py), and
holds (net_session.py hold) until the pair writes its STOP file; node b peers with a,
boots naming, console and the bridge, and its session (net_session.py measure) runs
the timed loops and writes its JSON, then ends (b halts).  Keys are made with
``servers.bridge.keys.make_keys`` in the pair's directory, so both links are CURVE as
every bridge link is.  ``[remote]`` is the packaged default (``"*" = ["@public"]``).

Every process is ended on the way out, error or not: STOP (a's session ends and a
halts) and SIGTERM to b if it is still running (a clean halt), SIGTERM to a kernel
still running HALT_S later, then SIGKILL to every process of its boot (found by
NK_KERNEL_PID, nanokernel/procfs.py).
"""

from __future__ import annotations

import contextlib
import json
import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

from nanokernel.bench.session_boot import BASE as SESSION_BASE
from nanokernel.procfs import boot_pids

HERE = Path(__file__).resolve().parent
BASE = SESSION_BASE + """
[servers.bridge]
module = "servers.bridge"
node = true
public = true
privileged = true
calls = ["*"]
"""
SERVER = f"""
[servers.netbench]
path = "{HERE / 'net_server.py'}"
public = true
calls = []
"""
SESSION = """
[servers.session]
path = "{session}"
args = {args}
session = true
privileged = true
calls = ["*"]
depends = {depends}

[remote]
"*" = ["@public"]
"""
HALT_S = 20.0   # a node told to stop has this long to halt before it is killed


class NodesFailed(Exception):
    """The nodes gave no result: the message says why (for the rows)."""


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class NodePair:
    def __init__(self, tmp: str | Path) -> None:
        self.tmp = Path(tmp)
        self.keys = self.tmp / "keys"
        self.address = f"tcp://127.0.0.1:{free_port()}"
        self.stop = self.tmp / "a.stop"
        self.procs: dict[str, subprocess.Popen] = {}

    def __enter__(self) -> NodePair:
        from servers.bridge.keys import make_keys
        make_keys(self.keys, ["a", "b"])
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def _config(self, name: str, args: list[str], depends: list[str], server: bool) -> Path:
        path = self.tmp / f"boot-{name}.toml"
        path.write_text(BASE + (SERVER if server else "")
                        + SESSION.format(session=HERE / "net_session.py",
                                         args=json.dumps(args), depends=json.dumps(depends)))
        return path

    def _boot(self, name: str, config: Path, net: list[str]) -> subprocess.Popen:
        cmd = [sys.executable, "-m", "nanokernel", "boot", "--config", str(config),
               "--ramdisk",   # (two nodes on one default image would race to make it)
               "--log", str(self.tmp / f"{name}.log"), "--node", name,
               "--keys", str(self.keys), *net]
        env = {**os.environ, "PYTHONDONTWRITEBYTECODE": "1"}
        with open(self.tmp / f"{name}.out", "w") as out:
            proc = subprocess.Popen(cmd, stdin=subprocess.DEVNULL, stdout=out,
                                    stderr=subprocess.STDOUT, env=env)
        self.procs[name] = proc
        return proc

    def measure(self, args: list, timeout: float) -> dict:
        """Boot a (holding) and b (its session ``net_session.py *args``, whose first
        argument after the mode is replaced by the result file); b's JSON."""
        out = self.tmp / "result.json"
        self._boot("a", self._config("a", ["hold", str(self.stop)], ["bridge", "netbench"],
                                     server=True), ["--listen", self.address])
        b_args = [args[0], str(out), *map(str, args[1:])]
        b = self._boot("b", self._config("b", b_args, ["bridge"], server=False),
                       ["--peer", f"a={self.address}"])
        deadline = time.monotonic() + timeout
        while b.poll() is None and not out.exists() and time.monotonic() < deadline:
            if self.procs["a"].poll() is not None:
                raise NodesFailed(f"node a ended ({self.procs['a'].returncode}): "
                                  f"{self._tail('a')}")
            time.sleep(0.05)
        if not out.exists():
            why = "did not finish in time" if b.poll() is None else f"ended ({b.returncode})"
            raise NodesFailed(f"node b {why} without a result: {self._tail('b')}")
        try:
            result = json.loads(out.read_text())
        except ValueError as exc:
            raise NodesFailed(f"node b's result: {exc}") from None
        if "error" in result:
            raise NodesFailed(f"node b's session: {result['error']}")
        return result

    def _tail(self, name: str) -> str:
        text = ""
        for suffix in (".out", ".log"):
            path = self.tmp / f"{name}{suffix}"
            if path.exists():
                text += path.read_text(errors="replace")[-300:]
        return " ".join(text.split())[-300:]

    def close(self) -> None:
        """End both nodes and every process of their boots, however the run went."""
        self.stop.touch()
        b = self.procs.get("b")
        if b is not None and b.poll() is None:   # (its session is abandoned: halt it now)
            b.send_signal(signal.SIGTERM)
        deadline = time.monotonic() + HALT_S
        for proc in self.procs.values():
            try:
                proc.wait(max(0.1, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                proc.send_signal(signal.SIGTERM)
        for proc in self.procs.values():
            with contextlib.suppress(subprocess.TimeoutExpired):
                proc.wait(5.0)
            if proc.poll() is None:   # (only while it is ours: a reaped pid may be reused)
                proc.kill()
            proc.wait()
            for pid in boot_pids(proc.pid, with_kernel=False):   # (its environment marks them)
                with contextlib.suppress(ProcessLookupError):
                    os.kill(pid, signal.SIGKILL)
