"""What the test session program does, one function per scenario.

Each runs inside a real boot as the session (privileged, calls "*") and
returns a JSON-able dict of what it saw; the tests assert on it.
"""

from __future__ import annotations

import json
import math
import os
import signal
import sys
import time
from pathlib import Path

import libipc
from libipc import IpcError, Proxy, kernel, lookup
from libipc.naming import INIT, NAMING
from libipc.runtime import current

HERE = Path(__file__).resolve().parent
CLIENT = str(HERE / "client.py")
ECHO = str(HERE / "echo.py")
K = kernel()
NAMES = Proxy(NAMING)
INIT_P = Proxy(INIT)


def code_of(fn) -> str:
    try:
        fn()
    except IpcError as exc:
        return exc.code
    return "no error"


def wait_for(pred, timeout: float = 5.0, what: str = "condition"):
    deadline = time.monotonic() + timeout
    while True:
        value = pred()
        if value:
            return value
        if time.monotonic() > deadline:
            raise TimeoutError(f"timed out waiting for {what}")
        time.sleep(0.005)


def ps_row(name: str) -> dict | None:
    return next((r for r in K.ps() if r["name"] == name), None)


def spawn_client(name: str, op: str, /, **args) -> str:
    out = f"{os.environ['NK_TEST_OUT']}.{op}.{time.monotonic_ns()}.json"
    K.spawn(argv=[CLIENT, out, name, op, json.dumps(args)], name="client", acl=["*"])
    return out


def read_result(out: str, timeout: float = 5.0) -> dict:
    wait_for(lambda: os.path.exists(out), timeout, f"client result {out}")
    return json.loads(Path(out).read_text())


# -- scenarios ---------------------------------------------------------------------------
def registered() -> dict:
    return {"names": sorted(NAMES.list()), "status": INIT_P.status(),
            "ps": sorted(r["name"] for r in K.ps()),
            "pids": {r["name"]: r["pid"] for r in K.ps()},
            "echo": lookup("echo").ping(text="hi")}


def kill() -> dict:
    old_ep = NAMES.lookup(name="echo")
    pid = ps_row("echo")["pid"]
    # by endpoint, and the client's own call seen: echo's "serving" counts init's
    # heartbeat too, and a name would be looked up first (a kill then missed the hold)
    out = spawn_client(str(old_ep), "hold")
    wait_for(lambda: (ps_row("client") or {}).get("calls_in_flight", 0) >= 1,
             what="call in flight")
    t0 = time.monotonic()
    os.kill(pid, signal.SIGKILL)
    in_flight = read_result(out)

    def back() -> int | None:
        try:
            ep = NAMES.lookup(name="echo")
        except IpcError:
            return None
        return ep if ep != old_ep else None

    new_ep = wait_for(back, 5.0, "echo registered again")
    back_after = time.monotonic() - t0
    echo = next(r for r in INIT_P.status() if r["name"] == "echo")
    return {"in_flight": in_flight["error"], "back_after": back_after,
            "old_ep": old_ep, "new_ep": new_ep, "ping": lookup("echo").ping(text="again"),
            "restarts": echo["restarts"], "ps_restarts": ps_row("echo")["restarts"]}


def kill_naming() -> dict:
    before = NAMES.list()
    pid = ps_row("naming")["pid"]
    t0 = time.monotonic()
    os.kill(pid, signal.SIGKILL)

    def restored() -> dict | None:
        try:
            names = NAMES.list()
        except IpcError:
            return None
        return names if set(names) == set(before) and names != before else None

    after = wait_for(restored, 5.0, "naming back with every name")
    return {"before": before, "after": after, "back_after": time.monotonic() - t0,
            "echo": lookup("echo").ping(text="via new naming"),
            "restore_refused": code_of(lambda: NAMES.restore(names={"echo": 1}))}


