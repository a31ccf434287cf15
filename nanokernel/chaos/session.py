"""The campaign inside the boot: ``session.py OUT.json PLAN.json`` (a session program).

It starts the workload (workload.py: files, pipes, semmq), then injects the plan's
faults one after another (faults.py), seeded, each on a server chosen among the
targets, and watches what follows:

  - after a fault that takes its target down (kill, stop, corrupt-ring) it waits
    for the target to be back — a new process of that name running — within
    RECOVERY_S (STOP_HOLD_S for a stop: init's heartbeats must notice);
  - after any fault, a server whose process changed that was not the target of
    a fault that takes one down is a failure: an **innocent server down** (or,
    for the target of garbage, floods and forged messages, a server **crashed by
    bad input**);
  - a stopped server that nothing restarts within STOP_HOLD_S is a **hang not
    noticed** (it is continued, to go on);
  - a workload whose progress file has not moved for HANG_S is a **hang**;
  - the kernel not answering is a **kernel failure** (the campaign ends);
  - once the faults stop, a workload that does not finish a few more checked
    rounds within AFTER_S is **not working after the faults**.

At the end it stops the workload (OUTDIR/stop), collects its reports and writes
OUT.json; its exit halts the system.  Progress goes to OUTDIR/progress.json for
the host's `nanokernel chaos` to show.
"""

from __future__ import annotations

import contextlib
import json
import os
import random
import signal
import sys
import time
import traceback
from collections import Counter
from pathlib import Path

from libipc import IpcError, kernel
from nanokernel.chaos.faults import DISK_FAULTS, DISRUPTIVE, FAULTS
from nanokernel.chaos.workload import write_json

WORKLOAD = str(Path(__file__).resolve().parent / "workload.py")
KINDS = ("files", "pipes", "semmq")
RECOVERY_S = 15.0
STOP_HOLD_S = 20.0   # > init's register_timeout (10 s): a server stopped while it
                     # started is not pinged yet, and is killed when it has not registered
HANG_S = 30.0
SETTLE_S = 3.0                                          # after a restart, at most
USES = {"fs": "files", "block": "files", "pipe": "pipes", "sem": "semmq", "mq": "semmq"}
AFTER_S = 30.0                                          # after the last fault …
AFTER_ROUNDS = {"files": 3, "pipes": 20, "semmq": 3}     # … each must still do this
K = kernel(10.0)


