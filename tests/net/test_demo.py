"""examples/net_demo.py, as ``make demo-net`` runs it: three real nodes on loopback, a
workload across them, and nothing left behind — after its end, and after a Ctrl-C."""

from __future__ import annotations

import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tests.conftest import isolated_env

pytestmark = pytest.mark.timeout(180)
ROOT = Path(__file__).resolve().parents[2]
DEMO = ROOT / "examples" / "net_demo.py"


def demo_env(tmp: Path) -> dict[str, str]:
    env = isolated_env(tmp / "nkhome")
    env["PYTHONDONTWRITEBYTECODE"] = "1"
    env["TMPDIR"] = str(tmp)   # (the demo's temporary directory: here, to check it is gone)
    return env


def left_behind(tmp: Path) -> tuple[list[Path], list[int]]:
    """The demo's temporary directories still there, and live processes naming one."""
    dirs = sorted(tmp.glob("nk-net-demo-*"))
    pids = []
    for proc in Path("/proc").iterdir():
        if not proc.name.isdigit():
            continue
        try:
            cmdline = (proc / "cmdline").read_bytes()
        except OSError:
            continue
        if b"nk-net-demo-" in cmdline and str(tmp).encode() in cmdline:
            pids.append(int(proc.name))
    return dirs, pids


def node_lines(out: str, node: str) -> list[str]:
    prefix = f"  {node} | "
    return [line[len(prefix):] for line in out.splitlines() if line.startswith(prefix)]


class TestNetDemo:
    def test_the_workload_succeeds_across_three_nodes_and_nothing_is_left(self, tmp_path):
        """b writes on a, c reads it back from a and reports to b, a reads the report
        from b and is refused block@b; every node halts; the demo removes its files."""
        res = subprocess.run([sys.executable, str(DEMO)], cwd=ROOT, env=demo_env(tmp_path),
                             stdin=subprocess.DEVNULL, capture_output=True, text=True,
                             timeout=150)
        out = res.stdout + res.stderr
        assert 0 == res.returncode, out
        for node in "abc":
            assert any(line.startswith("nanokernel: ") and "servers up" in line
                       for line in node_lines(out, node)), out
        b, c, a = (node_lines(out, n) for n in "bca")
        assert "b: wrote /net/a/home/demo/random.bin: 300,000 bytes" in b, out
        assert "c: read random.bin from a: 300,000 bytes, same bytes as b wrote" in c, out
        assert "c: read notes.txt from a: 11,090 bytes, same bytes as b wrote" in c, out
        assert any(line.startswith("a: /net/b/home/report.txt says: node c read 2 files, "
                                   "311,090 bytes, from node a; 2 of 2 as node b wrote them")
                   for line in a), out
        assert any(line.startswith("a: block@b info: PermissionDenied") for line in a), out
        assert any(line.startswith("a: link to b: up") for line in a), out
        verdict = [line for line in out.splitlines() if line.startswith("net demo: OK")]
        assert 1 == len(verdict), out
        assert "c read 311,090 bytes back from a, the same bytes" in verdict[0]
        assert ([], []) == left_behind(tmp_path)

    def test_a_ctrl_c_halts_every_node_and_removes_the_keys(self, tmp_path):
        """Interrupted once the nodes are up, the demo halts them all, removes its
        temporary directory (the keys with it) and exits 130."""
        proc = subprocess.Popen([sys.executable, str(DEMO)], cwd=ROOT, env=demo_env(tmp_path),
                                stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                                stderr=subprocess.STDOUT, text=True)
        seen = []
        try:
            for line in proc.stdout:
                seen.append(line)
                if line.startswith("net demo: nodes a, b, c up"):
                    break
            assert any(tmp_path.glob("nk-net-demo-*/keys/a.key")), "".join(seen)
            proc.send_signal(signal.SIGINT)
            rest, _ = proc.communicate(timeout=60)
        finally:
            if proc.poll() is None:
                proc.kill()
                proc.wait()
        out = "".join(seen) + rest
        assert 130 == proc.returncode, out
        assert "net demo: interrupted: halting the nodes" in out
        deadline = time.monotonic() + 10
        while left_behind(tmp_path) != ([], []) and time.monotonic() < deadline:
            time.sleep(0.1)
        assert ([], []) == left_behind(tmp_path), out
