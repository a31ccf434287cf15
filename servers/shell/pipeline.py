"""Pipelines: `a | b | c`, `< FILE`, each stage its own user process.

The shell makes one pipe (servers/pipe.py) between each pair of stages and
starts every stage with its ends in its environment (NK_STDIN / NK_STDOUT,
read by libipc.program); right after spawning a stage it gives the stage its
ends, so they close when the stage exits — a killed writer gives its reader
end of file, a reader that stops early gives its writer BrokenPipe.  The
pipeline's status is the last stage's.

A stage is `run PROG.py ARGS`, one of the filters of tools.py (cat, wc, grep,
head, tail, sort, uniq, tee, echo), or any other shell command — which runs
in the shell itself and writes its output into the pipe (it reads no input).
"""

from __future__ import annotations

import contextlib
from pathlib import Path

from libipc import IpcError, kernel
from libipc.pipe import PipeEnd, pipe
from servers.shell.core import CommandError, Interpreter
from servers.shell.lexer import Statement
from servers.shell.tools import TOOLS

TOOLS_PY = str(Path(__file__).resolve().parent / "tools.py")
STAGE_ACL = ["@public", "naming"]   # what `run` gives a program


class PipelineCommands(Interpreter):
    def run_pipeline(self, first: Statement) -> int:
        stages = first.stages()
        pipes = [pipe() for _ in stages[1:]]          # pipes[i]: stage i → stage i + 1
        children: dict[int, int] = {}                 # stage index -> endpoint
        mine: list[tuple[int, Statement]] = []        # stages the shell runs itself
        try:
            for i, st in enumerate(stages):
                stdin = pipes[i - 1][0] if i else None
                stdout = pipes[i][1] if i < len(pipes) else None
                argv = self._stage_argv(st)
                if argv is None:
                    mine.append((i, st))
                    continue
                children[i] = self._start_stage(st, argv, stdin, stdout, first.stdin)
                for end in (stdin, stdout):
                    if end is not None:
                        end.token = 0   # given away: this shell must not close it
        except IpcError as exc:
            self._close_all(pipes)
            raise CommandError(f"cannot start the pipeline: {exc.message}", exc.code) from None
        statuses = {i: self._run_in_shell(st, pipes, i) for i, st in mine}
        self._close_all(pipes)   # the shell's own ends: the stages see EOF / BrokenPipe
        by_ep = self._wait_all(set(children.values()))
        statuses.update({i: by_ep[ep] for i, ep in children.items()})
        return statuses[len(stages) - 1]

    def _stage_argv(self, st: Statement) -> list[str] | None:
        name, args = st.argv[0], st.argv[1:]
        if name == "run":
            if not args:
                raise CommandError("run PATH.py [ARGS...]", "Usage", status=2)
            return ["-m", "libipc.program", self._program(args[0]), *args[1:]]
        if name in TOOLS:
            return ["-m", "libipc.program", TOOLS_PY, name, *args]
        if getattr(self, f"do_{name}", None) is None:
            raise CommandError(f"{name}: command not found", "NoSuchCommand", status=127)
        return None

    def _start_stage(self, st: Statement, argv: list[str], stdin: PipeEnd | None,
                     stdout: PipeEnd | None, input_file: str | None) -> int:
        env = {"NK_CWD": self.cwd}
        if stdin is not None:
            env["NK_STDIN"] = str(stdin.token)
        elif input_file is not None:
            env["NK_STDIN_FILE"] = self.path(input_file)
        if stdout is not None:
            env["NK_STDOUT"] = str(stdout.token)
        elif st.redirect is not None:
            env["NK_STDOUT_FILE"] = self.path(st.target)
            env["NK_STDOUT_APPEND"] = "1" if st.redirect == ">>" else "0"
        name = (Path(argv[2]).stem if st.argv[0] == "run" else st.argv[0])[:32] or "stage"
        child = kernel().spawn(argv=argv, name=name, acl=STAGE_ACL, env=env)
        for end in (stdin, stdout):
            if end is not None:
                # (gone already: the pipe server then closed the end for it)
                with contextlib.suppress(IpcError):
                    end.give(child["ep"])
        return child["ep"]

    def _run_in_shell(self, st: Statement, pipes: list, i: int) -> int:
        """A shell command as a stage: its output goes into the pipe after it."""
        if i == len(pipes):   # the last stage: to the console or its file, as ever
            return self.run_statement(st)
        self._out = []
        handler = getattr(self, f"do_{st.argv[0]}")
        status = handler(st.argv[1:]) or 0
        text, self._out = "".join(self._out), []
        with contextlib.suppress(IpcError):   # the next stage stopped reading: SIGPIPE's case
            pipes[i][1].write(text.encode())
        return status

    @staticmethod
    def _close_all(pipes: list) -> None:
        for ends in pipes:
            for end in ends:
                if end.token and not end.closed:
                    with contextlib.suppress(IpcError):
                        end.close()

    def _wait_all(self, endpoints: set[int]) -> dict[int, int]:
        """Every stage's exit status (128 + N for one killed by signal N)."""
        return {ep: self._wait_for(ep) for ep in endpoints}
