"""Three nodes on this machine, one workload across them (docs/network.md).

    make demo-net                  # or: .venv/bin/python examples/net_demo.py

Boots nodes a, b and c on loopback, each a real ``nanokernel boot --node NAME``: its own
kernel, servers and RAM disk, linked to the others by its bridge, with CURVE keys made by
``nanokernel keys`` in a temporary directory.  Links (a DEALER from the caller to the
callee's ROUTER; only a and b listen):

    b ──► a      b writes files on a's disk through /net/a/home/demo
    c ──► a      c reads them back from a, counts the bytes, checks their digests
    c ──► b      … and leaves its report on b's disk, /net/b/home/report.txt
    a ──► b      a reads c's report from b, stats it with fs@b, and asks block@b for
                 something no other node may have (refused: b's [remote] ACL)

Each node's session is this file, run inside the node by its shell (``run net_demo.py
node NAME DIR PEER...``): it waits until its bridge says its peers are up, writes
DIR/NAME.ready, does its step when this script writes DIR/NAME.go, writes what happened
to DIR/NAME.done (JSON), and halts its node when DIR/stop appears.  What a node prints
reaches its console, whose output this script shows prefixed with the node's name.

Every process and the temporary directory are removed at the end, also after an error
or Ctrl-C: a node is asked to halt (DIR/stop), then SIGTERM (a clean halt), then SIGKILL.
Needs no stdin; takes some 15-40 s, most of it the three boots.  Exit status 0 when the
workload succeeded on all three nodes.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

NODES = ("a", "b", "c")
LISTENS = ("a", "b")                                          # c only calls out
PEERS = {"a": ["b"], "b": ["a"], "c": ["a", "b"]}             # whom each links to
STEPS = [("b", "b writes files on a, through /net/a"),
         ("c", "c reads them back from a, and leaves a report on b"),
         ("a", "a reads c's report from b, and asks b for what it may not have")]
BOOT_S = 60.0     # a node up, its peers linked (a loaded machine boots slowly)
STEP_S = 30.0     # one step
HALT_S = 20.0     # a node's halt


# --- inside a node: the session program (``run net_demo.py node NAME DIR PEER...``) ---------

def wait_for(predicate, seconds: float, what: str):
    deadline = time.monotonic() + seconds
    while True:
        value = predicate()
        if value:
            return value
        if time.monotonic() > deadline:
            raise SystemExit(f"net_demo: {what}: not within {seconds:g} s")
        time.sleep(0.02)


def write_json(path: Path, data: dict) -> None:
    tmp = path.with_suffix(".tmp")
    tmp.write_text(json.dumps(data))
    tmp.rename(path)   # (whole or not at all: the host polls for it)


def peers_up(peers: list[str]):
    import libipc
    try:
        up = {row["node"] for row in libipc.nodes() if row["state"] == "up"}
    except libipc.IpcError:
        return False   # (the bridge not registered yet)
    return set(peers) <= up


def step_b() -> dict:
    """Write three files on node a's disk, the last one a manifest of the other two."""
    import libipc
    fs_a = libipc.lookup("fs@a")
    with contextlib.suppress(libipc.FileExists):
        fs_a.mkdir(path="/home/demo")
    files = {"notes.txt": "".join(f"line {i}: written by node b\n" for i in range(400)).encode(),
             "random.bin": os.urandom(300_000)}   # more than one message: sent in chunks
    manifest = {}
    for name, data in files.items():
        with libipc.open(f"/net/a/home/demo/{name}", "wb") as f:
            f.write(data)
            f.sync()
        manifest[name] = {"size": len(data), "sha256": hashlib.sha256(data).hexdigest()}
        print(f"b: wrote /net/a/home/demo/{name}: {len(data):,} bytes")
    with libipc.open("/net/a/home/demo/manifest.json", "w") as f:
        f.write(json.dumps(manifest))
    print("b: wrote /net/a/home/demo/manifest.json (each file's size and sha256)")
    return {"ok": True, "bytes": sum(len(d) for d in files.values()), "files": len(files)}


def step_c() -> dict:
    """Read back from a what b wrote there, check it, and leave a report on b."""
    import libipc
    listing = sorted(e["name"] for e in libipc.lookup("fs@a").readdir(path="/home/demo")
                     if e["name"] not in (".", ".."))
    print(f"c: /net/a/home/demo holds {', '.join(listing)}")
    with libipc.open("/net/a/home/demo/manifest.json") as f:
        manifest = json.loads(f.read())
    total, matched = 0, 0
    for name, want in manifest.items():
        with libipc.open(f"/net/a/home/demo/{name}", "rb") as f:
            data = f.read()
        total += len(data)
        same = hashlib.sha256(data).hexdigest() == want["sha256"]
        matched += same
        print(f"c: read {name} from a: {len(data):,} bytes, "
              f"{'same bytes as b wrote' if same else 'NOT what b wrote'}")
    report = f"node c read {len(manifest)} files, {total:,} bytes, from node a; " \
             f"{matched} of {len(manifest)} as node b wrote them\n"
    with libipc.open("/net/b/home/report.txt", "w") as f:
        f.write(report)
    print("c: wrote its report to /net/b/home/report.txt")
    return {"ok": matched == len(manifest) > 0, "bytes": total, "files": len(manifest)}


