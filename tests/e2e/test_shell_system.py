"""Process and system commands: kernel calls, naming, init, devices."""

import re
import time

from tests.e2e.conftest import lines


class TestSystemCommands:
    def test_inspecting_the_system(self, nk):
        """help, ps, names, stats, date, sleep and trace off all answer in one boot."""
        t0 = time.monotonic()
        r = nk("help; help ls; ps; names; stats; date; sleep 0.3; trace off")
        out = lines(r.stdout)
        assert 0 == r.returncode, r.output
        assert "commands (help COMMAND for more):" in out
        assert "usage: ls [-l] [PATH...]" in out
        for cmd in ("call", "cat", "cd", "crash", "date", "df", "echo", "halt", "kill", "ls",
                    "mkdir", "mv", "names", "ps", "pwd", "rm", "rmdir", "run", "sleep",
                    "start", "stat", "stats", "status", "trace"):
            assert any(line.startswith(f"  {cmd} ") or line == f"  {cmd}" for line in out), cmd
        ps_header = next(line for line in out if line.strip().startswith("EP"))
        assert "NAME" in ps_header and "PID" in ps_header
        for name in ("init", "naming", "console", "devices", "block", "fs", "shell"):
            assert any(re.match(rf"\s*\d+ {name}\s+\d+ running", line) for line in out), name
        for name in ("console", "devices", "fs"):
            assert any(re.match(rf"{name}\s+\d+$", line) for line in out), name
        assert any(line.startswith("messages routed") for line in out)
        assert any(re.search(r"\d{4}-\d\d-\d\d \d\d:\d\d:\d\d", line) for line in out)
        assert "tracing off" in out
        assert time.monotonic() - t0 >= 0.3

    def test_kill_fs_then_ls(self, nk, mode):
        """After kill fs, init restarts it, ls / works again and shows synced files.
        With fs hosted in the kernel there is no process to kill: a clear error."""
        r = nk("ls / > /before; call fs sync; kill fs; ls /; ps")
        out = lines(r.stdout)
        assert 0 == r.returncode, r.output
        assert "etc" in out and "before" in out
        fs_row = next(line for line in out if re.match(r"\s*\d+ fs\s", line)).split()
        if mode == "process":
            assert "1" == fs_row[8], fs_row   # EP NAME PID STATE PARENT IN OUT CALLS RESTARTS
        else:
            assert "kill: fs: InvalidArgument" in out, out
            assert "0" == fs_row[8], fs_row

    def test_status_shows_policy_and_last_failure(self, nk, mode):
        """status: one row per server — state, restarts, policy, heartbeat period
        ("kernel": hosted, not pinged), intensity and the last failure; status NAME
        shows one server's every field."""
        if mode == "monolithic":   # nothing to kill: every server is in the kernel
            r = nk("status; status devices")
        else:
            r = nk("kill devices; run tests/e2e/programs/await_restart.py devices; "
                   "status; status devices")
        out = lines(r.stdout)
        assert 0 == r.returncode, r.output
        header = next(line for line in out if line.startswith("NAME "))
        assert header.split() == ["NAME", "STATE", "RESTARTS", "POLICY", "BEAT",
                                  "INTENSITY", "LAST", "FAILURE"]
        rows = {line.split()[0]: line for line in out[out.index(header) + 1:]
                if line and not line.startswith(("name ", " "))}
        assert re.match(r"shell\s+running\s+0\s+never\s+off\s+-\s+-$", rows["shell"])
        if mode == "monolithic":
            assert re.match(r"devices\s+running\s+0\s+always\s+kernel\s+-\s+-$",
                            rows["devices"]), rows["devices"]
            assert "placement         kernel" in out
            return
        assert re.match(r"devices\s+running\s+1\s+always\s+2s\s+-\s+killed by SIGKILL "
                        r"\d+\.\d s ago \(up \d+\.\d s\)$", rows["devices"]), rows["devices"]
        fs_beat = "kernel" if mode == "hybrid" else "2s"
        assert re.match(rf"fs\s+running\s+0\s+always\s+{fs_beat}\s+-\s+-$", rows["fs"])
        assert "heartbeat         2.0" in out
        assert any(re.match(r"last_failure\s+killed by SIGKILL \d", line) for line in out)

    def test_kill_by_endpoint_and_unknown(self, nk):
        """kill EP works like kill NAME; a bad signal is an error."""
        r = nk("kill -NOPE devices; kill -99 devices; kill 999999")
        out = lines(r.stdout)
        assert out.count("kill: -NOPE: no such signal (kill -l lists them): Usage") == 1, out
        assert "kill: -99: no such signal (kill -l lists them): Usage" in out, out
        assert "kill: 999999: NoSuchEndpoint" in out, out

    def test_crash_restarts_a_process_and_panics_a_kernel(self, nk, mode):
        """crash fs: as a process fs dies and comes back; in the kernel it is a panic."""
        r = nk("echo kept > /home/k; call fs sync; crash fs; ls /home; echo after")
        out = lines(r.stdout)
        if mode == "process":
            assert 0 == r.returncode, r.output
            assert "fs crashed (init restarts it per its policy)" in out
            assert "k" in out and "after" in out
        else:
            assert 70 == r.returncode, r.output
            assert "KERNEL PANIC: unhandled fault in fs" in r.stderr
            assert "after" not in out

    def test_halt_ends_the_boot_with_the_last_status(self, nk):
        """halt stops everything; commands after it do not run; status is the last one's."""
        r = nk("cat /nope; halt; echo never")
        assert 1 == r.returncode
        assert "never" not in r.stdout

    def test_exit_sets_the_status(self, nk):
        """exit N ends the session with status N."""
        assert 7 == nk("exit 7; echo never").returncode

    def test_call_passes_any_argument_name(self, nk):
        """call's JSON arguments reach the server whatever their names — "name" and
        "timeout" included — and the shell goes on."""
        r = nk("call naming lookup '{\"name\": \"fs\"}'; "
               "call naming wait '{\"name\": \"fs\"}'; "
               "call naming lookup '{\"name\": \"fs\", \"timeout\": 1}'; echo after")
        out = lines(r.stdout)
        assert 2 == len([line for line in out if re.fullmatch(r"\d+", line)]), r.output
        assert any("naming.lookup" in line and "InvalidArgument" in line for line in out), out
        assert "after" == out[-1]
