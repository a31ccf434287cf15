"""A bad boot.toml stops the boot with one message naming the file, line and key."""

from __future__ import annotations

import textwrap
from pathlib import Path

import pytest

from servers.bootconfig import BootConfigError, default_path, load

GOOD = """\
[servers.naming]
module = "servers.naming"
privileged = true

[servers.devices]
module = "servers.devices"
public = true

[servers.app]
path = "app.py"
depends = ["devices"]
calls = ["devices", "@public"]
"""


def write(tmp_path: Path, text: str) -> Path:
    (tmp_path / "app.py").write_text("")
    path = tmp_path / "boot.toml"
    path.write_text(textwrap.dedent(text))
    return path


def error_of(tmp_path: Path, text: str) -> str:
    with pytest.raises(BootConfigError) as info:
        load(write(tmp_path, text))
    return str(info.value)


class TestGoodConfigs:
    def test_good_config_loads_in_dependency_order(self, tmp_path):
        """Dependencies come before their dependants; paths are made absolute."""
        config = load(write(tmp_path, GOOD.replace('[servers.naming]', '[servers.first]\n'
                                                   'path = "app.py"\ndepends = ["app"]\n\n'
                                                   '[servers.naming]')))
        assert ["devices", "app", "first", "naming"] == list(config.servers)
        assert str(tmp_path / "app.py") == config.servers["app"].path
        assert 5 == config.restart.give_up

    def test_packaged_default_config_is_valid(self):
        """The shipped boot.toml names the core programs, sem, mq and net after fs, the
        bridge (only on a node), the shell last; trusted peers may call public servers."""
        config = load(default_path())
        assert ["naming", "console", "devices", "pipe", "block", "fs", "sem", "mq", "net",
                "bridge", "shell"] == list(config.servers)
        assert [False] * 9 + [True, False] == [s.node for s in config.servers.values()]
        assert {"*": ["@public"]} == config.remote
        assert "shell" == config.session.name
        assert ["block", "console"] == config.servers["fs"].calls
        assert not config.servers["block"].public

    def test_args_substitute_disk_and_ramdisk(self, tmp_path):
        """{disk} and {ramdisk} in args become NK_DISK and NK_RAMDISK."""
        config = load(write(tmp_path, GOOD + 'args = ["{disk}", "x{ramdisk}"]\n'))
        argv = config.servers["app"].argv({"NK_DISK": "/d.img", "NK_RAMDISK": "1024"})
        assert [str(tmp_path / "app.py"), "/d.img", "x1024"] == argv

    def test_limits_and_restart_knobs(self, tmp_path):
        """[limits] and [restart] are read and checked."""
        config = load(write(tmp_path, GOOD + "[limits]\nmax_message = 4096\n"
                                             "[restart]\nbackoff = 1\ngive_up = 2\n"))
        assert {"max_message": 4096} == config.limits
        assert (1.0, 2) == (config.restart.backoff, config.restart.give_up)

    def test_per_server_knobs_override_the_restart_table(self, tmp_path):
        """A server's own heartbeat/intensity/backoff keys win over [restart]; the other
        servers keep [restart]'s values, and unset knobs their defaults."""
        config = load(write(tmp_path, GOOD + "heartbeat = 0.5\nintensity = 3\n"
                                             "intensity_period = 20\nbackoff_max = 2\n"
                                             "[restart]\nbackoff = 0.2\nheartbeat = 1.5\n"))
        app, naming = config.servers["app"].knobs, config.servers["naming"].knobs
        assert (0.5, 3, 20.0, 2.0, 0.2) == (app.heartbeat, app.intensity,
                                            app.intensity_period, app.backoff_max, app.backoff)
        assert (1.5, 0, 5.0, 0.2) == (naming.heartbeat, naming.intensity, naming.backoff_max,
                                      naming.backoff)
        assert 5 == naming.give_up

    def test_default_knobs(self, tmp_path):
        """Without [restart]: 2 s heartbeats, no intensity limit, give_up 5, backoff
        0.1 s doubling up to 5 s."""
        knobs = load(write(tmp_path, GOOD)).servers["app"].knobs
        assert (2.0, 0, 60.0, 5, 0.1, 5.0, 10.0) == (
            knobs.heartbeat, knobs.intensity, knobs.intensity_period, knobs.give_up,
            knobs.backoff, knobs.backoff_max, knobs.stable)

    def test_zero_turns_heartbeats_and_intensity_off(self, tmp_path):
        knobs = load(write(tmp_path, GOOD + "heartbeat = 0\nintensity = 0\n")).servers["app"]
        assert (0.0, 0) == (knobs.knobs.heartbeat, knobs.knobs.intensity)


