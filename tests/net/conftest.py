"""Nodes on loopback for the network tests: each a real ``nanokernel boot --node``,
its own processes, ramdisk and log; keys made with ``nanokernel keys``.

    cluster = Cluster(...)                       # the `cluster` fixture
    a = cluster.node("a")                        # boots, listens, holds until halted
    b = cluster.node("b", peers=["a"])           # links to a
    res = cluster.run("c", peers=["a"], commands="cat /net/a/x")   # runs to its end

A holding node's session is programs/hold.py: it waits until its peers are up, writes
a READY file, and halts the node when the test writes its STOP file — conditions with
deadlines, never a sleep.
"""

from __future__ import annotations

import contextlib
import json
import os
import signal
import socket
import subprocess
import time
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from tests.conftest import NANOKERNEL, BootResult, isolated_env, pids_of_boot, wait_until

pytest.importorskip("zmq", reason="pyzmq (the net extra) is not installed")

PROGRAMS = Path(__file__).resolve().parent / "programs"
HOLD = PROGRAMS / "hold.py"
COUNTER = PROGRAMS / "counter.py"
BOOT_TOML = Path(__file__).resolve().parents[2] / "servers" / "boot.toml"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def config_with(tmp: Path, name: str, extra: str = "", remote: str = "") -> Path:
    """The packaged boot.toml plus the counter server (public: every trusted peer may
    call it, the packaged [remote] says), ``extra`` tables, and
    ``remote`` lines added to its [remote] table."""
    text = BOOT_TOML.read_text()
    assert text.count("\n[remote]") == 1
    counter = f'[servers.counter]\npath = "{COUNTER}"\npublic = true\n'
    text = text.replace("\n[remote]", f"\n{counter}\n{extra}\n[remote]\n{remote}\n", 1)
    path = tmp / f"boot-{name}.toml"
    path.write_text(text)
    return path


def pid_of(kernel_pid: int, name: str) -> int:
    """The pid of the boot's process whose command line names ``name`` (e.g.
    "servers.bridge"), from /proc."""
    for pid in pids_of_boot(kernel_pid):
        try:
            cmdline = Path(f"/proc/{pid}/cmdline").read_bytes().split(b"\0")
        except OSError:
            continue
        if any(name.encode() in part for part in cmdline[1:]):
            return pid
    raise LookupError(f"no process {name} in the boot of kernel {kernel_pid}")


@dataclass
class Node:
    name: str
    address: str | None
    proc: subprocess.Popen
    log: Path
    ready: Path
    stop: Path
    out: Path
    info: dict = field(default_factory=dict)

    def wait_ready(self, timeout: float = 60.0) -> dict:
        def ready():
            if self.proc.poll() is not None:
                pytest.fail(f"node {self.name} ended ({self.proc.returncode}) before it was "
                            f"ready:\n{self.output()}\n{self.log_text()[-3000:]}")
            return self.ready.exists()
        wait_until(ready, timeout, what=f"node {self.name} ready")
        self.info = json.loads(self.ready.read_text())
        return self.info

    def halt(self, timeout: float = 30.0) -> int:
        self.stop.touch()
        try:
            return self.proc.wait(timeout)
        except subprocess.TimeoutExpired:
            self.kill()
            pytest.fail(f"node {self.name} did not halt in {timeout} s")

    def kill(self) -> None:
        """SIGKILL the whole node: its kernel and every process of its boot."""
        pids = pids_of_boot(self.proc.pid)
        for pid in [self.proc.pid, *pids]:
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGKILL)
        self.proc.wait(10)
        wait_until(lambda: not pids_of_boot(self.proc.pid), 10, what="the node's processes gone")

    def pid_of(self, name: str) -> int:
        return pid_of(self.proc.pid, name)

    def output(self) -> str:
        return self.out.read_text() if self.out.exists() else ""

    def log_text(self) -> str:
        return self.log.read_text() if self.log.exists() else ""


