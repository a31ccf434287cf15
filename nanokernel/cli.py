"""The `nanokernel` command: boot, mkfs, fsck, trace, bench, chaos, keys, lab, grade, log, mount.

Each subcommand is a thin wrapper: it parses its options and calls the module
that does the work (kernel.boot, servers.fs.mkfs/fsck, nanokernel.trace_render,
nanokernel.bench).  Those modules are imported only when their command runs, so
``nanokernel --help`` and a broken benchmark never slow or break the others.
``boot`` is where the system is put together: the boot configuration is checked
before anything is made, and the kernel is told which program is init
(``servers.init``) and where the boot's log goes — the kernel names no server.
``mkfs``, ``fsck`` and ``trace`` parse their own options (and ``--help``).
"""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

from nanokernel.labs.cli import add_lab_commands
from nanokernel.logview import add_log_command
from nanokernel.mount import add_mount_command  # (stdlib only: pyfuse3 loads in its session)

INIT_ARGV = ["-m", "servers.init"]   # the first user process; it starts all the others


def _boot(args: argparse.Namespace) -> int:
    from kernel.boot import BootOptions, run
    from libipc.errors import IpcError
    from nanokernel.disk import disk_env
    from nanokernel.paths import default_log_path
    from servers.bootconfig import BootConfigError, default_path, load

    try:
        lab = _lab(args)
    except ValueError as exc:
        print(f"nanokernel boot: {exc}", file=sys.stderr)
        return 2
    if args.config is None and lab is not None and (lab / "boot.toml").is_file():
        args.config = str(lab / "boot.toml")   # the working copy's own configuration
    config_file = Path(args.config).resolve() if args.config else default_path()
    try:   # check the configuration before anything is made or spawned
        config = load(config_file)
        env = disk_env(args.disk, args.ramdisk)
    except (BootConfigError, IpcError) as exc:
        print(f"nanokernel boot: {exc}", file=sys.stderr)
        return 2
    if args.config is not None:
        env["NK_CONFIG"] = str(config_file)
    try:
        env.update(_node_env(args))
    except ValueError as exc:
        print(f"nanokernel boot: {exc}", file=sys.stderr)
        return 2
    if args.c is not None:
        env["NK_COMMANDS"] = args.c
    interactive = args.c is None and sys.stdin.isatty()
    env["NK_INTERACTIVE"] = "1" if interactive else "0"
    env["NK_MODE"] = args.mode
    trace = Path(args.trace).resolve() if args.trace else None
    log = Path(args.log).resolve() if args.log else default_log_path()
    limits = {k: v for k, v in config.limits.items() if k in ("max_message", "max_calls")}
    try:
        order = _order_options(args)
    except ValueError as exc:
        print(f"nanokernel boot: {exc}", file=sys.stderr)
        return 2
    except IpcError as exc:   # a bad recording: its message names the file
        print(f"nanokernel boot: {exc.message}", file=sys.stderr)
        return 2
    return run(BootOptions(init_argv=list(INIT_ARGV), log_path=log, trace_path=trace, env=env,
                           interactive=interactive, **limits, **order))


def _order_options(args: argparse.Namespace) -> dict:
    """--seed/--record/--replay, checked (a recording is read now: a bad one is one line
    before anything boots)."""
    if args.seed is None and args.record is None and args.replay is None:
        return {}
    if args.mode != "process":
        raise ValueError(f"--seed, --record and --replay need the microkernel mode, not "
                         f"--{args.mode}: servers in the kernel call each other directly, "
                         f"not by messages the kernel could order")
    if args.seed is not None and args.replay is not None:
        raise ValueError("--seed and --replay: a replay's order is the recording's")
    from kernel import recording

    replay = Path(args.replay).resolve() if args.replay else None
    if replay is not None:
        recording.load(replay)
    record = Path(args.record).resolve() if args.record else None
    if record is not None and replay == record:
        raise ValueError("--record and --replay name the same file")
    return {"seed": args.seed, "replay": replay, "record": record}


def _lab(args: argparse.Namespace) -> Path | None:
    """``--lab DIR``: the working copy, with this process re-executed first so that its
    files are in front of the package's from the first import on (nanokernel/overlay)."""
    if args.lab is None:
        return None
    from nanokernel import overlay

    lab = overlay.check(args.lab)
    if not overlay.installed_for(lab):
        overlay.reexec_with(lab, args.argv)
    return lab