def crashloop() -> dict:
    return {"status": {r["name"]: r for r in INIT_P.status()},
            "ping": lookup("echo").ping(text="still here"), "names": sorted(NAMES.list())}


def init_row(name: str) -> dict:
    return next(r for r in INIT_P.status() if r["name"] == name)


def registered_anew(name: str, old_ep: int | None):
    """A predicate: ``name``'s endpoint in naming once it is not ``old_ep`` (else None)."""
    def check() -> int | None:
        try:
            ep = NAMES.lookup(name=name)
        except IpcError:
            return None
        return ep if ep != old_ep else None
    return check


def hung() -> dict:
    """echo SIGSTOPped: init's heartbeats find it, kill it and restart it; it serves."""
    old_ep = NAMES.lookup(name="echo")
    pid = ps_row("echo")["pid"]
    wait_for(lambda: init_row("echo")["beats"] >= 1, 5.0, "a first heartbeat answered")
    t0 = time.monotonic()
    os.kill(pid, signal.SIGSTOP)
    new_ep = wait_for(registered_anew("echo", old_ep), 10.0, "echo registered again")
    back_after = time.monotonic() - t0
    row = init_row("echo")
    return {"back_after": back_after, "old_ep": old_ep, "new_ep": new_ep, "row": row,
            "ping": lookup("echo").ping(text="after the hang"),
            "old_gone": not os.path.exists(f"/proc/{pid}") or _zombie(pid)}


def _zombie(pid: int) -> bool:
    try:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0] == "Z"
    except OSError:
        return True


def waiting_is_not_hung() -> dict:
    """echo waits in a call to echo2 (which never answers) for many heartbeat
    periods: it answers its pings from the wait, so init leaves it alone."""
    out = spawn_client("echo", "call_hold", name="echo2")
    wait_for(lambda: (ps_row("echo") or {}).get("calls_in_flight", 0) >= 1, 5.0,
             "echo waiting in its call to echo2")
    start = init_row("echo")["beats"]
    wait_for(lambda: init_row("echo")["beats"] >= start + 4, 10.0,
             "four heartbeats answered by echo while it waits")
    row = init_row("echo")
    still_waiting = ps_row("echo")["calls_in_flight"] >= 1 and not os.path.exists(out)
    return {"restarts": row["restarts"], "state": row["state"], "waiting": still_waiting,
            "last_failure": row["last_failure"]}


def killed_often() -> dict:
    """echo, which served, is SIGKILLed 10 times, each time as soon as it is back:
    restarted every time (give_up counts only servers that never registered)."""
    ep, gaps, last = None, [], None
    for _ in range(10):
        ep = wait_for(registered_anew("echo", ep), 10.0, "echo back")
        now = time.monotonic()
        if last is not None:
            gaps.append(now - last)
        last = now
        os.kill(K.whoami(ep=ep)["pid"], signal.SIGKILL)
    ep = wait_for(registered_anew("echo", ep), 10.0, "echo back after the last kill")
    wait_for(lambda: init_row("echo")["state"] == "running", 5.0, "echo running")
    row = init_row("echo")
    return {"restarts": row["restarts"], "state": row["state"], "served": row["served"],
            "last_failure": row["last_failure"], "max_gap": max(gaps),
            "ping": lookup("echo").ping(text="still served")}


def intensity() -> dict:
    """echo with intensity 2 in 30 s: the third kill is one restart too many."""
    ep = None
    for _ in range(3):
        ep = wait_for(registered_anew("echo", ep), 10.0, "echo back")
        os.kill(K.whoami(ep=ep)["pid"], signal.SIGKILL)
    wait_for(lambda: init_row("echo")["state"] == "failed", 10.0, "init to give up on echo")
    return {"row": init_row("echo"), "names": sorted(NAMES.list())}