def step_a() -> dict:
    """Read c's report from b; stat it there; be refused what b's [remote] does not allow."""
    import libipc
    with libipc.open("/net/b/home/report.txt") as f:
        report = f.read()
    print(f"a: /net/b/home/report.txt says: {report.strip()}")
    size = libipc.lookup("fs@b").stat(path="/home/report.txt")["size"]
    print(f"a: fs@b stat /home/report.txt: {size} bytes")
    try:
        libipc.lookup("block@b").info()
        refused = ""
        print("a: block@b answered — b's [remote] should have refused it")
    except libipc.PermissionDenied as exc:
        refused = exc.code
        print(f"a: block@b info: {exc.code} ({exc.message})")
    for row in libipc.nodes():
        print(f"a: link to {row['node']}: {row['state']}, round trip {row['rtt_ms']} ms, "
              f"{row['calls']} calls sent, {row['answers']} answered")
    return {"ok": bool(report) and size == len(report.encode()) and bool(refused),
            "report": report.strip(), "refused": refused}


def node_main(name: str, directory: str, peers: list[str]) -> int:
    d = Path(directory)
    wait_for(lambda: (d / "stop").exists() or peers_up(peers), BOOT_S,
             f"{name}'s peers {', '.join(peers)} up")
    write_json(d / f"{name}.ready", {"node": name})
    wait_for(lambda: (d / f"{name}.go").exists() or (d / "stop").exists(), 600, "the go")
    if (d / f"{name}.go").exists():
        t0 = time.monotonic()
        try:
            result = {"a": step_a, "b": step_b, "c": step_c}[name]()
        except Exception as exc:   # noqa: BLE001 (told to the host, which says it failed)
            import libipc
            why = str(exc) if isinstance(exc, libipc.IpcError) else f"{type(exc).__name__}: {exc}"
            result = {"ok": False, "error": why}
            print(f"{name}: failed: {result['error']}")
        print(f"{name}: step done in {time.monotonic() - t0:.2f} s")
        write_json(d / f"{name}.done", result)
    wait_for(lambda: (d / "stop").exists(), 600, "the stop")
    return 0


# --- on the host: three boots, the steps in turn, and the clean-up -------------------------

NANOKERNEL = [sys.executable, "-m", "nanokernel"]
out_lock = threading.Lock()


def say(text: str) -> None:
    with out_lock:
        print(text, flush=True)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Node:
    """One ``nanokernel boot --node`` and its console output, shown as it comes."""

    def __init__(self, name: str, argv: list[str], env: dict[str, str]) -> None:
        self.name, self.lines = name, []
        # its own session: Ctrl-C reaches this script, which halts the node itself
        self.proc = subprocess.Popen(argv, env=env, stdin=subprocess.DEVNULL,
                                     stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                                     text=True, start_new_session=True)
        self.reader = threading.Thread(target=self._relay, daemon=True)
        self.reader.start()

    def _relay(self) -> None:
        for line in self.proc.stdout:
            self.lines.append(line.rstrip("\n"))
            say(f"  {self.name} | {line.rstrip()}")

    def saw(self, text: str) -> bool:
        return any(text in line for line in self.lines)

    def stop(self, asked: bool = True) -> None:
        """Halt it: its session ends at DIR/stop (``asked``), else at SIGTERM (a clean
        halt too), else SIGKILL — then every process left of its session, which is this
        node's alone."""
        steps = [(signal.SIGTERM, HALT_S), (signal.SIGKILL, 5.0)]
        for sig, wait in [(None, HALT_S), *steps] if asked else steps:
            if sig is not None:
                with contextlib.suppress(ProcessLookupError):
                    os.kill(self.proc.pid, sig)
            try:
                self.proc.wait(wait)
                break
            except subprocess.TimeoutExpired:
                continue
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(self.proc.pid, signal.SIGKILL)   # (anything left of its session)
        self.reader.join(5.0)


def wait_host(predicate, seconds: float, what: str, nodes: list[Node]) -> None:
    deadline = time.monotonic() + seconds
    while not predicate():
        for node in nodes:
            if node.proc.poll() is not None:
                raise RuntimeError(f"node {node.name} ended (status {node.proc.returncode}) "
                                   f"while waiting for {what}")
        if time.monotonic() > deadline:
            raise RuntimeError(f"{what}: not within {seconds:g} s")
        time.sleep(0.05)


