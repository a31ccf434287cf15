"""The shell's command language, without booting."""

import pytest

from servers.shell.lexer import ShellSyntaxError, Statement, parse


class TestParse:
    def test_words_and_quotes(self):
        """Single and double quotes make one word; backslash escapes one character."""
        assert [Statement(["echo", "a b", "c'd", "e f", "#x"])] == \
            parse("""echo 'a b' "c'd" e\\ f \\#x""")

    def test_separators_and_comments(self):
        """; and newlines separate statements; # starts a comment at a word's start."""
        assert [["ls"], ["pwd"], ["echo", "a#b"]] == \
            [s.argv for s in parse("ls; pwd # a comment; ls\n;; echo a#b")]

    def test_quoted_operators_are_text(self):
        """A quoted ; or > is part of a word, not an operator."""
        assert [Statement(["echo", "a;b", ">"])] == parse("echo 'a;b' '>'")

    def test_redirections(self):
        """> and >> take the next word as the file."""
        assert [Statement(["echo", "hi"], ">", "/f"), Statement(["ls"], ">>", "g")] == \
            parse("echo hi > /f; ls >>g")

    def test_empty_quoted_word(self):
        """'' is an empty word, not nothing."""
        assert [Statement(["echo", ""])] == parse("echo ''")

    @pytest.mark.parametrize("text", ["echo 'open", 'echo "open', "echo >", "> f",
                                      "ls > a > b", "echo \\"])
    def test_syntax_errors(self, text):
        """Unclosed quotes and dangling redirections are syntax errors."""
        with pytest.raises(ShellSyntaxError):
            parse(text)


class TestPipelinesAndJobs:
    def test_a_pipeline_is_its_first_stage_linking_the_next(self):
        assert [Statement(["cat"], stdin="f", next=Statement(["wc", "-l"], ">", "out"))] == \
            parse("cat < f | wc -l > out")

    def test_background_statements(self):
        assert [Statement(["run", "a.py"], background=True), Statement(["jobs"]),
                Statement(["echo", "x"], next=Statement(["wc"]), background=True)] == \
            parse("run a.py & jobs; echo x|wc &")

    def test_quoted_pipe_and_ampersand_are_text(self):
        assert [Statement(["echo", "a|b", "c&d", "<"])] == parse("echo 'a|b' \"c&d\" '<'")

    @pytest.mark.parametrize("bad", ["| wc", "echo |", "echo | | wc", "ls > f | wc",
                                     "a | b < f", "cat < ", "&", "ls; &"])
    def test_malformed_pipelines_are_syntax_errors(self, bad):
        with pytest.raises(ShellSyntaxError):
            parse(bad)
