"""The shell on a node: every file command on /net/NODE/PATH as on a local path, pipes
from another node's files, copies between nodes, `nodes`, `kill -SIG NAME@NODE`, and a
node that goes down under a session that goes on."""

from __future__ import annotations

import json
import re

import pytest

from tests.conftest import wait_until
from tests.net.conftest import PROGRAMS, config_with

pytestmark = pytest.mark.timeout(180)
SAME = PROGRAMS / "shell_same.py"
WAIT_DOWN = PROGRAMS / "shell_wait_down.py"
UNTIL_RESTARTED = PROGRAMS / "shell_until_restarted.py"

LOCAL, REMOTE = "/home/t", "/net/a/home/t"   # (the remote one is /home/t on node a)
# Run once with {d} a directory of this node and once with one of node a: the outputs
# must be the same (but for the paths, inode numbers and times).
CASES = [
    "mkdir {d}",
    "echo hello there > {d}/f",
    "echo more >> {d}/f",
    "cat {d}/f",
    "ls {d}",
    "touch {d}/empty {d}/f",
    "ls -l {d}",
    "stat {d}/f",
    "mkdir {d}/sub",
    "mv {d}/f {d}/g",
    "mv {d}/g {d}/sub",
    "ls -l {d}/sub",
    "cp {d}/sub/g {d}/copy",
    "cp {d}/copy {d}/empty {d}/sub",
    "ls -l {d}/sub",
    "cat {d}/copy {d}/sub/copy",
    "echo one > {d}/lines; echo two >> {d}/lines; echo three >> {d}/lines",
    "cat {d}/lines | wc -c",
    "wc -l < {d}/lines",
    "wc -w {d}/lines",
    "head -n 2 {d}/lines",
    "tail -n 1 {d}/lines",
    "grep t {d}/lines",
    "cat {d}/lines | sort | head -n 1",
    "ls {d} | grep c",
    "cat {d}/lines > {d}/again; cat {d}/again",
    "cd {d}/sub; pwd; ls; cat g; cd /",
    "cat {d}/nope",
    "wc -c {d}/nope",
    "mkdir {d}/sub",
    "rmdir {d}/sub",
    "cd {d}/copy",
    "rm {d}/nope",
    "rm {d}/sub/g {d}/sub/copy {d}/sub/empty",
    "rmdir {d}/sub",
    "ls {d}",
]


def marked(cases: list[str]) -> str:
    """Each case on LOCAL then on REMOTE, after a line naming it."""
    commands = []
    for i, case in enumerate(cases):
        for where, d in (("L", LOCAL), ("R", REMOTE)):
            commands += [f"echo '=== {i} {where}'", case.format(d=d)]
    return "; ".join(commands)


def sections(stdout: str) -> dict[tuple[int, str], list[str]]:
    """The output after each '=== N L|R' line, up to the next one."""
    found: dict[tuple[int, str], list[str]] = {}
    lines: list[str] = []
    for line in stdout.splitlines():
        m = re.fullmatch(r"=== (\d+) ([LR])", line)
        if m:
            lines = found[(int(m.group(1)), m.group(2))] = []
        elif not line.startswith("nanokernel: "):
            lines.append(line)
    return found


def normal(lines: list[str], prefix: str = "") -> list[str]:
    """Lines with the /net prefix taken off and inode numbers and times blanked."""
    out = []
    for line in lines:
        line = line.replace(prefix + LOCAL, LOCAL) if prefix else line
        line = re.sub(r"Inode: \d+", "Inode: N", line)
        out.append(re.sub(r"^Modify: .*", "Modify: T", line))
    return out


def node_rows(stdout: str) -> dict[str, dict[str, str]]:
    """`nodes` rows by node: its columns."""
    lines = stdout.splitlines()
    header = next(i for i, line in enumerate(lines) if line.startswith("NODE "))
    rows = {}
    pattern = (r"(?P<node>\S+) +(?P<state>\S+) +(?P<since>[\d.]+s ago|-) +(?P<rtt>\S+)"
               r" +(?P<calls>\d+) +(?P<answers>\d+) +(?P<failed>\d+) +(?P<sends>\d+)"
               r" +(?P<served>\d+)  (?P<why>.*)")
    for line in lines[header + 1:]:
        m = re.fullmatch(pattern, line)
        if m is None:
            break
        rows[m["node"]] = m.groupdict()
    return rows