def boot_argv(name: str, tmp: Path, ports: dict[str, int]) -> list[str]:
    argv = [*NANOKERNEL, "boot", "--ramdisk", "--log", str(tmp / f"{name}.log"),
            "--node", name, "--keys", str(tmp / "keys")]
    if name in ports:
        argv += ["--listen", f"tcp://127.0.0.1:{ports[name]}"]
    for peer in PEERS[name]:
        argv += ["--peer", f"{peer}=tcp://127.0.0.1:{ports[peer]}"]
    session = f"run {Path(__file__).resolve()} node {name} {tmp} {' '.join(PEERS[name])}"
    return [*argv, "-c", session]


def run_demo(tmp: Path, nodes: list[Node]) -> int:
    env = {k: v for k, v in os.environ.items() if not k.startswith("NK_")}
    env["PYTHONDONTWRITEBYTECODE"] = "1"
    t0 = time.monotonic()
    keys = subprocess.run([*NANOKERNEL, "keys", str(tmp / "keys"), *NODES], env=env,
                          capture_output=True, text=True, timeout=60)
    if keys.returncode != 0:
        raise RuntimeError(f"nanokernel keys: {keys.stderr.strip()}")
    say(f"net demo: keys for {', '.join(NODES)} in {tmp / 'keys'} (nanokernel keys)")
    ports = {name: free_port() for name in LISTENS}
    for name in NODES:
        listen = f"listens on 127.0.0.1:{ports[name]}, " if name in ports else ""
        say(f"net demo: booting node {name} ({listen}links to {', '.join(PEERS[name])})")
        nodes.append(Node(name, boot_argv(name, tmp, ports), env))
    wait_host(lambda: all((tmp / f"{n}.ready").exists() for n in NODES), BOOT_S,
              "the three nodes up and linked", nodes)
    links = ", ".join(f"{n}→{p}" for n in NODES for p in PEERS[n])
    say(f"net demo: nodes a, b, c up, links {links} up ({time.monotonic() - t0:.1f} s)")
    results = {}
    for i, (name, what) in enumerate(STEPS, 1):
        say(f"net demo: step {i}: {what}")
        (tmp / f"{name}.go").touch()
        wait_host(lambda n=name: (tmp / f"{n}.done").exists(), STEP_S, f"step {i}", nodes)
        node = next(x for x in nodes if x.name == name)
        with contextlib.suppress(RuntimeError):   # (its console's last line, for the order)
            wait_host(lambda n=node: n.saw(f"{n.name}: step done"), 5.0, "output", [])
        results[name] = json.loads((tmp / f"{name}.done").read_text())
        if not results[name]["ok"]:
            say(f"net demo: step {i} FAILED: {results[name]}")
            return 1
    say("net demo: halting the three nodes")
    (tmp / "stop").touch()
    for node in nodes:
        node.stop()
    halted = {n.name: n.proc.returncode for n in nodes}
    if any(halted.values()):
        say(f"net demo: FAILED: a node did not halt cleanly (exit status {halted})")
        return 1
    b, c = results["b"], results["c"]
    say(f"net demo: OK in {time.monotonic() - t0:.1f} s: b wrote {b['files']} files "
        f"({b['bytes']:,} bytes) and their manifest on a; c read {c['bytes']:,} bytes "
        f"back from a, the same bytes; a read c's report from b and was refused block@b "
        f"({results['a']['refused']})")
    return 0


def host_main() -> int:
    tmp = Path(tempfile.mkdtemp(prefix="nk-net-demo-"))
    nodes: list[Node] = []

    def terminated(signum, frame):   # (SIGTERM: clean up as after Ctrl-C)
        raise KeyboardInterrupt
    signal.signal(signal.SIGTERM, terminated)
    try:
        return run_demo(tmp, nodes)
    except KeyboardInterrupt:
        say("net demo: interrupted: halting the nodes")
        return 130
    except (RuntimeError, OSError, subprocess.SubprocessError) as exc:
        say(f"net demo: FAILED: {exc}")
        for node in nodes:
            log = tmp / f"{node.name}.log"
            if log.exists():
                say(f"net demo: the end of {node.name}'s boot log:\n"
                    + "\n".join(log.read_text().splitlines()[-15:]))
        return 1
    finally:
        signal.signal(signal.SIGINT, signal.SIG_IGN)   # (a second Ctrl-C: cleaning up)
        (tmp / "stop").touch()
        for node in nodes:
            if node.proc.poll() is None or node.reader.is_alive():
                node.stop(asked=False)
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    if sys.argv[1:2] == ["node"]:        # inside a node, run by its shell
        sys.exit(node_main(sys.argv[2], sys.argv[3], sys.argv[4:]))
    sys.exit(host_main())