def squat() -> dict:
    result = {
        "echo_takes_console": lookup("echo").register_as(name="console"),
        "session_takes_echo": code_of(lambda: NAMES.register(name="echo")),
        "session_own_name": code_of(lambda: NAMES.register(name="session")),
    }
    # A second process whose kernel name is "echo": the live holder keeps the name.
    before = NAMES.lookup(name="echo")
    K.spawn(argv=[ECHO], name="echo", acl=["*"])
    records: list[dict] = []
    wait_for(lambda: records.extend(K.wait()) or any(r["name"] == "echo" for r in records),
             10.0, "the second echo to exit")
    result["second_echo_status"] = next(r for r in records if r["name"] == "echo")["status"]
    result["echo_unchanged"] = before == NAMES.lookup(name="echo")
    result["unregister_other"] = code_of(lambda: NAMES.unregister(name="echo"))
    result["lookup_unknown"] = code_of(lambda: NAMES.lookup(name="nobody"))
    return result


def devices() -> dict:
    dev = lookup("devices")
    out = spawn_client(str(dev.endpoint), "sleep", seconds=1.0)   # (its one call: the sleep)
    wait_for(lambda: (ps_row("client") or {}).get("calls_in_flight", 0) >= 1
             and (ps_row("devices") or {}).get("serving", 0) >= 1, what="sleep in flight")
    t0 = time.monotonic()
    now = dev.now()
    now_latency = time.monotonic() - t0
    now_skew = abs(now - time.time())
    sleeper = read_result(out)
    t0 = time.monotonic()
    rang = []
    libipc.signal(signal.SIGALRM, lambda signum, frame: rang.append(signum))
    dev.alarm(seconds=0.2)
    libipc.pause(timeout=3)
    alarm_after = time.monotonic() - t0
    return {
        "now_skew": now_skew, "now_latency": now_latency,
        "sleeper": sleeper, "alarm": rang == [signal.SIGALRM], "alarm_after": alarm_after,
        "zero": list(dev.read(device="zero", n=4)), "random_len": len(dev.read(device="random",
                                                                               n=32)),
        "null": dev.read(device="null", n=10).decode(), "write": dev.write(device="null",
                                                                           data=b"abc"),
        "devices": dev.devices(),
        "bad": {
            "negative": code_of(lambda: dev.read(device="zero", n=-1)),
            "huge": code_of(lambda: dev.read(device="zero", n=2 ** 21)),
            "unknown": code_of(lambda: dev.read(device="disk", n=1)),
            "wrong_type": code_of(lambda: dev.read(device="zero", n="4")),
            "bool": code_of(lambda: dev.read(device="zero", n=True)),
            "sleep_negative": code_of(lambda: dev.sleep(seconds=-1)),
            "sleep_nan": code_of(lambda: dev.sleep(seconds=math.nan)),
            "sleep_long": code_of(lambda: dev.sleep(seconds=1e9)),
            "write_str": code_of(lambda: dev.write(device="null", data="text")),
        },
        "huge_message": _message(lambda: dev.read(device="zero", n=2 ** 21)),
    }


def _message(fn) -> str:
    try:
        fn()
    except IpcError as exc:
        return exc.message
    return ""


def console() -> dict:
    con = lookup("console")
    con.write(text="abc")
    lookup("echo").say(text="line-x\n")
    con.write(text="def\n")
    lines = [con.read_line(prompt="? "), con.read_line(prompt="? "), con.read_line(prompt="> "),
             con.read_line()]
    return {"lines": lines}


def console_interrupted() -> dict:
    """A read_line a signal interrupts (SIGALRM from the clock), then read_line again:
    the line typed afterwards is the second read's (the test types it only then)."""
    con = lookup("console")
    libipc.signal(signal.SIGALRM, lambda n, f: None)
    libipc.alarm(0.05)
    first = code_of(lambda: con.read_line(prompt="? "))
    Path(os.environ["NK_TEST_OUT"] + ".interrupted").write_text(first)
    return {"first": first, "again": con.read_line(prompt="? ")}