class TestFileCommands:
    def test_every_file_command_on_a_net_path_prints_what_it_prints_locally(self, cluster):
        """Each file command, redirection, filter and pipeline gives on /net/a/home/t
        the output it gives on /home/t (errors included, but for the path)."""
        cluster.node("a")
        res = cluster.run("b", marked(CASES), peers=["a"], timeout=150)
        found = sections(res.stdout)
        assert len(CASES) * 2 == len(found), res.output + res.log[-3000:]
        for i, case in enumerate(CASES):
            local, remote = found[(i, "L")], found[(i, "R")]
            assert normal(local) == normal(remote, "/net/a"), \
                f"{case!r}:\nlocal {local}\nremote {remote}"
        # some cases print what they must (not only the same thing twice)
        assert ["hello there", "more"] == found[(3, "R")]
        assert ["14"] == found[(CASES.index("cat {d}/lines | wc -c"), "R")]
        assert [f"cat: {REMOTE}/nope: FileNotFound"] == found[(CASES.index("cat {d}/nope"), "R")]
        assert [f"cd: {REMOTE}/copy: NotADirectory"] == \
            found[(CASES.index("cd {d}/copy"), "R")]
        assert [f"{REMOTE}/sub", "copy", "empty", "g", "hello there", "more"] == \
            found[(CASES.index("cd {d}/sub; pwd; ls; cat g; cd /"), "R")]
        assert [f"wc: {REMOTE}/nope: no such file or directory: FileNotFound"] == \
            found[(CASES.index("wc -c {d}/nope"), "R")]

    def test_cp_between_nodes_moves_every_byte_and_mv_between_nodes_is_refused(self, cluster):
        """A file of several messages' worth copied to node a and back, by cp and by
        cat > FILE, is byte-exact; mv across nodes says CrossNode; ls /net lists a
        and b; df /net/a is a's fs; on b, /net/b/PATH is b's own PATH."""
        cluster.node("a")
        res = cluster.run("b", "; ".join([
            "yes abcdefgh | head -n 20000 > /home/big",
            "cp /home/big /net/a/home/big",
            "cp /net/a/home/big /home/back",
            "cat /net/a/home/big > /home/cat",
            "cat /home/big > /net/a/home/cat",
            "mkdir /net/a/home/d; cp /home/big /home/back /net/a/home/d",
            f"run {SAME} /home/big /net/a/home/big /home/back /home/cat /net/a/home/cat"
            " /net/a/home/d/big /net/a/home/d/back",
            "echo '==='",
            "mv /home/big /net/a/home/moved",
            "mv /net/a/home/big /net/a/home/moved",
            "ls /net/a/home | sort",
            "ls /net",
            "ls -l /net",
            "df /net/a/home",
            "ls /net/b/home | sort",       # b's own /net path: its /home
            "wc -c /net/b/home/big",
            "cd /net/b/home; pwd; cd /",
        ]), peers=["a"], timeout=150)
        lines = [line for line in res.stdout.splitlines() if not line.startswith("nanokernel: ")]
        assert "same 180000" == lines[0], res.output + res.log[-3000:]
        rest = lines[lines.index("===") + 1:]
        assert ("mv: /home/big -> /net/a/home/moved: on two nodes (cp, then rm): CrossNode"
                == rest[0])
        assert ["cat", "d", "moved"] == rest[1:4]
        assert ["a", "b", f"d {0:>9}  a", f"d {0:>9}  b"] == rest[4:8]
        assert rest[8].startswith("Filesystem")
        assert rest[9].startswith("fs@a ")
        assert ["back", "big", "cat", "180000", "/home"] == rest[10:], rest


class TestNodes:
    def test_nodes_shows_each_peer_and_a_call_to_one_never_up_fails_with_node_down(
            self, cluster):
        """`nodes` has a row per peer with its state, since, round trip and counters;
        a call to a peer that never came up fails with NodeDown and the shell goes on."""
        cluster.node("a")
        cluster.address("c")   # a peer nobody runs
        res = cluster.run("b", "call fs@a stat '{\"path\": \"/\"}'; cat /net/a/etc/motd;"
                          " ls /net/c/home; echo still here; nodes", peers=["a", "c"])
        out = res.stdout
        assert "still here" in out.splitlines(), res.output
        assert any(re.fullmatch(r"ls: /net/c/home: c: not connected within .*: NodeDown", line)
                   for line in out.splitlines()), out
        assert re.search(r"^NODE +STATE +SINCE +RTT +CALLS +ANSWERS +FAILED +SENDS +SERVED"
                         r" +WHY$", out, re.M), out
        rows = node_rows(out)
        assert ["a", "c"] == sorted(rows), out
        a, c = rows["a"], rows["c"]
        assert "up" == a["state"] and a["since"].endswith("s ago"), out
        assert a["rtt"].endswith("ms"), out
        assert int(a["calls"]) >= 2 and int(a["answers"]) >= 2 and "0" == a["failed"], out
        assert "up" != c["state"] and "-" == c["rtt"] and "0" == c["answers"], out

    def test_nodes_and_net_paths_on_a_system_that_is_no_node_say_so(self, boot):
        """Without --node: one clear line for each, and the shell goes on."""
        res = boot("-c", "nodes; ls /net; cat /net/a/x; kill -TERM counter@a; echo still here")
        assert [
            "nodes: not a node (boot with --node NAME): NoSuchEndpoint",
            "ls: /net: not a node (boot with --node NAME): NoSuchEndpoint",
            "cat: /net/a/x: not a node (boot with --node NAME): NoSuchEndpoint",
            "kill: counter@a: not a node (boot with --node NAME): NoSuchEndpoint",
            "still here",
        ] == [line for line in res.stdout.splitlines() if not line.startswith("nanokernel: ")]