class TestBadConfigs:
    @pytest.mark.parametrize(("text", "expected"), [
        (GOOD + "colour = 'red'\n", ":13: servers.app.colour: unknown key"),
        (GOOD + "calls2 = []\n", "servers.app.calls2: unknown key"),
        (GOOD.replace('path = "app.py"', 'path = "nope.py"'), ":10: servers.app.path: "
                                                                "no such file"),
        (GOOD.replace('"servers.devices"', '"servers.nope"'),
         ":6: servers.devices.module: no such module: servers.nope"),
        (GOOD.replace('depends = ["devices"]', 'depends = ["devies"]'),
         ":11: servers.app.depends: unknown server 'devies'"),
        (GOOD.replace('calls = ["devices", "@public"]', 'calls = ["fs"]'),
         ":12: servers.app.calls: unknown server 'fs'"),
        (GOOD.replace("privileged = true", 'privileged = "yes"'),
         ":3: servers.naming.privileged: must be a boolean"),
        (GOOD.replace('depends = ["devices"]', 'depends = "devices"'),
         "servers.app.depends: must be a list"),
        (GOOD + 'restart = "sometimes"\n', "servers.app.restart: must be one of always"),
        (GOOD + 'placement = "moon"\n', "servers.app.placement: must be one of process"),
        (GOOD + "[servers.other]\npath = 'app.py'\nsession = true\nrestart = 'always'\n",
         "servers.other.restart: the session program is never restarted"),
        (GOOD + "[servers.b]\npath='app.py'\ndepends=['c']\n[servers.c]\npath='app.py'\n"
                "depends=['b']\n", "dependency cycle: b -> c -> b"),
        (GOOD + "[servers.b]\npath='app.py'\ndepends=['b']\n", "servers.b.depends: "
                                                                 "depends on itself"),
        (GOOD + "[servers.b]\nargs=[]\n", "servers.b: needs exactly one of module"),
        (GOOD + "[servers.b]\npath='app.py'\nmodule='servers.naming'\n",
         "needs exactly one of module"),
        (GOOD + "[servers.Bad]\npath='app.py'\n", "servers.Bad: a server name is"),
        (GOOD + "[servers.init]\npath='app.py'\n", "servers.init: the name 'init' is reserved"),
        (GOOD + "[servers.b]\npath='app.py'\nconsole=true\n[servers.c]\npath='app.py'\n"
                "console=true\n", "servers.c.console: only one server may set console"),
        (GOOD + "[limits]\nmax_message = 10\n", "limits.max_message: must be an integer"),
        (GOOD + "[limits]\nmax_size = 10\n", "limits.max_size: unknown key"),
        (GOOD + "[remote]\nBad = ['fs']\n", "remote.Bad: a node name is"),
        (GOOD + "[remote]\na = 'fs'\n", "remote.a: must be a list of server names"),
        (GOOD + "remote = 1\n", "servers.app.remote: unknown key"),
        (GOOD + "node = 'yes'\n", "servers.app.node: must be a boolean"),
        (GOOD + "[restart]\nbackoff = -1\n", "restart.backoff: must be a positive number"),
        (GOOD + "[restart]\ngive_up = 0.5\n", "restart.give_up: must be a positive integer"),
        (GOOD + "[restart]\nsnooze = 1\n", "restart.snooze: unknown key"),
        (GOOD + "heartbeat = -1\n",
         ":13: servers.app.heartbeat: must be a number of seconds >= 0 (0: off), got -1"),
        (GOOD + "heartbeat = 0.001\n",
         "servers.app.heartbeat: must be 0 (off) or at least 0.05 s, got 0.001"),
        (GOOD + 'heartbeat = "2s"\n', "servers.app.heartbeat: must be a number of seconds"),
        (GOOD + "intensity = -1\n", "servers.app.intensity: must be an integer >= 0"),
        (GOOD + "intensity = 1.5\n", "servers.app.intensity: must be an integer >= 0"),
        (GOOD + "intensity_period = 0\n",
         "servers.app.intensity_period: must be a positive number of seconds, got 0"),
        (GOOD + "give_up = true\n", "servers.app.give_up: must be a positive integer"),
        (GOOD + "backoff_max = 0.05\n",
         "servers.app.backoff_max: backoff_max (0.05) is less than backoff (0.1)"),
        (GOOD + "[restart]\nheartbeat = -2\n", "restart.heartbeat: must be a number"),
        (GOOD + "beat = 2\n", "servers.app.beat: unknown key (expected module, "),
        ("[server.x]\n", "server: unknown key"),
        ("", "servers: missing"),
        (GOOD + "[servers.x\n", "boot.toml: Expected ']'"),
        (GOOD.replace("public = true", "public = tru"), "(at line 7, column 10)"),
    ])
    def test_bad_config_gives_one_clear_message(self, tmp_path, text, expected):
        """Each mistake is one BootConfigError naming the file and the key (and line)."""
        message = error_of(tmp_path, text)
        assert message.startswith(str(tmp_path / "boot.toml")), message
        assert expected in message
        assert "\n" not in message.strip()

    def test_missing_file(self, tmp_path):
        """A config file that does not exist is reported by name."""
        with pytest.raises(BootConfigError, match="nope.toml: cannot read"):
            load(tmp_path / "nope.toml")

    def test_bad_config_stops_the_boot_before_anything_is_spawned(self, boot, tmp_path):
        """Booting a bad config ends with status 2, the message, and no server started."""
        path = write(tmp_path, GOOD.replace('depends = ["devices"]', 'depends = ["devies"]'))
        res = boot("--config", str(path))
        assert 2 == res.returncode
        assert "servers.app.depends: unknown server 'devies'" in res.stderr + res.log
        assert '"event": "spawned", "name": "naming"' not in res.log
        assert '"name": "naming"' not in res.log