def start_stop() -> dict:
    started = INIT_P.start(path=ECHO, name="extra")
    ping = lookup("extra").ping(text="x")
    rows = {r["name"]: r for r in INIT_P.status()}
    stopped = INIT_P.stop(name="extra")
    after = {r["name"]: r for r in INIT_P.status()}["extra"]["state"]

    def freed() -> bool:
        return code_of(lambda: NAMES.lookup(name="extra")) == "NoSuchEndpoint"

    wait_for(freed, 5.0, "the name to be freed")
    crash = code_of(lambda: INIT_P.start(path=ECHO, name="crashy", args=["crash"]))
    return {"started": started, "ping": ping, "extra_row": rows["extra"], "stopped": stopped,
            "state_after": after, "crash_start": crash,
            "missing": code_of(lambda: INIT_P.start(path="/nonexistent.py")),
            "dup": code_of(lambda: INIT_P.start(path=ECHO, name="echo")),
            "stop_unknown": code_of(lambda: INIT_P.stop(name="nobody"))}


def name_wait() -> dict:
    """naming's wait: at once for a registered name, deferred until a late one registers,
    bounded by the caller's timeout for one that never does."""
    at_once = NAMES.wait(name="echo") == NAMES.lookup(name="echo")
    out = spawn_client("naming", "wait", name="late")
    wait_for(lambda: any(r["name"] == "client" and r["calls_in_flight"] for r in K.ps()),
             5.0, "the client to wait in naming")
    early = os.path.exists(out)
    late = INIT_P.start(path=ECHO, name="late")
    waited = read_result(out)
    t0 = time.monotonic()
    never = code_of(lambda: Proxy(NAMING, timeout=0.3).wait(name="never"))
    return {"at_once": at_once, "early": early, "waited": waited.get("value"),
            "late_ep": late["ep"], "never": never, "never_s": time.monotonic() - t0}


def name_wait_faults() -> dict:
    """A client waiting in naming's wait when naming is SIGSTOPped (its own timeout
    ends the wait) and when naming is SIGKILLed (ServerDied at once, not a hang)."""
    pid = ps_row("naming")["pid"]
    os.kill(pid, signal.SIGSTOP)
    t0 = time.monotonic()
    stopped = code_of(lambda: Proxy(NAMING, timeout=0.5).wait(name="later"))
    stopped_s = time.monotonic() - t0
    os.kill(pid, signal.SIGCONT)
    # by endpoint: by name, the in-flight call seen below could be the client's lookup of
    # naming, and a kill just after it would send the wait to the restarted naming
    out = spawn_client(str(NAMING), "wait", name="later")
    wait_for(lambda: any(r["name"] == "client" and r["calls_in_flight"] for r in K.ps()),
             5.0, "the client to wait in naming")
    t0 = time.monotonic()
    os.kill(pid, signal.SIGKILL)
    killed = read_result(out, timeout=30.0)   # (a loaded machine: seconds; a hang: never)
    killed_s = time.monotonic() - t0

    def back() -> bool:
        return code_of(lambda: NAMES.lookup(name="echo")) == "no error"

    wait_for(back, 5.0, "naming back")
    return {"stopped": stopped, "stopped_s": stopped_s, "killed": killed.get("error"),
            "killed_s": killed_s, "after": NAMES.wait(name="echo") == NAMES.lookup(name="echo")}


def idle() -> dict:
    Path(os.environ["NK_TEST_OUT"] + ".ready").write_text("ready")
    rt = current()
    while True:                 # until the test halts the boot (SIGTERM)
        rt.next_event(None)


def exit_status() -> dict:
    sys.exit(7)


SCENARIOS = {f.__name__: f for f in (registered, kill, kill_naming, crashloop, squat, devices,
                                     console, console_interrupted, start_stop, idle, exit_status,
                                     name_wait, name_wait_faults, hung, waiting_is_not_hung,
                                     killed_often, intensity)}
