"""The `nanokernel` command: boot, mkfs, fsck, trace, bench."""

from __future__ import annotations

import argparse
import sys


def _bench(args: argparse.Namespace) -> int:
    from kernel.bench.main import run_benches
    return run_benches(args.names, quick=args.quick, as_json=args.json)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="nanokernel", description=__doc__)
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    bench = sub.add_parser("bench", help="measure workloads next to their peers",
                           description="Run benchmarks; each row is compared with its peers "
                                       "(os.pipe, socketpair, multiprocessing) in the same run.")
    bench.add_argument("names", nargs="*", metavar="NAME", help="benchmarks to run (default: all)")
    bench.add_argument("--quick", action="store_true", help="fewer iterations (for CI)")
    bench.add_argument("--json", action="store_true", help="one JSON object per row")
    bench.set_defaults(func=_bench)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        return args.func(args)
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
