"""What /proc says about one boot's processes: which they are, their memory and
their context switches.  Every process a kernel starts carries
``NK_KERNEL_PID=<the kernel's pid>`` in its environment, which is how a boot's
processes are found from outside (benchmarks, the no-orphans test).
"""

from __future__ import annotations

from pathlib import Path


def boot_pids(kernel_pid: int, *, with_kernel: bool = True) -> list[int]:
    """The kernel (optionally) and every live, non-zombie process it started."""
    marker = f"NK_KERNEL_PID={kernel_pid}".encode()
    pids = [kernel_pid] if with_kernel else []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            environ = (entry / "environ").read_bytes()
            state = (entry / "stat").read_text().rsplit(")", 1)[1].split()[0]
        except (OSError, IndexError):
            continue
        if marker in environ.split(b"\0") and state != "Z":
            pids.append(int(entry.name))
    return pids


def status_field(pid: int, field: str) -> int:
    """An integer field of /proc/PID/status (kB for memory fields); 0 when gone."""
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith(field + ":"):
                return int(line.split()[1])
    except (OSError, ValueError, IndexError):
        pass
    return 0


def context_switches(pids: list[int]) -> int:
    """Voluntary plus involuntary context switches of ``pids`` so far."""
    return sum(status_field(pid, "voluntary_ctxt_switches")
               + status_field(pid, "nonvoluntary_ctxt_switches") for pid in pids)


def rss_kb(pid: int) -> int:
    """Resident memory of ``pid`` in KiB."""
    return status_field(pid, "VmRSS")