@dataclass
class Running:
    """A node booted with ``-c``: running its commands."""
    name: str
    proc: subprocess.Popen
    log: Path

    def pid_of(self, name: str) -> int:
        return pid_of(self.proc.pid, name)

    def finish(self, timeout: float = 90.0) -> BootResult:
        try:
            out, err = self.proc.communicate(timeout=timeout)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            out, err = self.proc.communicate()
            pytest.fail(f"node {self.name} did not finish in {timeout} s\n{out}\n{err}")
        wait_until(lambda: not pids_of_boot(self.proc.pid), 10, what="no orphan processes")
        log = self.log.read_text() if self.log.exists() else ""
        return BootResult(self.proc.returncode, out, err, log, self.proc.pid)


class Cluster:
    def __init__(self, tmp: Path) -> None:
        self.tmp = tmp
        self.env = isolated_env(tmp / "nkhome")
        self.env["PYTHONDONTWRITEBYTECODE"] = "1"
        self.keys = tmp / "keys"
        self.addresses: dict[str, str] = {}
        self.nodes: list[Node] = []
        self.n = 0

    def make_keys(self, *names: str, directory: Path | None = None) -> Path:
        directory = directory or self.keys
        res = subprocess.run([*NANOKERNEL, "keys", str(directory), *names, "--force"],
                             env=self.env, capture_output=True, text=True, timeout=30)
        assert 0 == res.returncode, res.stderr
        return directory

    def address(self, name: str) -> str:
        if name not in self.addresses:
            self.addresses[name] = f"tcp://127.0.0.1:{free_port()}"
        return self.addresses[name]

    def _argv(self, name: str, peers, listen: bool, keys: Path | None, config: Path | None,
              log: Path) -> list[str]:
        argv = [*NANOKERNEL, "boot", "--ramdisk", "--log", str(log), "--node", name]
        if listen:
            argv += ["--listen", self.address(name)]
        for peer in peers:
            argv += ["--peer", f"{peer}={self.address(peer)}"]
        if keys is not None:
            argv += ["--keys", str(keys)]
        if config is not None:
            argv += ["--config", str(config)]
        return argv

    def node(self, name: str, peers=(), listen: bool = True, keys: Path | None = None,
             config: Path | None = None, wait_for=(), ready: bool = True) -> Node:
        """Boot node ``name`` (holding until halted); wait until it is up and the
        peers in ``wait_for`` are up for it."""
        self.n += 1
        keys = self.keys if keys is None else (keys or None)   # (False: no --keys)
        base = self.tmp / f"{name}-{self.n}"
        log, ready_file, stop = (base.with_suffix(s) for s in (".log", ".ready", ".stop"))
        out = base.with_suffix(".out")
        hold = f"run {HOLD} {ready_file} {stop} {' '.join(wait_for)}"
        argv = self._argv(name, peers, listen, keys, config, log) + ["-c", hold]
        with open(out, "w") as f:
            proc = subprocess.Popen(argv, env=self.env, stdin=subprocess.DEVNULL, stdout=f,
                                    stderr=subprocess.STDOUT, text=True)
        node = Node(name, self.addresses.get(name), proc, log, ready_file, stop, out)
        self.nodes.append(node)
        if ready:
            node.wait_ready()
        return node

    def run(self, name: str, commands: str, peers=(), listen: bool = False,
            keys: Path | None = None, config: Path | None = None,
            timeout: float = 90.0) -> BootResult:
        """Boot node ``name`` with ``-c commands`` and wait for its end."""
        return self.start(name, commands, peers, listen, keys, config).finish(timeout)

    def start(self, name: str, commands: str, peers=(), listen: bool = False,
              keys: Path | None = None, config: Path | None = None) -> Running:
        """Boot node ``name`` with ``-c commands``; ``.finish()`` waits for its end."""
        self.n += 1
        keys = self.keys if keys is None else (keys or None)   # (False: no --keys)
        log = self.tmp / f"{name}-{self.n}.log"
        argv = self._argv(name, peers, listen, keys, config, log) + ["-c", commands]
        proc = subprocess.Popen(argv, env=self.env, stdin=subprocess.DEVNULL, text=True,
                                stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        return Running(name, proc, log)

    def close(self) -> None:
        for node in self.nodes:
            if node.proc.poll() is None:
                node.stop.touch()
        deadline = time.monotonic() + 20
        for node in self.nodes:
            try:
                node.proc.wait(max(0.1, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                node.kill()


@pytest.fixture
def cluster(tmp_path: Path):
    c = Cluster(tmp_path)
    c.make_keys("a", "b", "c")
    yield c
    c.close()
