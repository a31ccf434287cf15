"""``run`` of a server file is one error that says ``start``; no log line on the console.

A server serves until it is stopped: ``run`` would wait for it for ever (and the
server's "server_started" log line used to land on the console).  Log lines of a
program the shell runs go to the boot's log, never to the console or the pipe it
writes to.
"""

from __future__ import annotations

import json

from tests.e2e.conftest import REPO, lines


class TestRunErrors:
    def test_run_a_server_is_one_error_suggesting_start(self, nk):
        r = nk("run examples/hello.py; echo still here; run examples/shm_ring.py;"
               " start examples/hello.py; call hello greet")
        assert 0 == r.returncode, r.output
        out = lines(r.stdout)
        errors = [line for line in out if line.startswith("run: ")]
        assert errors == [
            "run: examples/hello.py is a server (class Hello), not a program;"
            " start it instead: start examples/hello.py: InvalidArgument",
            "run: examples/shm_ring.py is a server (class Ring), not a program;"
            " start it instead: start examples/shm_ring.py: InvalidArgument"], r.stdout
        assert "still here" in out
        assert any(line.startswith('"hello, world') for line in out), r.stdout
        assert not [line for line in out if line.startswith("{")], r.stdout

    def test_program_logs_stay_in_the_log(self, nk, tmp_path):
        """A program's own log line (and libipc's) is in the boot log only: not on the
        console, not in the pipe its stdout is."""
        program = tmp_path / "logs.py"
        program.write_text("from libipc import jsonlog\n"
                           "jsonlog.get_logger().info('program_logged', k=1)\n"
                           "print('printed')\n")
        r = nk(f"run {program}; run {program} | wc -l")
        assert 0 == r.returncode, r.output
        out = lines(r.stdout)
        assert out.count("printed") == 1 and "1" in out, r.stdout
        assert "program_logged" not in r.stdout
        logged = [json.loads(line) for line in r.log.splitlines()
                  if line.startswith("{") and "program_logged" in line]
        assert len(logged) == 2 and logged[0]["proc"] == "logs", logged


def test_which_files_are_servers(tmp_path):
    """A file serves when its __main__ block calls main() of a Server class (directly
    or through a class of the file); under a condition, only when run has no args."""
    from servers.shell.system import server_class_in
    assert server_class_in(str(REPO / "examples/hello.py")) == "Hello"
    assert server_class_in(str(REPO / "examples/shm_ring.py")) == "Ring"
    assert server_class_in(str(REPO / "examples/shm_ring.py"), has_args=True) is None
    assert server_class_in(str(REPO / "examples/watchdog.py")) is None
    chain = tmp_path / "chain.py"
    chain.write_text("import libipc\nclass A(libipc.Server):\n    pass\nclass B(A):\n"
                     "    pass\nif __name__ == '__main__':\n    B.main()\n")
    assert server_class_in(str(chain), has_args=True) == "B"
    library = tmp_path / "library.py"   # defines a server, serves nothing
    library.write_text("from libipc import Server\nclass A(Server):\n    pass\n")
    assert server_class_in(str(library)) is None
    broken = tmp_path / "broken.py"
    broken.write_text("def (:\n")
    assert server_class_in(str(broken)) is None