def _node_env(args: argparse.Namespace) -> dict[str, str]:
    """NK_NODE/NK_LISTEN/NK_PEERS/NK_KEYS for the bridge (servers/bridge/nodeconf.py),
    each flag checked first: ValueError with the one line to show."""
    if args.node is None:
        if args.listen or args.peer or args.keys:
            raise ValueError("--listen, --peer and --keys need --node NAME")
        return {}
    from servers.bridge.nodeconf import NodeConfError, check_flags, parse_peers
    keys = str(Path(args.keys).resolve()) if args.keys else None
    try:
        peers = parse_peers(",".join(args.peer or []))
        check_flags(args.node, args.listen, peers, keys)
    except NodeConfError as exc:
        raise ValueError(str(exc)) from None
    env = {"NK_NODE": args.node, "NK_PEERS": ",".join(f"{n}={a}" for n, a in peers.items())}
    if args.listen:
        env["NK_LISTEN"] = args.listen
    if keys:
        env["NK_KEYS"] = keys
    return env


def _keys(args: argparse.Namespace) -> int:
    from servers.bridge.keys import KeyFileError, make_keys
    try:
        written = make_keys(args.dir, args.names, force=args.force)
    except KeyFileError as exc:
        print(f"nanokernel keys: {exc}", file=sys.stderr)
        return 2
    for path in written:
        print(path)
    return 0


def _mkfs(args: argparse.Namespace) -> int:
    from servers.fs.mkfs import main
    return main(args.rest)


def _fsck(args: argparse.Namespace) -> int:
    from servers.fs.fsck import main
    return main(args.rest)


def _trace(args: argparse.Namespace) -> int:
    from nanokernel.trace_render import main
    return main(args.rest)


def _chaos(args: argparse.Namespace) -> int:
    from nanokernel.chaos.main import run
    return run(args.rest)


def _bench(args: argparse.Namespace) -> int:
    if args.plot or args.from_file:   # a chart of the rows, or a saved run's rows
        from nanokernel.bench.plot import bench_command
        return bench_command(args.names, quick=args.quick, as_json=args.json,
                             plot=args.plot, from_file=args.from_file)
    from nanokernel.bench.main import run_benches
    return run_benches(args.names, quick=args.quick, as_json=args.json)


def _add_boot(sub: argparse._SubParsersAction) -> None:
    boot = sub.add_parser("boot", help="boot the system to its shell",
                          description="Boot nanokernel: the kernel starts init, init starts "
                                      "the servers of the boot configuration and the shell.")
    disk = boot.add_mutually_exclusive_group()
    disk.add_argument("--disk", metavar="PATH", help="disk image to use (default: your "
                      "persistent image in $XDG_DATA_HOME/nanokernel/disk.img); "
                      "one boot or mount at a time")
    disk.add_argument("--ramdisk", action="store_true", help="a throwaway in-memory disk")
    boot.add_argument("--config", metavar="FILE", help="boot configuration (boot.toml)")
    boot.add_argument("--lab", metavar="DIR", help="boot a lab's working copy: DIR's files in "
                      "front of the package's, DIR/boot.toml as the configuration "
                      "(docs/labs.md)")
    boot.add_argument("--trace", metavar="FILE", help="trace every message to FILE (JSON lines)")
    boot.add_argument("--log", metavar="FILE", help="per-boot log file (default: in "
                      "$XDG_STATE_HOME/nanokernel/logs)")
    mode = boot.add_mutually_exclusive_group()
    mode.add_argument("--monolithic", dest="mode", action="store_const", const="monolithic",
                      help="host every server inside the kernel process")
    mode.add_argument("--hybrid", dest="mode", action="store_const", const="hybrid",
                      help="host fs and block inside the kernel process")
    boot.set_defaults(mode="process")
    order = boot.add_argument_group("reproducible runs (docs/labs.md)")
    order.add_argument("--seed", metavar="N", type=int,
                       help="deliver messages one at a time, in an order chosen by seed N "
                            "(the same seed and commands give the same order)")
    order.add_argument("--record", metavar="FILE",
                       help="keep this run's delivery order in FILE")
    order.add_argument("--replay", metavar="FILE",
                       help="deliver in the order recorded in FILE (and say where this "
                            "run diverges from it)")
    boot.add_argument("-c", metavar="COMMANDS", help='run "cmd; cmd" in the shell, then halt')
    net = boot.add_argument_group("network (docs/network.md)")
    net.add_argument("--node", metavar="NAME", help="boot as node NAME: start the bridge, "
                     "which links this system to its peers")
    net.add_argument("--listen", metavar="tcp://HOST:PORT",
                     help="where peers reach this node (beyond loopback only with --keys)")
    net.add_argument("--peer", metavar="NAME=tcp://HOST:PORT", action="append",
                     help="a node to link to (repeat for more)")
    net.add_argument("--keys", metavar="DIR", help="CURVE keys: DIR/NAME.key is this node's, "
                     "each DIR/*.pub a node it trusts (make them with `nanokernel keys`)")
    boot.set_defaults(func=_boot)


