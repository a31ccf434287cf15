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
    kernel release, today's date, and the load average when the bench started (other
    work on a small machine moves the figures)."""
    return {
        "cpu_model": cpu_model(),
        "cpu_count": os.cpu_count() or 0,
        "cpus_usable": len(os.sched_getaffinity(0)),
        "python": platform.python_version(),
        "kernel": f"{platform.system()} {platform.release()}",
        "date": datetime.date.today().isoformat(),
        "loadavg": [round(x, 2) for x in os.getloadavg()],
    }


def machine_line(info: dict) -> str:
    """One line: "machine: <model>, 2 CPUs (2 usable by the bench), Python 3.11.2, Linux
    6.1.0, 2026-…, load 0.12 0.30 0.25 at the start"."""
    load = " ".join(f"{x:.2f}" for x in info.get("loadavg", ()))
    return (f"machine: {info['cpu_model']}, {info['cpu_count']} CPUs "
            f"({info['cpus_usable']} usable by the bench), Python {info['python']}, "
            f"{info['kernel']}, {info['date']}" + (f", load {load} at the start" if load else ""))
