"""start + call of a server file, run of a user program (the tutorial's examples)."""

from tests.e2e.conftest import lines


class TestServersAndPrograms:
    def test_one_server_file_under_two_names(self, nk):
        """start FILE NAME registers under NAME, so the same file can run twice."""
        r = nk("start examples/hello.py; start examples/hello.py hello2; call hello2 greet;"
               " names")
        out = lines(r.stdout)
        assert 0 == r.returncode, r.output
        assert '"hello, world (from shell)"' in out
        assert any(line.startswith("hello2 ") for line in out), out
        assert any(line.startswith("hello ") for line in out), out

    def test_start_and_call(self, nk):
        """A server file started from the shell registers its name and answers calls."""
        r = nk("start examples/hello.py; call hello greet; call hello greet '{\"who\": \"you\"}';"
               "call hello nope; call hello greet '{\"who\": 3}'; names")
        out = lines(r.stdout)
        assert 0 == r.returncode, r.output
        assert any(line.startswith("started hello (ep ") for line in out), out
        assert '"hello, world (from shell)"' in out
        assert '"hello, you (from shell)"' in out
        assert any(line.startswith("call: hello.nope") and line.endswith("NoSuchOp")
                   for line in out)
        assert any(line.startswith("call: hello.greet") and line.endswith("InvalidArgument")
                   for line in out)
        assert any(line.startswith("hello ") for line in out)

    def test_memo_deferred_reply_and_outgoing_call(self, nk):
        """memo stores notes in fs (outgoing calls) and replies late or with Timeout."""
        r = nk("start examples/memo.py; call memo put '{\"key\": \"k\", \"text\": \"v\"}';"
               "call memo get '{\"key\": \"k\"}'; cat /memo/k;"
               "call memo get '{\"key\": \"none\", \"wait\": 0.2}';"
               "call memo get '{\"key\": \"none\"}'")
        out = lines(r.stdout)
        assert ["1", '"v"', "v"] == out[out.index("1"):out.index("1") + 3], out
        assert "call: memo.get: no note 'none' within 0.2 s: Timeout" in out
        assert any(line.startswith("call: memo.get") and line.endswith("FileNotFound")
                   for line in out)

    def test_run_a_program(self, nk):
        """run shows the program's print() output; its exit status is the command's."""
        r = nk("start examples/memo.py; run examples/remember.py todo buy milk")
        out = lines(r.stdout)
        assert 0 == r.returncode, r.output
        assert ["stored 8 bytes as todo", "memo says: buy milk"] == \
            out[out.index("stored 8 bytes as todo"):][:2]

    def test_run_status(self, nk):
        """A program's exit status (2 for usage here, 1 for an error) becomes the boot's."""
        r = nk("start examples/memo.py; run examples/remember.py")
        assert "usage: remember KEY TEXT..." in lines(r.stdout)
        assert 2 == r.returncode
        r = nk("run examples/remember.py key text")   # memo not started
        assert 1 == r.returncode
        assert any(line.startswith("remember: ") and line.endswith("NoSuchEndpoint")
                   for line in lines(r.stdout)), r.stdout

    def test_run_a_crashing_program(self, nk, tmp_path):
        """An uncaught exception prints the traceback and gives status 1; args reach argv."""
        prog = tmp_path / "boom.py"
        prog.write_text("import sys\nprint('args', sys.argv[1:])\nraise RuntimeError('boom')\n")
        r = nk(f"run {prog} a 'b c'; echo after")
        out = lines(r.stdout)
        assert "args ['a', 'b c']" in out
        assert any("RuntimeError: boom" in line for line in out)
        assert "after" in out
        r = nk(f"run {prog}")
        assert 1 == r.returncode
