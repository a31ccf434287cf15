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

Jobs: a statement ended by `&` is started the same way and not waited for;
it becomes job %N (`jobs`, `wait [%N]`, `kill %N`).  A shell command on its
own with `&` has no process to put in the background: it just runs.
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


class Job:
    __slots__ = ("number", "text", "endpoints", "statuses")

    def __init__(self, number: int, text: str, endpoints: list[int]) -> None:
        self.number, self.text, self.endpoints = number, text, endpoints
        self.statuses: dict[int, int] = {}   # endpoint -> exit status, once known

    @property
    def done(self) -> bool:
        return len(self.statuses) == len(self.endpoints)

    @property
    def status(self) -> int:
        """The last stage's (the job's) status."""
        return self.statuses.get(self.endpoints[-1], 0) if self.endpoints else 0


MAX_JOBS = 64


class PipelineCommands(Interpreter):
    def run_pipeline(self, first: Statement) -> int:
        stages = first.stages()
        argvs = [self._stage_argv(st) for st in stages]   # every stage checked before any runs
        pipes = [pipe() for _ in stages[1:]]          # pipes[i]: stage i → stage i + 1
        children: dict[int, int] = {}                 # stage index -> endpoint
        mine: list[tuple[int, Statement]] = []        # stages the shell runs itself
        with self.starting():   # a Ctrl-C meanwhile is the stages' once they are known
            try:
                for i, (st, argv) in enumerate(zip(stages, argvs, strict=True)):
                    stdin = pipes[i - 1][0] if i else None
                    stdout = pipes[i][1] if i < len(pipes) else None
                    if argv is None:
                        mine.append((i, st))
                        continue
                    children[i] = self._start_stage(st, argv, stdin, stdout, first.stdin)
                    for end in (stdin, stdout):
                        if end is not None:
                            end.token = 0   # given away: this shell must not close it
            except IpcError as exc:
                # The stages already started see end of file or BrokenPipe and end.
                self._close_all(pipes)
                raise CommandError(f"cannot start the pipeline: {exc.message}",
                                   exc.code) from None
            if not first.background:   # Ctrl-C interrupts every stage (the shell's too)
                self.set_foreground(sorted(children.values())
                                    + ([self.endpoint] if mine else []))
                self.forward_interrupt(children.values(), keep=bool(mine))
        try:
            statuses = {i: self._run_in_shell(st, pipes, i) for i, st in mine}
        finally:
            self._close_all(pipes)   # the shell's own ends: the stages see EOF / BrokenPipe
        if first.background and children:
            return self._new_job(stages, [children[i] for i in sorted(children)])
        with self.starting():
            by_ep = self._wait_all(set(children.values()))
        statuses.update({i: by_ep[ep] for i, ep in children.items()})
        return statuses[len(stages) - 1]

    def runs_as_process(self, name: str) -> bool:
        """A filter of tools.py with no shell command of its own (wc, grep, yes, …) runs
        as a one-stage pipeline even alone: its own process, which Ctrl-C can stop."""
        return name in TOOLS and getattr(self, f"do_{name}", None) is None

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
        with self.interruptible_work():
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

    # -- jobs -------------------------------------------------------------------
    @property
    def jobs(self) -> dict[int, Job]:
        return self.__dict__.setdefault("_jobs", {})

    def _new_job(self, stages: list[Statement], endpoints: list[int]) -> int:
        jobs = self.jobs
        if len(jobs) >= MAX_JOBS:
            self._update_jobs()
            for number in [n for n, j in jobs.items() if j.done]:
                del jobs[number]
        number = max(jobs, default=0) + 1
        text = " | ".join(" ".join(st.argv) for st in stages)
        jobs[number] = Job(number, text, endpoints)
        self.print(f"[{number}] {' '.join(map(str, endpoints))}")
        self.flush()
        return 0

    def _update_jobs(self) -> None:
        """Move the exits the kernel reported into the jobs they belong to."""
        exits = self.__dict__.setdefault("_exits", {})
        for record in kernel().wait():
            status = record["status"]
            exits[record["ep"]] = 128 - status if status < 0 else status
        for job in self.jobs.values():
            for ep in job.endpoints:
                if ep in exits:
                    job.statuses[ep] = exits.pop(ep)

    def job(self, spec: str) -> Job:
        """The job ``%N`` names."""
        number = spec[1:]
        if not number.isdigit() or int(number) not in self.jobs:
            raise CommandError(f"{spec}: no such job", "NoSuchJob")
        return self.jobs[int(number)]

    def job_endpoints(self, spec: str) -> list[int]:
        return list(self.job(spec).endpoints)

    def do_jobs(self, args: list[str]) -> int:
        """jobs
        List the background jobs (started with &); finished ones are listed once."""
        self._update_jobs()
        for number, job in sorted(self.jobs.items()):
            state = f"Done {job.status}" if job.done else "Running"
            self.print(f"[{number}] {state:<10} {job.text}")
            if job.done:
                del self.jobs[number]
        return 0

    def do_wait(self, args: list[str]) -> int:
        """wait [%N]
        Wait for job N (every job, without one); its status is the job's."""
        if len(args) > 1:
            raise CommandError("wait [%N]", "Usage", status=2)
        self._update_jobs()
        targets = [self.job(args[0])] if args else list(self.jobs.values())
        status = 0
        for job in targets:
            for ep in job.endpoints:
                if ep not in job.statuses:
                    job.statuses[ep] = self._wait_for(ep)
            status = job.status
            self.jobs.pop(job.number, None)
        return status

    def _wait_all(self, endpoints: set[int]) -> dict[int, int]:
        """Every stage's exit status (128 + N for one killed by signal N); a Ctrl-C that
        reaches the shell meanwhile goes on to them."""
        return {ep: self._wait_for(ep, job=sorted(endpoints)) for ep in endpoints}
