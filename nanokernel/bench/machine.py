"""The machine a bench ran on: printed with every bench, since figures do not carry
from one machine to another (a pipe round trip took 47 µs on one 2-vCPU VM and
13.5 µs on another).

``machine_info()`` is a dict for the JSON rows; ``machine_line(info)`` the header line
of the table.
"""

from __future__ import annotations

import datetime
import os
import platform
from pathlib import Path


def cpu_model(cpuinfo: str | None = None) -> str:
    """The first "model name" of /proc/cpuinfo, else platform.processor(), else "unknown"."""
    if cpuinfo is None:
        try:
            cpuinfo = Path("/proc/cpuinfo").read_text(errors="replace")
        except OSError:
            cpuinfo = ""
    for line in cpuinfo.splitlines():
        key, _, value = line.partition(":")
        if key.strip() == "model name" and value.strip():
            return " ".join(value.split())
    return platform.processor() or platform.machine() or "unknown"


def machine_info() -> dict:
    """CPU model, CPUs (the machine's, and those this process may use), Python, the
    kernel release and today's date."""
    return {
        "cpu_model": cpu_model(),
        "cpu_count": os.cpu_count() or 0,
        "cpus_usable": len(os.sched_getaffinity(0)),
        "python": platform.python_version(),
        "kernel": f"{platform.system()} {platform.release()}",
        "date": datetime.date.today().isoformat(),
    }


def machine_line(info: dict) -> str:
    """One line: "machine: <model>, 2 CPUs (2 usable), Python 3.11.2, Linux 6.1.0, 2026-…"."""
    return (f"machine: {info['cpu_model']}, {info['cpu_count']} CPUs "
            f"({info['cpus_usable']} usable by the bench), Python {info['python']}, "
            f"{info['kernel']}, {info['date']}")
