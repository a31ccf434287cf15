"""Shell pipelines over the pipe server: `a | b | c`, `< FILE`, filters that read
stdin, `run PROG.py` as a stage — booted for real, bytes counted and hashed."""

from __future__ import annotations

import hashlib
import random
from pathlib import Path

from tests.e2e.conftest import lines

PROGRAMS = Path(__file__).resolve().parent / "programs"


def expected(n: int, seed: int) -> str:
    rng, h, left = random.Random(seed), hashlib.sha256(), n
    while left > 0:
        k = min(left, 65536)
        h.update(rng.randbytes(k))
        left -= k
    return f"{n} {h.hexdigest()}"


class TestPipelines:
    def test_echo_into_wc_in_every_mode(self, nk):
        r = nk("echo hello | wc -c")
        assert 0 == r.returncode, r.output
        assert "6" in lines(r.stdout)

    def test_megabytes_through_two_programs_exactly(self, boot):
        n, seed = 8 * 1024 * 1024 + 5, 11
        r = boot("-c", f"run {PROGRAMS}/gen.py {n} {seed} | run {PROGRAMS}/sha.py",
                 timeout=120)
        assert 0 == r.returncode, r.output + r.log
        assert expected(n, seed) in lines(r.stdout)

    def test_filters_read_stdin_and_files(self, boot):
        r = boot("-c", "echo b > /home/f; echo a >> /home/f; echo b >> /home/f;"
                       " cat /home/f | sort | uniq | wc -l;"
                       " grep b < /home/f | wc -l;"
                       " cat /home/f | head -n 1; cat /home/f | tail -n 1;"
                       " cat /home/f | tee /home/g | wc -w; cat /home/g | wc -c;"
                       " ls / | grep ho")
        out = lines(r.stdout)
        assert 0 == r.returncode, r.output
        assert ["2", "2", "b", "b", "3", "6", "home"] == out[-7:], out

    def test_yes_into_head_and_filters_alone(self, boot):
        """yes | head ends (yes gets SIGPIPE); a filter alone runs as its own process."""
        r = boot("-c", "yes | head -n 2; yes hi there | head -n 1; echo a b > /x; wc /x; "
                       "grep b /x; grep zz /x", timeout=60)
        out = lines(r.stdout)
        assert out[-5:] == ["y", "y", "hi there", "1 2 4", "a b"], out
        assert 1 == r.returncode   # grep matched nothing: the last status

    def test_status_is_the_last_stages(self, boot):
        r = boot("-c", "echo x | grep nothing")
        assert 1 == r.returncode, r.output
        r = boot("-c", "echo x | grep nothing | wc -l")
        assert 0 == r.returncode, r.output
        assert "0" in lines(r.stdout)

    def test_an_early_reader_exit_ends_the_writer(self, boot):
        """yes | head: head stops reading, yes gets BrokenPipe (SIGPIPE's 141)."""
        r = boot("-c", f"run {PROGRAMS}/yes.py | head -n 3; echo after", timeout=60)
        out = lines(r.stdout)
        assert 0 == r.returncode, r.output
        assert ["y", "y", "y", "after"] == out[-4:], out

    def test_input_and_print_are_the_pipe_ends(self, boot):
        r = boot("-c", f"echo shout | run {PROGRAMS}/upper.py | cat")
        assert "SHOUT" in lines(r.stdout), r.output

    def test_output_of_a_pipeline_into_a_file(self, boot):
        r = boot("-c", "echo one | cat > /home/o; echo two | cat >> /home/o; cat /home/o")
        assert ["one", "two"] == lines(r.stdout)[-2:], r.output

    def test_bad_pipelines_are_clear_errors(self, boot):
        r = boot("-c", "echo x | nosuch; echo x |; echo done")
        out = lines(r.stdout)
        assert any("nosuch: command not found" in line for line in out), out
        assert any("| needs a command on each side" in line for line in out), out


