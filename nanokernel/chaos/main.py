"""`nanokernel chaos`: a seeded fault-injection campaign with a verdict.

    nanokernel chaos [--faults N] [--seed S] [--targets fs,block,...]
                     [--kinds kill,stop,...] [--json] [--max-seconds T] [--keep DIR]

What it does (MINIX 3's swifi campaigns are the model):
  1. makes a disk image and boots the default servers with the campaign's
     session program (session.py) in place of the shell; the session runs the
     workload (workload.py) and injects N faults (faults.py), seeded by S;
  2. boots again on the same disk to check that every file the workload saw a
     sync return for is there, byte for byte (verify.py);
  3. runs fsck on the image;
  4. reports: faults by type and target, restarts, the errors the workload's
     calls met, failures (kernel down, hangs, innocent servers down, servers
     crashed by bad input, wrong results), bytes verified, synced bytes lost,
     fsck — and exits 1 if anything was lost, wrong or hung, else 0.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import random
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
DEFAULT_TARGETS = ("fs", "block", "naming", "devices", "console", "pipe", "sem", "mq", "net")
WEIGHTS = {"kill": 12, "stop": 3, "corrupt-ring": 4, "garbage": 14, "forged": 10,
           "stray-reply": 10, "flood": 8, "slow-disk": 8, "disk-error": 6, "full-disk": 2}
DISK_SIZE = "64M"
HEARTBEAT_S = 1.0   # init's ping period in the campaign's boot: a hang is seen in ~2 s
BLOCK_HEARTBEAT_S = 3.0   # block's: an fsync of a full 64 MiB image can take a second
SLACK_S = 180   # on top of --max-seconds: the boots' own start, stop and the workload's end


def parse(argv: list[str]) -> argparse.Namespace:
    p = argparse.ArgumentParser(prog="nanokernel chaos", description=__doc__.splitlines()[0])
    p.add_argument("--faults", type=int, default=500, help="faults to inject (default 500)")
    p.add_argument("--seed", type=int, default=None, help="the campaign's seed (default: "
                   "random, printed so a run can be repeated)")
    p.add_argument("--targets", default=",".join(DEFAULT_TARGETS),
                   help=f"servers to aim at, comma-separated (default {','.join(DEFAULT_TARGETS)})")
    p.add_argument("--kinds", default=",".join(WEIGHTS),
                   help="fault types to inject, comma-separated (default: all of "
                        f"{','.join(WEIGHTS)})")
    p.add_argument("--max-seconds", type=float, default=600.0,
                   help="stop injecting after this long, whatever --faults says (default 600)")
    p.add_argument("--json", action="store_true", help="print the report as one JSON object")
    p.add_argument("--keep", metavar="DIR", help="keep the disk, logs and reports in DIR")
    args = p.parse_args(argv)
    targets = [t for t in args.targets.split(",") if t]
    unknown = sorted(set(targets) - set(DEFAULT_TARGETS))
    if unknown or not targets:
        p.error(f"--targets: unknown server(s) {', '.join(unknown) or '(none given)'}; "
                f"choose among {', '.join(DEFAULT_TARGETS)}")
    kinds = [k for k in args.kinds.split(",") if k]
    unknown_kinds = sorted(set(kinds) - set(WEIGHTS))
    if unknown_kinds or not kinds:
        p.error(f"--kinds: unknown fault type(s) {', '.join(unknown_kinds) or '(none given)'}; "
                f"choose among {', '.join(WEIGHTS)}")
    args.kinds = kinds
    if args.faults < 1:
        p.error("--faults must be at least 1")
    args.targets = targets
    if args.seed is None:
        args.seed = random.SystemRandom().randrange(1 << 31)
    return args


def boot_config(session: Path, args: list[str], servers: list[str]) -> str:
    """The default boot.toml with ``session`` in place of the shell, and init's
    heartbeats every HEARTBEAT_S (a stop fault then costs two seconds, not five)."""
    text = (Path(__file__).resolve().parents[2] / "servers" / "boot.toml").read_text()
    text = re.sub(r"(?ms)^\[servers\.shell\].*?(?=^\[)", "", text)
    text = re.sub(r"(?m)^heartbeat\s*=.*$", "", text)   # (the campaign's own, below)
    text = re.sub(r"(?m)^\[restart\].*$", f"[restart]\nheartbeat = {HEARTBEAT_S}", text)
    text = re.sub(r"(?m)^\[servers\.block\].*$",
                  f"[servers.block]\nheartbeat = {BLOCK_HEARTBEAT_S}", text)
    return text + (f'\n[servers.chaos]\npath = "{session}"\nargs = {json.dumps(args)}\n'
                   f'session = true\nprivileged = true\ncalls = ["*"]\n'
                   f"depends = {json.dumps(servers)}\n")


def boot(work: Path, name: str, session: Path, args: list[str], servers: list[str],
         disk: Path, timeout: float, watch=None) -> tuple[int | None, float]:
    """Boot with ``session``; (exit status or None if it had to be killed, seconds)."""
    config = work / f"{name}.toml"
    config.write_text(boot_config(session, args, servers))
    cmd = [sys.executable, "-m", "nanokernel", "boot", "--config", str(config),
           "--disk", str(disk), "--log", str(work / f"{name}.log")]
    t0 = time.monotonic()
    with open(work / f"{name}.stderr", "w") as err:
        proc = subprocess.Popen(cmd, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                                stderr=err, start_new_session=True)
    try:
        while proc.poll() is None:
            if time.monotonic() - t0 > timeout:
                return None, time.monotonic() - t0
            if watch:
                watch()
            time.sleep(0.25)
        return proc.returncode, time.monotonic() - t0
    finally:
        if proc.poll() is None:   # timed out, Ctrl-C, SIGTERM: the whole boot goes
            with contextlib.suppress(ProcessLookupError):
                os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()


def run(argv: list[str]) -> int:
    args = parse(argv)
    if args.keep and Path(args.keep).exists() and any(Path(args.keep).iterdir()):
        print(f"nanokernel chaos: --keep {args.keep}: not empty (a campaign's files would "
              "mix with an older one's)", file=sys.stderr)
        return 2
    work = Path(args.keep).resolve() if args.keep else Path(tempfile.mkdtemp(prefix="nk-chaos-"))
    work.mkdir(parents=True, exist_ok=True)
    # SIGTERM ends the campaign as Ctrl-C does: the boots are killed (boot()'s finally)
    old = signal.signal(signal.SIGTERM, _interrupted)
    from nanokernel.chaos.report import render, verdict
    try:
        report = campaign(args, work)
    except KeyboardInterrupt:
        say(f"nanokernel chaos: interrupted (its files: {work})")
        return 130
    finally:
        signal.signal(signal.SIGTERM, old)
    result = verdict(report)
    if not args.keep and result == "PASS":
        shutil.rmtree(work, ignore_errors=True)
    elif not args.keep:
        say(f"nanokernel chaos: {result}: the logs and reports are kept in {work}")
    print(json.dumps(report) if args.json else render(report))
    return 0 if result == "PASS" else 1


def _interrupted(signum: int, frame: object) -> None:
    raise KeyboardInterrupt


def campaign(args: argparse.Namespace, work: Path) -> dict:
    from servers.fs.fsck import fsck
    from servers.fs.mkfs import mkfs
    disk, outdir = work / "disk.img", work / "out"
    outdir.mkdir(exist_ok=True)
    mkfs(disk, DISK_SIZE, overwrite=True)
    servers = list(DEFAULT_TARGETS)
    plan = {"outdir": str(outdir), "seed": args.seed, "faults": args.faults,
            "targets": args.targets, "servers": servers,
            "weights": {k: w for k, w in WEIGHTS.items() if k in args.kinds},
            "max_seconds": args.max_seconds}
    (work / "plan.json").write_text(json.dumps(plan))
    say(f"nanokernel chaos: seed {args.seed}, {args.faults} faults on "
        f"{', '.join(args.targets)} (work dir {work})")
    result_path = work / "campaign.json"
    status, seconds = boot(work, "campaign", HERE / "session.py",
                           [str(result_path), str(work / "plan.json")], servers, disk,
                           args.max_seconds + SLACK_S, watch=Progress(outdir / "progress.json"))
    say("")
    report: dict = {"seed": args.seed, "faults_asked": args.faults, "boot_status": status,
                    "boot_seconds": round(seconds, 1), "work": str(work)}
    try:
        report.update(json.loads(result_path.read_text()))
    except (OSError, ValueError):
        report["campaign_error"] = ("the campaign left no result (the boot " +
                                    ("hung and was killed" if status is None else
                                     f"ended with status {status}") + ")")
    if status is None:
        report.setdefault("failures", []).append(
            {"what": "hang", "detail": "the campaign's boot did not end in time"})
    elif "campaign_error" in report and status != 0:
        report.setdefault("failures", []).append(
            {"what": "kernel failure", "detail": f"the boot ended with status {status} "
             f"before the campaign did (see {work / 'campaign.log'})"})
    say("nanokernel chaos: checking every synced file after a reboot ...")
    verify_path = work / "verify.json"
    vstatus, _ = boot(work, "verify", HERE / "verify.py",
                      [str(verify_path), str(outdir / "manifest.json")], servers, disk, 300)
    try:
        report["verify"] = json.loads(verify_path.read_text())
    except (OSError, ValueError):
        report["verify"] = {"verify_error": f"the verify boot left no result ({vstatus})"}
    checked = fsck(disk)
    report["fsck"] = {"clean": checked.clean, "problems": checked.problems[:20]}
    return report


class Progress:
    """Shows the session's progress file on stderr while the campaign boots."""

    def __init__(self, path: Path) -> None:
        self.path, self.shown = path, None

    def __call__(self) -> None:
        try:
            data = json.loads(self.path.read_text())
        except (OSError, ValueError):
            return
        line = (f"  {data['faults']}/{data['of']} faults, {data['failures']} failures, "
                f"{data['seconds']:.0f} s")
        if line != self.shown:
            self.shown = line
            end = "\r" if sys.stderr.isatty() else "\n"
            print(line, end=end, file=sys.stderr, flush=True)


def say(text: str) -> None:
    print(text, file=sys.stderr, flush=True)


if __name__ == "__main__":
    sys.exit(run(sys.argv[1:]))
