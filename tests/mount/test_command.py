"""The mount command's checks and boot configuration (no FUSE, no boot)."""

from __future__ import annotations

import argparse
from pathlib import Path

import pytest

from nanokernel.mount import add_mount_command
from nanokernel.mount.command import SESSION_MODULE, check_mountpoint, mount_config, run_mount
from servers.bootconfig import default_path, load

pytestmark = pytest.mark.timeout(30)


def test_the_session_program_replaces_the_shell(tmp_path: Path) -> None:
    config = load(mount_config(default_path(), tmp_path / "boot.toml"))
    session = config.session
    assert session is not None and "nkmount" == session.name
    assert SESSION_MODULE == session.module
    assert "shell" not in config.servers
    assert {"fs", "console"} <= set(session.calls)
    assert {"fs", "block", "naming", "console"} <= set(config.servers)


def test_relative_paths_stay_right(tmp_path: Path) -> None:
    own = tmp_path / "conf"
    own.mkdir()
    (own / "echo.py").write_text("from libipc import Server\n")
    text = default_path().read_text().replace(
        "\n[restart]", '\n[servers.echo]\npath = "echo.py"\n\n[restart]', 1)
    (own / "boot.toml").write_text(text)
    config = load(mount_config(own / "boot.toml", tmp_path / "out.toml"))
    assert (own / "echo.py").resolve() == Path(config.servers["echo"].path).resolve()


def test_mount_point_checks(tmp_path: Path) -> None:
    assert check_mountpoint(str(tmp_path / "missing")).endswith("No such file or directory")
    (tmp_path / "file").write_text("x")
    assert "not a directory" in check_mountpoint(str(tmp_path / "file"))
    (tmp_path / "full").mkdir()
    (tmp_path / "full" / "x").write_text("x")
    assert "not empty" in check_mountpoint(str(tmp_path / "full"))
    (tmp_path / "empty").mkdir()
    assert check_mountpoint(str(tmp_path / "empty")) is None
    assert "already a mount point" in check_mountpoint("/proc")


def test_a_bad_mount_point_is_one_line_and_status_2(tmp_path: Path, capsys) -> None:
    parser = argparse.ArgumentParser()
    add_mount_command(parser.add_subparsers(dest="command"))
    (tmp_path / "full").mkdir()
    (tmp_path / "full" / "x").write_text("x")
    args = parser.parse_args(["mount", str(tmp_path / "full"), "--ramdisk"])
    assert run_mount is args.func
    assert 2 == args.func(args)
    err = capsys.readouterr().err
    assert 1 == len(err.splitlines()) and err.startswith("nanokernel mount: ")