class TestJobs:
    def test_a_background_job_runs_while_the_shell_goes_on(self, boot):
        r = boot("-c", f"run {PROGRAMS}/nap.py 0.5 & echo meanwhile; jobs; wait %1;"
                       " jobs")
        out = lines(r.stdout)
        assert 0 == r.returncode, r.output
        assert out.index("meanwhile") < out.index("woke"), out   # the shell did not wait
        assert any(line.startswith("[1] ") and line[4:].strip().isdigit() for line in out), out
        assert any(line.startswith("[1] Running") and "nap.py 0.5" in line for line in out), out

    def test_a_background_pipeline_and_wait_for_all(self, boot):
        r = boot("-c", f"run {PROGRAMS}/yes.py | head -n 2 & wait; echo done")
        out = lines(r.stdout)
        assert 0 == r.returncode, r.output
        assert ["y", "y", "done"] == out[-3:], out

    def test_kill_a_job(self, boot):
        r = boot("-c", f"run {PROGRAMS}/nap.py 30 & kill %1; jobs; jobs", timeout=30)
        out = lines(r.stdout)
        assert 0 == r.returncode, r.output
        assert sum("Done 137" in line and "nap.py 30" in line for line in out) == 1, out
        assert "woke" not in out

    def test_kill_usr1_reaches_a_programs_handler(self, boot):
        """kill -USR1 %1: the program's libipc.signal handler runs; the job ends 0.
        (The FIFO makes the shell wait until the handler is installed.)"""
        r = boot("-c", f"mkfifo /ready; run {PROGRAMS}/usr1.py /ready & cat /ready; "
                       "kill -USR1 %1; wait %1; echo status 0; kill -l; kill -NOPE %1",
                 timeout=60)
        out = r.output.splitlines()
        assert "ready" in out and "got SIGUSR1" in out, r.output
        assert "status 0" in out
        assert any("10=USR1" in line and "15=TERM" in line for line in out), r.output
        assert "kill: -NOPE: no such signal (kill -l lists them): Usage" in out, r.output

    def test_kill_term_ends_a_program_with_128_plus_15(self, boot):
        r = boot("-c", f"run {PROGRAMS}/nap.py 30 & kill -TERM %1; wait %1", timeout=60)
        assert 128 + 15 == r.returncode, r.output

    def test_no_such_job(self, boot):
        r = boot("-c", "wait %9; kill %3; &")
        out = lines(r.stdout)
        assert any(line.startswith("wait: %9: no such job: NoSuchJob") for line in out), out
        assert any(line.startswith("kill: %3: no such job: NoSuchJob") for line in out), out


def test_libipc_open_reads_and_writes_fs_files(boot):
    r = boot("-c", f"run {PROGRAMS}/openfile.py; cat /home/notes.txt")
    out = lines(r.stdout)
    assert 0 == r.returncode, r.output
    assert ["one+two+", "8", "FileNotFound", "one", "two"] == out[-5:], out


def test_a_stage_that_cannot_start_starts_nothing(boot):
    """A missing program is found before any stage runs (a writer left without its
    reader would wait on a full pipe for ever)."""
    r = boot("-c", f"run {PROGRAMS}/yes.py | run {PROGRAMS}/nosuch.py; echo after", timeout=30)
    out = lines(r.stdout)
    assert any("nosuch.py" in line and line.endswith("FileNotFound") for line in out), out
    assert "after" == out[-1], out
    assert "y" not in out


def test_an_exit_message_goes_to_stderr_not_down_the_pipe(boot):
    """sys.exit("message") prints the message on stderr (the console) and exits 1;
    the next stage reads nothing of it."""
    r = boot("-c", f"run {PROGRAMS}/die.py | wc -c; run {PROGRAMS}/die.py", timeout=60)
    out = lines(r.stdout)
    assert 1 == r.returncode, r.output
    assert "0" in out, out
    assert 2 == sum("die.py: giving up" in line for line in out), out
