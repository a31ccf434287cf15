"""An idle booted system sleeps: under 1% CPU over a few seconds."""

from __future__ import annotations

import os
import signal
import subprocess
import time
from pathlib import Path

from tests.conftest import NANOKERNEL, pids_of_boot, wait_until
from tests.servers.conftest import write_config

MEASURE_S = 5.0   # CPU time comes in 10 ms ticks: 1% of 2.5 s was 2.5 of them


def cpu_seconds(pids: list[int]) -> float:
    """utime + stime of ``pids`` (those still alive), in seconds."""
    ticks = 0
    for pid in pids:
        try:
            fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        ticks += int(fields[11]) + int(fields[12])   # utime, stime (fields 14, 15)
    return ticks / os.sysconf("SC_CLK_TCK")


class TestIdle:
    def test_idle_system_uses_under_one_percent_cpu(self, tmp_path, nk_env):
        """Kernel, init and every server together: < 1% of one CPU while nothing happens."""
        config = write_config(tmp_path, "idle")
        ready = Path(f"{tmp_path / 'idle.json'}.ready")
        proc = subprocess.Popen([*NANOKERNEL, "boot", "--ramdisk", "--config", str(config),
                                 "--log", str(tmp_path / "boot.log")], env=nk_env, text=True,
                                stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                                stderr=subprocess.PIPE)
        try:
            wait_until(ready.exists, 20, what="the idle session to be ready")
            pids = [proc.pid, *pids_of_boot(proc.pid)]
            assert 7 == len(pids)   # kernel, init, naming, console, devices, echo, session
            time.sleep(0.3)         # let the last start-up work (logging, replies) finish
            before, t0 = cpu_seconds(pids), time.monotonic()
            time.sleep(MEASURE_S)   # the measurement window itself
            used, elapsed = cpu_seconds(pids) - before, time.monotonic() - t0
        finally:
            proc.send_signal(signal.SIGTERM)
            out, err = proc.communicate(timeout=20)
        wait_until(lambda: not pids_of_boot(proc.pid), 5, what="no orphan processes")
        assert used / elapsed < 0.01, f"{used:.3f} s CPU in {elapsed:.2f} s"
        assert 128 + signal.SIGTERM == proc.returncode, out + err
