"""``boot --node`` flags and ``nanokernel keys``: what is refused before booting, with
one clear line, and a node without keys (it links to nobody, and says so)."""

from __future__ import annotations

import subprocess

import pytest

from tests.conftest import NANOKERNEL

pytestmark = pytest.mark.timeout(120)


def nk(env, *args: str) -> subprocess.CompletedProcess:
    return subprocess.run([*NANOKERNEL, *args], env=env, capture_output=True, text=True,
                          timeout=60, stdin=subprocess.DEVNULL)


class TestRefusedBeforeBooting:
    @pytest.mark.parametrize("args, says", [
        (["--node", "a", "--listen", "tcp://0.0.0.0:7999"],
         "refusing to listen beyond this machine without --keys"),
        (["--listen", "tcp://127.0.0.1:7999"], "need --node NAME"),
        (["--node", "A!"], "--node 'A!'"),
        (["--node", "a", "--peer", "b"], "expected NAME=tcp://HOST:PORT"),
        (["--node", "a", "--peer", "b=http://x:1"], "is not tcp://HOST:PORT"),
        (["--node", "a", "--peer", "a=tcp://127.0.0.1:1"], "a node is not its own peer"),
    ])
    def test_bad_node_flags(self, cluster, args, says):
        res = nk(cluster.env, "boot", "--ramdisk", *args, "-c", "echo booted")
        assert 2 == res.returncode, res.stdout + res.stderr
        assert says in res.stderr
        assert "booted" not in res.stdout

    def test_keys_without_this_nodes_secret_key(self, cluster, tmp_path):
        keys = cluster.make_keys("b", directory=tmp_path / "only-b")
        res = nk(cluster.env, "boot", "--ramdisk", "--node", "a", "--keys", str(keys),
                 "-c", "echo booted")
        assert 2 == res.returncode
        assert "no secret key for node 'a'" in res.stderr
        assert "nanokernel keys" in res.stderr   # how to make one


class TestKeys:
    def test_keys_are_made_once_secret_0600_and_not_overwritten(self, cluster, tmp_path):
        d = tmp_path / "k"
        res = nk(cluster.env, "keys", str(d), "x", "y")
        assert 0 == res.returncode, res.stderr
        assert {"x.key", "x.pub", "y.key", "y.pub"} == {p.name for p in d.iterdir()}
        assert 0o600 == (d / "x.key").stat().st_mode & 0o777
        assert "secret-key" not in (d / "x.pub").read_text()
        again = nk(cluster.env, "keys", str(d), "x")
        assert 2 == again.returncode and "--force" in again.stderr
        bad = nk(cluster.env, "keys", str(d), "Bad Name")
        assert 2 == bad.returncode and "a node name is" in bad.stderr


class TestWithoutKeysOrBridge:
    def test_a_node_without_keys_links_to_nobody_and_says_so(self, cluster):
        res = cluster.run("b", "call bridge nodes; call fs@a stat '{\"path\": \"/\"}'; "
                          "echo goes on", peers=["a"], keys=False)
        assert "goes on" in res.stdout.splitlines(), res.output
        assert "refused" in res.stdout and "no --keys" in res.stdout
        assert "NodeDown" in res.output

    def test_remote_names_without_a_node_are_a_clear_error(self, boot):
        res = boot("-c", "call fs@a stat '{\"path\": \"/\"}'; cat /net/a/x; echo goes on")
        assert "goes on" in res.stdout.splitlines()
        assert "no bridge" in res.output and "--node" in res.output
