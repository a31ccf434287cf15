"""The shell's command language: words, quotes, comments, `;`, pipes and redirections.

A small POSIX-like lexer (what `shlex` does for words, plus the operators
`shlex` cannot tell from quoted text):

    statement := stage ('|' stage)* ['&']       statements are separated by ';', '&' or newlines
    stage     := word* ['<' word] [('>' | '>>') word]
    'text' and "text" quote (no expansion inside either), \\x escapes one character,
    '#' at the start of a word comments out the rest of the line.

`parse("echo 'a;b' > f; ls")` → `[Statement(["echo", "a;b"], ">", "f"), Statement(["ls"])]`.
A pipeline is its first stage, each stage linking the next (``Statement.next``):
`parse("cat < f | wc -l")` → `[Statement(["cat"], stdin="f", next=Statement(["wc", "-l"]))]`.
A statement ended by `&` runs in the background (``Statement.background``).
An unquoted `;`, `&`, `|`, `<`, `>` or `>>` is an operator; quoted, it is text.  A syntax
error (unclosed quote, `>` without a file, `|` without a command) raises
``ShellSyntaxError``.
"""

from __future__ import annotations

from collections.abc import Iterator


class ShellSyntaxError(ValueError):
    """The input is not a well-formed command line."""


class Statement:
    """One command: its words and where its output goes.  (A ``@dataclass`` written
    out: dataclasses, and the inspect it imports, would cost the shell ~10 ms of start-up.)"""

    __match_args__ = ("argv", "redirect", "target", "stdin", "next", "background")

    def __init__(self, argv: list[str] | None = None, redirect: str | None = None,
                 target: str | None = None, stdin: str | None = None,
                 next: Statement | None = None, background: bool = False) -> None:
        self.argv: list[str] = [] if argv is None else argv
        self.redirect = redirect   # ">" (truncate) or ">>" (append)
        self.target = target       # the file after the redirection
        self.stdin = stdin         # the file after "<"
        self.next = next           # the stage this one's output is piped into
        self.background = background   # ended by "&": the shell does not wait for it

    def stages(self) -> list[Statement]:
        """This statement and every stage piped after it."""
        out, st = [], self
        while st is not None:
            out.append(st)
            st = st.next
        return out

    def __repr__(self) -> str:
        extra = "".join(f", {k}={v!r}" for k, v in (("stdin", self.stdin), ("next", self.next),
                                                     ("background", self.background or None))
                        if v is not None)
        return (f"Statement(argv={self.argv!r}, redirect={self.redirect!r}, "
                f"target={self.target!r}{extra})")

    def __eq__(self, other: object) -> bool:
        if other.__class__ is not self.__class__:
            return NotImplemented
        return ((self.argv, self.redirect, self.target, self.stdin, self.next, self.background)
                == (other.argv, other.redirect, other.target, other.stdin, other.next,
                    other.background))

    __hash__ = None   # mutable, compared by value


_OPERATORS = (";", "&", ">", "<", "|", "\n")


def tokens(text: str) -> Iterator[tuple[str, str]]:
    """Split ``text`` into ("word", text) and ("op", ";"|"|"|"<"|">"|">>") tokens, lazily
    (so the statements before a syntax error still run)."""
    out: list[tuple[str, str]] = []
    word: list[str] | None = None   # None: not inside a word
    i, n = 0, len(text)
    while i < n:
        c = text[i]
        if c == "#" and word is None:
            while i < n and text[i] != "\n":
                i += 1
            continue
        if c in " \t\r":
            word = _end(out, word)
        elif c in _OPERATORS:
            word = _end(out, word)
            if c == ">" and i + 1 < n and text[i + 1] == ">":
                out.append(("op", ">>"))
                i += 1
            else:
                out.append(("op", ";" if c == "\n" else c))
            yield from out
            out.clear()
        elif c == "\\":
            if i + 1 >= n:
                raise ShellSyntaxError("a backslash at the end of the line")
            word = (word or []) + [text[i + 1]]
            i += 1
        elif c in "'\"":
            close = text.find(c, i + 1)
            if close < 0:
                raise ShellSyntaxError(f"unterminated {c} quote")
            word = (word or []) + [text[i + 1:close]]
            i = close
        else:
            word = (word or []) + [c]
        i += 1
    _end(out, word)
    yield from out


def _end(out: list[tuple[str, str]], word: list[str] | None) -> None:
    if word is not None:
        out.append(("word", "".join(word)))
    return None


def parse(text: str) -> list[Statement]:
    """The non-empty statements of ``text``, in order."""
    return list(statements(text))


def statements(text: str) -> Iterator[Statement]:
    """The statements of ``text`` one by one; a syntax error raises when reached."""
    first = current = Statement()
    toks = tokens(text)
    for kind, value in toks:
        if kind == "word":
            current.argv.append(value)
        elif value in (";", "&"):
            if value == "&" and not (current.argv or current is not first):
                raise ShellSyntaxError("& needs a command before it")
            if current.argv or current.redirect or current.stdin or current is not first:
                first.background = value == "&"
                yield _check(first)
            first = current = Statement()
        elif value == "|":
            if not current.argv:
                raise ShellSyntaxError("| needs a command on each side")
            if current.redirect is not None:
                raise ShellSyntaxError(f"{current.redirect} before | (output goes to the pipe)")
            current.next = Statement()
            current = current.next
        else:  # <, > or >>
            target = next(toks, ("op", ""))
            if target[0] != "word":
                raise ShellSyntaxError(f"{value} needs a file name")
            if value == "<":
                if current.stdin is not None or current is not first:
                    raise ShellSyntaxError("< only once, on the first command of a pipeline")
                current.stdin = target[1]
                continue
            if current.redirect is not None:
                raise ShellSyntaxError("only one redirection per command")
            current.redirect, current.target = value, target[1]
    if current.argv or current.redirect or current.stdin or current is not first:
        yield _check(first)


def _check(statement: Statement) -> Statement:
    for stage in statement.stages():
        if not stage.argv:
            raise ShellSyntaxError("| needs a command on each side" if statement.next
                                   else "a redirection without a command")
    return statement