class Campaign:
    def __init__(self, plan: dict) -> None:
        self.plan = plan
        self.out = Path(plan["outdir"])
        self.rng = random.Random(plan["seed"])
        self.servers: list[str] = plan["servers"]
        self.targets: list[str] = plan["targets"]
        self.weights: dict[str, float] = plan["weights"]
        self.injected: Counter[str] = Counter()
        self.by_target: Counter[str] = Counter()
        self.injection_errors: Counter[str] = Counter()
        self.failures: list[dict] = []
        self.restarts: Counter[str] = Counter()
        self.recovery_s: list[float] = []
        self.workers: dict[int, str] = {}
        self.hung: set[str] = set()
        self.started = time.monotonic()
        self.last: dict[str, int] = {}
        self.log: list[dict] = []   # every fault: when, what, on whom (for the story)
        self.previous = ("(the start)", "")   # the last fault injected: (kind, target)

    # --- the parts -----------------------------------------------------------
    def fail(self, what: str, detail: str) -> None:
        self.failures.append({"what": what, "detail": detail,
                              "at_s": round(time.monotonic() - self.started, 2)})

    def pids(self) -> dict[str, int]:
        """name -> pid of each server running now (the kernel's ps)."""
        return {row["name"]: row["pid"] for row in K.ps()
                if row["name"] in self.servers and row["state"] == "running"}

    def rows(self) -> dict[str, dict]:
        return {row["name"]: row for row in K.ps() if row["state"] == "running"}

    def start_workload(self) -> None:
        for kind in KINDS:
            child = K.spawn(argv=[WORKLOAD, kind, str(self.out), str(self.plan["seed"])],
                            name=f"chaos-{kind}", acl=["@public", "naming"])
            self.workers[child["ep"]] = kind
        deadline = time.monotonic() + 60
        while not all((self.out / f"{k}.json").exists() for k in KINDS):
            if time.monotonic() > deadline:
                raise RuntimeError("the workload did not start within 60 s")
            time.sleep(0.05)

    # --- one fault ------------------------------------------------------------
    def one(self, n: int) -> None:
        # what went down since the last look, before this fault: the last fault's doing
        # (a crash can come late — a disk error consumed by a later commit)
        self.check_others(*self.previous, own_target_may_go=False)
        kind = self.rng.choices(list(self.weights), weights=list(self.weights.values()))[0]
        rows = self.rows()
        if kind in DISK_FAULTS:
            name = "block" if kind != "full-disk" else "fs"
        else:
            live = [t for t in self.targets if t in rows]
            if not live:
                self.fail("no target", "none of the targets is running")
                return
            name = self.rng.choice(live)
        if name not in rows:
            self.injection_errors[f"{kind}: {name} not running"] += 1
            return
        before = self.pids()
        at = round(time.monotonic() - self.started, 3)
        try:
            what = FAULTS[kind](self.rng, rows[name])
        except (IpcError, OSError, LookupError) as exc:
            self.injection_errors[f"{kind}: {type(exc).__name__}"] += 1
            return
        self.log.append({"at_s": at, "fault": kind, "target": name, "what": what})
        self.previous = (kind, name)
        self.injected[kind] += 1
        self.by_target[name if kind not in DISK_FAULTS else "disk"] += 1
        if kind in DISRUPTIVE:
            self.await_recovery(kind, name, before.get(name, 0))
        else:
            time.sleep(self.rng.uniform(0.0, 0.03))
        self.check_others(kind, name)

    def await_recovery(self, kind: str, name: str, old_pid: int) -> None:
        t0 = time.monotonic()
        hold = STOP_HOLD_S if kind == "stop" else RECOVERY_S
        while True:
            now_pids = self.pids()
            if now_pids.get(name, old_pid) != old_pid and name in now_pids:
                self.recovery_s.append(time.monotonic() - t0)
                self.restarts[name] += 1
                self.settle(name)
                return
            if time.monotonic() - t0 > hold:
                break
            time.sleep(0.02)
        if kind == "stop":
            self.fail("hang not noticed", f"{name} (pid {old_pid}) stopped {hold:.0f} s and "
                      "nothing restarted it")
            with contextlib.suppress(ProcessLookupError):
                os.kill(old_pid, signal.SIGCONT)
        else:
            self.fail("not recovered", f"{name} not back {hold:.0f} s after {kind}")

    def settle(self, server: str) -> None:
        """After a restart, let the workload that uses ``server`` finish one more round
        (or SETTLE_S pass) before the next fault: a campaign that kills a server again
        the moment it is back measures its restart backoff, not whether work survives."""
        kinds = [USES[server]] if server in USES else list(KINDS)
        before = {kind: self.workload_report(kind).get("ops", 0) for kind in kinds}
        deadline = time.monotonic() + SETTLE_S
        while time.monotonic() < deadline:
            if any(self.workload_report(k).get("ops", 0) > before[k] for k in kinds):
                return
            time.sleep(0.05)

    def check_others(self, kind: str, name: str, own_target_may_go: bool = True) -> None:
        now = self.pids()
        for server, pid in self.last.items():
            if now.get(server) == pid:
                continue
            if server == name and kind in DISRUPTIVE and own_target_may_go:
                continue
            if server == name and kind in DISRUPTIVE:
                self.fail("not recovered", f"{server} went down again after its restart "
                          f"from {kind}")
            elif server == name:
                self.fail("crashed by bad input", f"{server} went down after {kind}")
            else:
                self.fail("innocent server down", f"{server} went down after {kind} on {name}")
            if server not in now:
                self.wait_back(server)
                now = self.pids()
        self.last = now

    def wait_back(self, server: str) -> None:
        deadline = time.monotonic() + RECOVERY_S
        while server not in self.pids():
            if time.monotonic() > deadline:
                self.fail("not recovered", f"{server} not back within {RECOVERY_S:.0f} s")
                return
            time.sleep(0.05)

    def check_workload(self) -> None:
        for kind in KINDS:
            try:
                data = json.loads((self.out / f"{kind}.json").read_text())
            except (OSError, ValueError):
                continue
            if time.time() - data["time"] > HANG_S and kind not in self.hung:
                self.hung.add(kind)
                self.fail("hang", f"workload {kind} made no progress for {HANG_S:.0f} s "
                          f"(in {data.get('last_op')})")

    def check_still_working(self) -> None:
        """Once the faults stop, every workload must finish AFTER_ROUNDS more checked
        rounds within AFTER_S: a system that only answers errors now (fs given up on,
        a disk left full) has not survived, whatever it did not lose."""
        start = {kind: self.workload_report(kind).get("ok", 0) for kind in KINDS}
        deadline = time.monotonic() + AFTER_S
        waiting = set(KINDS)
        while waiting and time.monotonic() < deadline:
            waiting = {k for k in waiting
                       if self.workload_report(k).get("ok", 0) < start[k] + AFTER_ROUNDS[k]}
            time.sleep(0.1)
        for kind in sorted(waiting):
            self.fail("not working after the faults",
                      f"workload {kind} did not finish {AFTER_ROUNDS[kind]} checked rounds "
                      f"in the {AFTER_S:.0f} s after the last fault "
                      f"(in {self.workload_report(kind).get('last_op')})")

    def workload_report(self, kind: str) -> dict:
        try:
            return json.loads((self.out / f"{kind}.json").read_text())
        except (OSError, ValueError):
            return {}

    def progress(self, n: int, total: int) -> None:
        write_json(self.out / "progress.json",
                   {"faults": n, "of": total, "failures": len(self.failures),
                    "seconds": round(time.monotonic() - self.started, 1)})

    # --- the whole campaign ---------------------------------------------------
    def run(self) -> dict:
        self.start_workload()
        self.last = self.pids()
        total, deadline = self.plan["faults"], self.started + self.plan["max_seconds"]
        n = 0
        try:
            while n < total and time.monotonic() < deadline:
                self.one(n)
                n += 1
                self.check_workload()
                if n % 5 == 0:
                    self.progress(n, total)
        except IpcError as exc:
            self.fail("kernel failure", f"the kernel stopped answering: {exc}")
        self.progress(n, total)
        return self.finish(n)

    def finish(self, n: int) -> dict:
        for server in self.servers:
            if server not in self.pids():
                self.wait_back(server)
        self.check_others(*self.previous, own_target_may_go=False)
        self.check_still_working()
        (self.out / "stop").write_text("stop")
        exits = self.await_workers()
        reports = {}
        for kind in KINDS:
            try:
                reports[kind] = json.loads((self.out / f"{kind}.json").read_text())
            except (OSError, ValueError):
                reports[kind] = {}
            if not reports[kind].get("final"):
                self.fail("hang", f"workload {kind} did not finish "
                          f"(in {reports[kind].get('last_op')})")
            for what in reports[kind].get("mismatches", []):
                self.fail("wrong result", f"{kind}: {what}")
        for ep, status in exits.items():
            if status != 0:
                self.fail("workload crashed", f"{self.workers[ep]} exited with {status}")
        return {"faults": n, "injected": dict(self.injected), "by_target": dict(self.by_target),
                "injection_errors": dict(self.injection_errors), "failures": self.failures,
                "restarts": dict(self.restarts), "workload": reports,
                "recovery_s": sorted(self.recovery_s), "log": self.log,
                "seconds": round(time.monotonic() - self.started, 1)}

    def await_workers(self) -> dict[int, int]:
        exits: dict[int, int] = {}
        deadline = time.monotonic() + 60
        while len(exits) < len(self.workers) and time.monotonic() < deadline:
            for record in K.wait():
                if record["ep"] in self.workers:
                    exits[record["ep"]] = record["status"]
            time.sleep(0.05)
        for ep in self.workers:
            if ep not in exits:
                with contextlib.suppress(IpcError):
                    K.kill(ep=ep, signal_name="KILL")
        return exits


def main(out: str, plan_path: str) -> None:
    plan = json.loads(Path(plan_path).read_text())
    try:
        result = Campaign(plan).run()
    except BaseException as exc:   # noqa: BLE001  (the host reports it)
        result = {"campaign_error": repr(exc), "traceback": traceback.format_exc()}
    write_json(Path(out), result)


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2])
