"""Booting: open the per-boot log, start the kernel, start init, run until halt.

The kernel process is the host process the user started (``nanokernel boot``).
It starts exactly one user process, init, and hands it the boot options
through the environment (``NK_CONFIG``, ``NK_DISK``, ``NK_COMMANDS``, …);
everything else — which servers, in which order, with what rights — is
init's business, read from the boot configuration.

The kernel knows no server by name and no front-end layout: whoever boots it
says which program init is and where the log goes (``BootOptions.init_argv``,
``BootOptions.log_path``) — the ``nanokernel`` command (nanokernel/cli.py)
names ``servers.init`` and a log in the user's state directory.
"""

from __future__ import annotations

import os
import signal
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

from libipc._nkffi import lib

from kernel import recording
from kernel.endpoint import INIT_SLOT, KERNEL
from kernel.kernel import DEFAULT_MAX_CALLS, DEFAULT_MAX_MESSAGE, Kernel
from kernel.ordering import Replay, Seeded
from kernel.recording import Recorder
from libipc import ordered
from libipc.process import configure_logging


@dataclass
class BootOptions:
    init_argv: list[str]        # init's argv after the interpreter: ["-m", MODULE] or [FILE.py]
    log_path: Path              # the per-boot log (appended to; its directory is made)
    trace_path: Path | None = None
    env: dict[str, str] = field(default_factory=dict)   # boot options for init
    max_message: int = DEFAULT_MAX_MESSAGE
    max_calls: int = DEFAULT_MAX_CALLS
    interactive: bool = False   # stdin is a TTY: Ctrl-C belongs to the console
    # The forward path in C (the default) or every message through kernel/router.py
    # (NK_ROUTER=python: the reference path, which the router tests run too).
    c_path: bool = field(default_factory=lambda: os.environ.get("NK_ROUTER") != "python")
    # Reproducible delivery (kernel/ordering.py, docs/labs.md): a seed, a recording to
    # replay, a file to record the delivery order into.
    seed: int | None = None
    replay: Path | None = None
    record: Path | None = None


def run(options: BootOptions) -> int:
    """Boot, run until halt, return the exit status (the last command's, or 128+signal)."""
    _raise_descriptor_limit()
    log_path = options.log_path
    log_path.parent.mkdir(parents=True, exist_ok=True)
    log_file = open(log_path, "a", buffering=1)  # noqa: SIM115 (kept for the whole boot)
    # The kernel binds nothing globally: servers hosted in it log as themselves.
    configure_logging("kernel", log_file, bind=False)
    order = _order(options)
    recorder = Recorder(options.record, options.seed) if options.record else None
    kernel = Kernel(log_fd=log_file.fileno(), log_path=log_path,
                    trace_path=options.trace_path, max_message=options.max_message,
                    max_calls=options.max_calls, c_path=options.c_path, order=order,
                    recorder=recorder)
    if options.trace_path is not None:
        kernel.tracer.turn(True)
    old = _install_signals(kernel, options.interactive)
    env = dict(options.env)
    env.update({"NK_LOG": str(log_path), "NK_BOOT_T0": repr(time.time())})
    if options.trace_path is not None:
        env["NK_TRACE"] = str(options.trace_path)
    if order is not None or recorder is not None:   # the servers give up host-speed timers
        env.update({ordered.ENV: "1", ordered.SEED_ENV: str(options.seed or 0)})
    os.environ.update(env)   # every process of this boot sees the boot options
    try:
        kernel.spawn(options.init_argv, name="init", parent=KERNEL, privileged=True,
                     acl=["*"], slot=INIT_SLOT)
        return kernel.run()
    finally:
        kernel.close()
        _restore_signals(old)
        log_file.close()


def _order(options: BootOptions) -> Seeded | Replay | None:
    """The delivery order asked for: None for the usual one (as fast as it comes)."""
    if options.replay is not None:
        return Replay(recording.load(options.replay), str(options.replay))
    if options.seed is not None:
        return Seeded(options.seed)
    return None


def _raise_descriptor_limit() -> None:
    """The soft RLIMIT_NOFILE up to the hard one: the kernel keeps every channel's and
    every shared-memory region's memfd (a pipe's, a connection's two rings), some
    thousands at most, and a soft limit of 1024 would end pipes and sockets early."""
    import contextlib
    import resource
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    target = 1 << 20 if hard == resource.RLIM_INFINITY else hard
    if soft != resource.RLIM_INFINITY and soft < target:
        with contextlib.suppress(ValueError, OSError):   # else as it was: the kernel's
            resource.setrlimit(resource.RLIMIT_NOFILE, (target, hard))   # limits come sooner


def _install_signals(kernel: Kernel, interactive: bool) -> dict[int, object]:
    """SIGTERM and SIGHUP (and SIGINT when not interactive) halt cleanly.

    They are caught in C (csrc/nk_signal.c) and ring the kernel's doorbell, so
    the kernel wakes even when the signal lands while its wait is spinning;
    the loop collects them with nk_signals_take()."""
    wanted = [signal.SIGTERM, signal.SIGHUP]
    if not interactive:
        wanted.append(signal.SIGINT)
    old = {s: signal.getsignal(s) for s in wanted}
    for signum in wanted:
        lib.nk_signal_ring(signum, kernel.bell)
    if interactive:   # Ctrl-C belongs to the console (it cancels the line)
        old[signal.SIGINT] = signal.signal(signal.SIGINT, signal.SIG_IGN)
    return old


def _restore_signals(old: dict[int, object]) -> None:
    for signum, handler in old.items():
        signal.signal(signum, handler)


def main(argv: list[str] | None = None) -> int:
    """``python -m kernel.boot [--log FILE] PROGRAM.py [ARGS]``: boot with your own init.

    For teaching and tests: PROGRAM (a file, or ``-m MODULE``) is init.  The
    boot's log goes to FILE; without ``--log``, to a fresh file in the temporary
    directory (``$TMPDIR/nk-boot-STAMP-PID.log``), whose path the kernel prints
    if it halts on a panic.  (The user's log directory is the front end's
    business: ``nanokernel boot``.)"""
    argv = sys.argv[1:] if argv is None else argv
    log_path: Path | None = None
    if argv[:1] == ["--log"] and len(argv) >= 2:
        log_path, argv = Path(argv[1]).resolve(), argv[2:]
    if not argv or argv[0].startswith("--"):
        print("usage: python -m kernel.boot [--log FILE] INIT_PROGRAM.py [ARGS]",
              file=sys.stderr)
        return 2
    if log_path is None:
        import tempfile  # here: `nanokernel boot`, which names its log, need not load it
        stamp = time.strftime("%Y%m%d-%H%M%S")
        log_path = Path(tempfile.gettempdir()) / f"nk-boot-{stamp}-{os.getpid()}.log"
    return run(BootOptions(init_argv=argv, log_path=log_path))


if __name__ == "__main__":
    sys.exit(main())
