"""Programs written from the docs alone (docs/ipc.md, docs/shell.md), one per IPC
mechanism, run the way the docs say a user runs programs: a boot of the whole
system whose shell reads the commands from stdin (`run PROG.py &`, `wait`,
`kill -USR1 %1`, `mkfifo`, `start`). The programs are tests/ipc/programs/docs_*.py and,
for three that became demos, examples/watchdog.py, shm_ring.py and mmap_count.py.

One boot runs every section (each ends with `wait`, so they run one after the
other); each test checks its programs' lines. Nothing here sleeps and hopes: a
program that must be ready before the shell goes on says so through a FIFO the
shell `cat`s (an open waits for the other side), and programs that meet each
other do so through semaphores, queues or a listener, each with a deadline.
"""

from __future__ import annotations

import re

import pytest

from tests.conftest import isolated_env, run_boot
from tests.e2e.conftest import REPO
from tests.ipc.conftest import PROGRAMS

pytestmark = pytest.mark.timeout(90)


def prog(name: str) -> str:
    return str(PROGRAMS / f"docs_{name}.py")


def example(name: str) -> str:
    """The demos in examples/ that began as programs of this test (one copy, not two)."""
    return str(REPO / "examples" / f"{name}.py")


SECTIONS = {
    "pipe": f"""
run {prog('pipe_token')} reader &
run {prog('pipe_token')} writer 1000000
wait
""",
    "fifo": f"""
mkfifo /home/log
run {prog('fifo_logger')} /home/log /home/log.txt &
run {prog('fifo_logger')} /home/log - alice 3
run {prog('fifo_logger')} /home/log - bob 2
echo quit > /home/log
wait
cat /home/log.txt
""",
    "signals": f"""
run {example('watchdog')}
mkfifo /home/ready
run {example('watchdog')} waiter /home/ready &
cat /home/ready
kill -USR1 %1
cat /home/ready
kill -USR1 %1
cat /home/ready
kill -TERM %1
wait
""",
    "shm": f"""
start {example('shm_ring')}
run {example('shm_ring')} consumer &
run {example('shm_ring')} producer 500
wait
""",
    "mmap": f"""
run {example('mmap_count')} init /home/counter
run {example('mmap_count')} add /home/counter 300 &
run {example('mmap_count')} add /home/counter 300 &
wait
run {example('mmap_count')} show /home/counter
""",
    "mq": f"""
run {prog('mq_jobs')} worker A &
run {prog('mq_jobs')} worker B &
run {prog('mq_jobs')} worker C &
run {prog('mq_jobs')} boss
wait
""",
    "chat": f"""
run {prog('chat')} server &
run {prog('chat')} alice "hi bob" "how are you" &
run {prog('chat')} bob "hello alice"
wait
""",
}


@pytest.fixture(scope="module")
def lines(tmp_path_factory) -> list[str]:
    """Every line the boot printed, the prompts taken out."""
    tmp = tmp_path_factory.mktemp("from_docs")
    script = "".join(SECTIONS.values())
    result = run_boot(tmp, isolated_env(tmp / "nkhome"), stdin=script, timeout=75)
    text = result.stdout.replace("nk:/$ ", "")
    assert result.returncode == 0, f"{result.output}\n{result.log[-4000:]}"
    assert "Traceback" not in result.output, result.output
    return [line for line in text.splitlines() if line.strip()]


def starting(lines: list[str], prefix: str) -> list[str]:
    return [line for line in lines if line.startswith(prefix)]


def test_a_pipe_end_handed_to_another_program_by_its_token(lines):
    writer, = starting(lines, "writer:")
    reader, = starting(lines, "reader:")
    assert writer.startswith("writer: 1000000 bytes")
    assert reader.replace("reader", "writer") == writer     # every byte, in order


