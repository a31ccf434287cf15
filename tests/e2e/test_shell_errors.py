"""Errors: one line "cmd: detail: Code", the shell goes on, the status says it."""

from tests.e2e.conftest import lines


class TestErrors:
    def test_errors_are_one_line_and_the_shell_goes_on(self, nk):
        """Each failing command prints one line naming itself and the code; the next runs."""
        r = nk("cat /nope; nosuchcmd a b; ls /nope; mkdir /etc; rmdir /etc; rm /etc;"
               "cd /etc/motd; call fs stat '{bad'; call fs stat '[1]'; call nosuch op;"
               "call fs nosuchop; call fs stat '{\"path\": 3}'; mv /a /b; stat /nope;"
               "cat /etc; sleep x; kill nosuchproc; start /nonexistent.py; run /nope.py;"
               "trace maybe; ls -z; help nosuch; echo 'unclosed; echo still-here")
        out = lines(r.stdout)
        expected = [
            "cat: /nope: FileNotFound",
            "nosuchcmd: command not found: NoSuchCommand",
            "ls: /nope: FileNotFound",
            "mkdir: /etc: FileExists",
            "rmdir: /etc: DirectoryNotEmpty",
            "rm: /etc: IsADirectory",
            "cd: /etc/motd: NotADirectory",
            "mv: /a: FileNotFound",
            "stat: /nope: FileNotFound",
            "cat: /etc: IsADirectory",
            "sleep: usage: sleep SECONDS: Usage",
            "kill: nosuchproc: NoSuchEndpoint",
            "start: /nonexistent.py: FileNotFound",
            "run: /nope.py: FileNotFound",
            "trace: usage: trace on [FILE] | trace off: Usage",
            "ls: unknown option -z: Usage",
            "help: nosuch: NoSuchCommand",
            "sh: unterminated ' quote: SyntaxError",
        ]
        for line in expected:
            assert line in out, f"{line!r} not in {out}"
        assert any(line.startswith("call: bad JSON: ") and line.endswith(": InvalidArgument")
                   for line in out), out
        assert "call: the arguments must be a JSON object: InvalidArgument" in out
        assert any(line.startswith("call: nosuch.op") and line.endswith(": NoSuchEndpoint")
                   for line in out), out
        assert any(line.startswith("call: fs.nosuchop") and line.endswith(": NoSuchOp")
                   for line in out), out
        assert any(line.startswith("call: fs.stat") and line.endswith(": InvalidArgument")
                   for line in out), out
        assert 2 == r.returncode   # the syntax error was the last statement

    def test_status_of_the_last_command(self, nk):
        """The boot's exit status is the last command's: 0, 1, 127."""
        assert 1 == nk("ls /; cat /nope").returncode
        assert 127 == nk("cat /nope; nosuchcmd").returncode

    def test_status_zero_after_an_earlier_error(self, nk):
        """An error does not stick: a later success makes the status 0."""
        assert 0 == nk("cat /nope; ls /").returncode