class TestKill:
    def test_kill_term_name_at_node_is_allowed_by_signal_and_refused_without(self, cluster):
        """c (no "@signal" in a's [remote]) is refused and counter keeps counting;
        b ("@signal") ends it: a's init restarts it, its count starting over."""
        config = config_with(cluster.tmp, "a", remote='b = ["counter", "@signal"]\n'
                             'c = ["counter"]')
        a = cluster.node("a", config=config)
        refused = cluster.run("c", "call counter@a bump; kill -TERM counter@a;"
                              " call counter@a bump", peers=["a"])
        assert ["1", "kill: counter@a: c may not signal processes on a (its [remote] entry"
                " has no \"@signal\"): PermissionDenied", "2"] == [
            line for line in refused.stdout.splitlines()
            if not line.startswith("nanokernel: ")], refused.output
        assert not exited(a, "counter")
        allowed = cluster.run("b", "call counter@a bump; kill -TERM nosuch@a;"
                              " kill -SIGTERM counter@a; echo done", peers=["a"])
        lines = [line for line in allowed.stdout.splitlines()
                 if not line.startswith("nanokernel: ")]
        assert "3" == lines[0], allowed.output
        assert ("kill: nosuch@a: no process named 'nosuch' on a: NoSuchEndpoint"
                == lines[1])
        assert ["done"] == lines[2:], lines
        # a's init saw counter end (SIGTERM: it stops serving and exits 0) and restarted it
        wait_until(lambda: restarted(a, "counter"), 30, what="counter restarted in a's log")
        assert [0] == [e["status"] for e in exited(a, "counter")]

    def test_a_server_restarted_after_kill_term_at_node_is_called_again(self, cluster):
        """After kill -TERM counter@a and its restart, calls from b reach the new one."""
        config = config_with(cluster.tmp, "a", remote='b = ["counter", "@signal"]')
        cluster.node("a", config=config)
        res = cluster.run("b", f"call counter@a bump; kill -TERM counter@a;"
                          f" run {UNTIL_RESTARTED} counter@a 20; call counter@a count",
                          peers=["a"])
        lines = [line for line in res.stdout.splitlines() if not line.startswith("nanokernel: ")]
        assert ["1", "restarted", "0"] == lines, res.output


def restarted(node, name: str) -> bool:
    """Has init started ``name`` a second time (the node's log's "started" events)?"""
    return any(e.get("restarts", 0) >= 1 for e in events(node, "started", name))


def exited(node, name: str) -> list[dict]:
    """The server_exited events of ``name`` in the node's log."""
    return events(node, "server_exited", name)


def events(node, kind: str, name: str) -> list[dict]:
    """The events ``kind`` of server ``name`` in the node's log."""
    found = []
    for line in node.log_text().splitlines():
        try:
            event = json.loads(line)
        except ValueError:
            continue
        if event.get("event") == kind and event.get("server") == name:
            found.append(event)
    return found


class TestNodeDown:
    def test_a_node_killed_under_a_session_fails_its_commands_with_node_down(self, cluster):
        """Node a killed between two commands: the next ones on its files fail with
        NodeDown, `nodes` shows it down, and the session goes on to its end."""
        a = cluster.node("a")
        mark = cluster.tmp / "b-waiting"
        running = cluster.start("b", f"echo up > /net/a/home/f; cat /net/a/home/f;"
                                f" run {WAIT_DOWN} {mark} a; cat /net/a/home/f;"
                                " echo again > /net/a/home/f; kill -TERM counter@a;"
                                " echo still here; nodes", peers=["a"])
        wait_until(mark.exists, 90, what="b's session waiting for a to go down")
        a.kill()
        res = running.finish(90)
        lines = [line for line in res.stdout.splitlines() if not line.startswith("nanokernel: ")]
        assert ["up", "a is down"] == lines[:2], res.output + res.log[-3000:]
        for line, cmd in zip(lines[2:5], ("cat: /net/a/home/f: a is", "echo: /net/a/home/f: a is",
                                          "kill: counter@a: a is"), strict=True):
            assert line.startswith(cmd) and line.endswith(": NodeDown"), lines
        assert "still here" == lines[5]
        assert "down" == node_rows(res.stdout)["a"]["state"], res.stdout
        assert 0 == res.returncode   # (the last command's: nodes)