def test_a_fifo_logger_gets_every_writer_line_whole(lines):
    assert starting(lines, "alice: wrote") == ["alice: wrote 3 lines"]
    assert starting(lines, "bob: wrote") == ["bob: wrote 2 lines"]
    logger, = starting(lines, "logger:")
    assert re.fullmatch(r"logger: 5 lines, [123] opens", logger)
    logged = [line.strip() for line in lines if re.match(r"\s+\d+ \w+ says", line)]
    assert logged == ["1 alice says 0", "2 alice says 1", "3 alice says 2",
                      "4 bob says 0", "5 bob says 1"]


def test_an_alarm_interrupts_a_read_and_a_loop_and_can_be_cancelled(lines):
    assert starting(lines, "read:") == ["read: Interrupted by ['SIGALRM'] after True"]
    assert starting(lines, "loop:") == ["loop: stopped by the alarm after True"]
    assert starting(lines, "cancelled:") == ["cancelled: pause says False, fired []"]


def test_the_shell_signals_a_program_that_catches(lines):
    assert starting(lines, "waiter:") == ["waiter: ready", "waiter: USR1 #1",
                                          "waiter: USR1 #2", "waiter: TERM after 2 USR1"]


def test_a_bounded_buffer_in_granted_memory_with_two_semaphores(lines):
    assert starting(lines, "started shm_ring")
    assert starting(lines, "producer:") == ["producer: 500 items, sum 125250"]
    assert starting(lines, "consumer:") == ["consumer: 500 items, sum 125250"]


def test_two_processes_count_in_one_mapped_file(lines):
    assert starting(lines, "add:") == ["add: 300 done", "add: 300 done"]
    assert starting(lines, "show:") == ["show: 600"]


def test_a_priority_job_queue_with_three_workers_and_notify(lines):
    assert starting(lines, "jobs:") == ["jobs: low2@1 low@1 mid2@5 mid@5 urgent2@9 urgent@9"]
    assert starting(lines, "workers:") == [
        "workers: 6 jobs done, each worker's highest priority first: True"]


def test_a_chat_server_relays_between_two_clients(lines):
    assert starting(lines, "server:") == ["server: listening", "server: relayed 3 lines"]
    assert sorted(starting(lines, "alice heard")) == ["alice heard bob: hello alice"]
    assert starting(lines, "bob heard") == ["bob heard alice: hi bob",
                                            "bob heard alice: how are you"]


# The demos in examples/ made from these programs, run by the lines docs/ipc.md gives.
EXAMPLES = """
run examples/watchdog.py
mkfifo /home/ready
run examples/watchdog.py waiter /home/ready &
cat /home/ready
kill -USR1 %1
cat /home/ready
kill -TERM %1
wait
start examples/shm_ring.py
run examples/shm_ring.py consumer &
run examples/shm_ring.py producer 500
wait
run examples/mmap_count.py init /home/counter
run examples/mmap_count.py add /home/counter 300 &
run examples/mmap_count.py add /home/counter 300 &
wait
run examples/mmap_count.py show /home/counter
"""


def test_the_examples_run_as_docs_ipc_md_shows(boot, monkeypatch):
    monkeypatch.chdir(REPO)            # run's paths are the host's, from where you booted
    result = boot(stdin=EXAMPLES, timeout=75)
    assert result.returncode == 0, f"{result.output}\n{result.log[-4000:]}"
    out = [line for line in result.stdout.replace("nk:/$ ", "").splitlines() if line.strip()]
    assert "Traceback" not in result.output, result.output
    shown = [line for line in out if line.startswith(("read:", "loop:", "cancelled:", "waiter:",
                                                      "producer:", "consumer:", "add:",
                                                      "show:", "init:"))]
    # the producer and the consumer run at once: which of them prints first is timing
    pair = slice(6, 8)
    shown[pair] = sorted(shown[pair], reverse=True)
    assert shown == [
        "read: Interrupted by ['SIGALRM'] after True",
        "loop: stopped by the alarm after True",
        "cancelled: pause says False, fired []",
        "waiter: ready", "waiter: USR1 #1", "waiter: TERM after 1 USR1",
        "producer: 500 items, sum 125250", "consumer: 500 items, sum 125250",
        "init: 0", "add: 300 done", "add: 300 done", "show: 600"]