def _add_keys(sub: argparse._SubParsersAction) -> None:
    keys = sub.add_parser("keys", help="make CURVE key pairs for nodes: keys DIR NAME...",
                          description="Make a CURVE key pair per node: DIR/NAME.key (secret, "
                                      "mode 0600) and DIR/NAME.pub.  A node booted with "
                                      "--keys DIR uses its own and trusts every *.pub there.")
    keys.add_argument("dir", metavar="DIR")
    keys.add_argument("names", nargs="+", metavar="NAME")
    keys.add_argument("--force", action="store_true", help="replace existing keys")
    keys.set_defaults(func=_keys)


def _add_passthrough(sub: argparse._SubParsersAction, name: str, usage: str, func) -> None:
    p = sub.add_parser(name, help=usage, add_help=False)
    p.add_argument("rest", nargs=argparse.REMAINDER)
    p.set_defaults(func=func)


def build_parser(command: str | None = None) -> argparse.ArgumentParser:
    """The parser; the bench names are looked up only when ``command`` is "bench" (or
    unknown): importing the bench package costs every boot ~20 ms otherwise."""
    parser = argparse.ArgumentParser(prog="nanokernel",
                                     description=__doc__.splitlines()[0])
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    _add_boot(sub)
    _add_keys(sub)
    add_lab_commands(sub)
    add_log_command(sub)
    add_mount_command(sub)
    _add_passthrough(sub, "mkfs", "create a disk image: mkfs PATH [--size 32M]", _mkfs)
    _add_passthrough(sub, "fsck", "check a disk image: fsck PATH", _fsck)
    _add_passthrough(sub, "trace", "render a trace: trace FILE [--format text|mermaid|svg]", _trace)
    _add_passthrough(sub, "chaos", "a fault-injection campaign: chaos [--faults N] [--seed S]",
                     _chaos)
    bench = sub.add_parser("bench", help="measure workloads next to their peers",
                           description="Run benchmarks; each row is compared with its peers "
                                       "(os.pipe, socketpair, multiprocessing) in the same run.")
    names = "see nanokernel bench --help"
    if command in (None, "bench"):
        from nanokernel.bench.main import BENCHES  # names only: the modules load when run
        names = ", ".join(BENCHES)
    bench.add_argument("names", nargs="*", metavar="NAME",
                       help=f"benchmarks to run: {names} (default: all)")
    bench.add_argument("--quick", action="store_true", help="fewer iterations (for CI)")
    bench.add_argument("--json", action="store_true", help="one JSON object per row")
    bench.add_argument("--plot", metavar="FILE.svg|png", help="also draw each bench's ratios "
                       "to its peers into FILE (needs matplotlib: the plot extra)")
    bench.add_argument("--from", dest="from_file", metavar="FILE.jsonl", help="run nothing: "
                       "take the rows of a saved --json run (- for stdin)")
    bench.set_defaults(func=_bench)
    return parser


PASSTHROUGH = {"mkfs": _mkfs, "fsck": _fsck, "trace": _trace, "chaos": _chaos}


def main(argv: list[str] | None = None) -> int:
    try:
        return _main(sys.argv[1:] if argv is None else argv)
    except BrokenPipeError:   # `nanokernel trace t.jsonl | head`: stop quietly
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 1


def _main(argv: list[str]) -> int:
    if argv and argv[0] in PASSTHROUGH:   # these parse their own options (and --help)
        return PASSTHROUGH[argv[0]](argparse.Namespace(rest=argv[1:]))
    args = build_parser(argv[0] if argv else None).parse_args(argv)
    args.argv = argv   # boot --lab runs itself again with them
    try:
        return args.func(args)
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
