"""``boot --lab DIR``: a working copy's files in front of the package's, in every
process of the boot (nanokernel/overlay; labs use it, docs/labs.md)."""

from __future__ import annotations

from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]

pytestmark = pytest.mark.timeout(120)


def _working_copy(root: Path) -> Path:
    """A server only the working copy has, a shell module and a kernel module it
    replaces (each saying so), and its own boot.toml naming the new server."""
    lab = root / "lab"
    (lab / "servers" / "shell").mkdir(parents=True)
    (lab / "kernel").mkdir()
    (lab / "servers" / "greeter.py").write_text((REPO / "examples" / "hello.py").read_text())
    motd = (REPO / "servers" / "shell" / "main.py").read_text()
    (lab / "servers" / "shell" / "main.py").write_text(
        motd + '\nprint("shell from the working copy", flush=True)\n')
    router = (REPO / "kernel" / "router.py").read_text()
    (lab / "kernel" / "router.py").write_text(
        router + '\nprint("router from the working copy", flush=True)\n')
    config = (REPO / "servers" / "boot.toml").read_text()
    (lab / "boot.toml").write_text(
        config + '\n[servers.greeter]\nmodule = "servers.greeter"\npublic = true\ncalls = []\n')
    return lab


def test_a_working_copy_boots_with_its_own_files(boot, tmp_path):
    lab = _working_copy(tmp_path)
    r = boot("--lab", str(lab), "-c", "call greeter greet '{\"who\": \"lab\"}'")
    assert r.returncode == 0, r.output
    assert '"hello, lab (from shell)"' in r.stdout
    assert "router from the working copy" in r.output          # the kernel process
    assert "shell from the working copy" in r.log   # a spawned one


def test_without_lab_the_package_files_run(boot, tmp_path):
    _working_copy(tmp_path)
    r = boot("-c", "call greeter greet")
    assert "NoSuchEndpoint" in r.output
    assert "working copy" not in r.output


def test_a_missing_working_copy_is_one_clear_error(boot, tmp_path):
    r = boot("--lab", str(tmp_path / "nope"), "-c", "ls")
    assert r.returncode == 2
    assert r.stderr.strip() == f"nanokernel boot: --lab {tmp_path / 'nope'}: no such directory"
