"""A test init: run one kernel scenario, write its findings as JSON, halt.

    python -m kernel.boot driver.py SCENARIO OUT.json

It runs as init (privileged, may call anything), spawns test servers and
unprivileged clients (testservers.py, testclient.py) and reports what it saw.
"""

from __future__ import annotations

import json
import os
import sys
import threading
import time
from pathlib import Path

from libipc._nkffi import ffi, lib

from libipc import IpcError, Proxy, kernel
from libipc.message import CALL, HEADER_SIZE, REPLY, pack
from libipc.runtime import current

HERE = Path(__file__).resolve().parent
SERVERS = str(HERE / "testservers.py")
CLIENT = str(HERE / "testclient.py")
K = kernel()
EXITED: dict[int, dict] = {}


def spawn_echo(name: str = "echo", public: bool = True) -> int:
    return K.spawn(argv=[SERVERS, "echo"], name=name, acl=["*"], public=public)["ep"]


def spawn_client(action: str, *args: str, acl: list[str] | None = None, name: str = "client"):
    out = f"{os.environ['NK_TEST_TMP']}/{name}-{time.monotonic_ns()}.json"
    ep = K.spawn(argv=[CLIENT, action, out, *map(str, args)], name=name,
                 acl=acl if acl is not None else ["*"])["ep"]
    return ep, out


def wait_exit(ep: int, timeout: float = 10.0) -> dict:
    """Wait for the NOTIFY of a child's exit; return its exit record."""
    deadline = time.monotonic() + timeout
    rt = current()
    while time.monotonic() < deadline:
        for rec in K.wait():   # wait() hands over every record once: keep them all
            EXITED[rec["ep"]] = rec
        if ep in EXITED:
            return EXITED[ep]
        rt.next_event(0.05)
    raise TimeoutError(f"child {ep} did not exit")


def wait_ready(ep: int) -> None:
    deadline = time.monotonic() + 10
    while True:
        try:
            Proxy(ep).ping(text="ready?")
            return
        except IpcError:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.01)


def error_of(fn) -> str | None:
    try:
        fn()
    except IpcError as exc:
        return exc.code
    return None


def client_result(out: str) -> dict:
    return json.loads(Path(out).read_text())


# -- scenarios ------------------------------------------------------------------
def s_call_reply() -> dict:
    ep = spawn_echo()
    wait_ready(ep)
    return {"reply": Proxy(ep).ping(text="hello"), "me": current().endpoint,
            "seen_sender": Proxy(ep).whoami(), "echo_ep": ep}


def s_nested() -> dict:
    a, b = spawn_echo("a"), spawn_echo("b")
    wait_ready(a)
    wait_ready(b)
    return {"reply": Proxy(a).relay(ep=b, text="hi")}


def s_deferred() -> dict:
    ep = spawn_echo()
    wait_ready(ep)
    t0 = time.monotonic()
    value = Proxy(ep).later(seconds=0.2, value=42)
    return {"value": value, "elapsed": time.monotonic() - t0}


def s_errors() -> dict:
    ep = spawn_echo()
    wait_ready(ep)
    p, rt = Proxy(ep), current()
    return {
        "unknown_op": error_of(lambda: p.nope()),
        "bad_type": error_of(lambda: p.ping(text=3)),
        "missing_arg": error_of(lambda: p.ping()),
        "malformed": error_of(lambda: rt.call_body(ep, b"\xc1\xc1junk")),
        "not_a_call": error_of(lambda: rt.call_body(ep, pack({"op": "ping"}))),
        "handler_bug": error_of(lambda: p.boom()),
        "oversized": error_of(lambda: p.ping(text="x" * 100_000)),
        "no_such_endpoint": error_of(lambda: Proxy(ep + (1 << 12)).ping(text="x")),
        "kernel_unknown": error_of(lambda: K.frobnicate()),
        "after": p.ping(text="still serving"),
    }


def s_forged() -> dict:
    """Put a CALL whose header claims to come from endpoint 12345."""
    ep = spawn_echo()
    wait_ready(ep)
    rt = current()
    hdr = ffi.new("nk_msg_header *")
    body = pack(["whoami", {}])
    hdr.src, hdr.dst, hdr.kind, hdr.flags, hdr.id, hdr.body_len = 12345, ep, CALL, 0, 777, len(body)
    up = rt.transport.channel.up
    lib.nk_ring_putv(up.cdata, hdr, HEADER_SIZE, body, len(body))
    while True:
        msg = rt.transport.recv(5)
        if msg is not None and msg.id == 777:
            from libipc.message import unpack
            return {"seen": unpack(msg.body), "me": rt.endpoint}


def s_stray_reply() -> dict:
    ep = spawn_echo()
    wait_ready(ep)
    rt = current()
    before = K.stats()["dropped_replies"]
    rt.transport.send(ep, REPLY, 4242, pack("unasked"))
    return {"dropped": K.stats()["dropped_replies"] - before,
            "after": Proxy(ep).ping(text="ok")}


def s_cancel() -> dict:
    ep = spawn_echo()
    wait_ready(ep)
    p = Proxy(ep)
    before = K.stats()["dropped_replies"]
    err = error_of(lambda: p.with_timeout(0.1).later(seconds=0.3, value=1))
    time.sleep(0.4)   # let the late reply arrive at the kernel
    second = p.later(seconds=0.01, value=2)
    return {"error": err, "second": second,
            "dropped": K.stats()["dropped_replies"] - before}


def s_acl() -> dict:
    ep = spawn_echo(public=False)
    wait_ready(ep)
    c1, out1 = spawn_client("call", ep, "ping", '{"text": "x"}', acl=[])
    c2, out2 = spawn_client("call", ep, "ping", '{"text": "x"}', acl=["echo"], name="c2")
    c3, out3 = spawn_client("spawn", acl=["*"], name="c3")
    for c in (c1, c2, c3):
        wait_exit(c)
    return {"denied": client_result(out1), "allowed": client_result(out2),
            "unprivileged_spawn": client_result(out3)}


def s_killed_mid_call() -> dict:
    victim, bystander = spawn_echo("victim"), spawn_echo("bystander")
    wait_ready(victim)
    wait_ready(bystander)
    client, out = spawn_client("call", victim, "never")
    deadline = time.monotonic() + 5
    while not [r for r in K.ps() if r["ep"] == victim and r["serving"]]:
        if time.monotonic() > deadline:
            raise TimeoutError("client call never reached the victim")
        time.sleep(0.005)
    pid = [r["pid"] for r in K.ps() if r["ep"] == victim][0]
    t_kill = time.monotonic()
    os.kill(pid, 9)
    rec = wait_exit(client)
    result = client_result(out)
    return {"client": result, "client_status": rec["status"],
            "waited_after_kill": time.monotonic() - t_kill,
            "bystander": Proxy(bystander).ping(text="fine"),
            "victim_call": error_of(lambda: Proxy(victim).ping(text="x"))}


def s_deadlock() -> dict:
    a, b = spawn_echo("a"), spawn_echo("b")
    wait_ready(a)
    wait_ready(b)
    self_call = error_of(lambda: current().call(current().endpoint, "ping", {"text": "x"}))
    return {"cycle": Proxy(a).relay_back(ep=b), "self": self_call}


def s_too_many_calls() -> dict:
    ep = spawn_echo()
    wait_ready(ep)
    rt = current()
    limit = K.stats()["max_calls"]
    for i in range(limit):
        rt.transport.send(ep, CALL, 10_000 + i, pack(["never", {}]))
    rt.transport.send(ep, CALL, 99_999, pack(["ping", {"text": "x"}]))
    while True:
        msg = rt.transport.recv(5)
        if msg is not None and msg.id == 99_999:
            from libipc.errors import error_from_body
            from libipc.message import unpack
            code = error_from_body(unpack(msg.body)).code
            return {"limit": limit, "kind": msg.kind, "code": code}


def until(pred, timeout: float = 10.0, what: str = "condition"):
    """Poll ``pred`` until it is truthy (its value); TimeoutError at the deadline."""
    deadline = time.monotonic() + timeout
    while True:
        value = pred()
        if value:
            return value
        if time.monotonic() > deadline:
            raise TimeoutError(f"timed out waiting for {what}")
        time.sleep(0.005)


def latch_path(what: str) -> Path:
    return Path(os.environ["NK_TEST_TMP"]) / f"{what}-latch-{time.monotonic_ns()}"


def s_notify() -> dict:
    """Six NOTIFYs to a server that reads nothing until we open its latch."""
    ep = spawn_echo()
    wait_ready(ep)
    p, rt = Proxy(ep), current()
    latch = latch_path("notify")
    p.send("block_until", path=str(latch))   # the server stops reading until the latch
    until(Path(f"{latch}.blocked").exists, what="the server to stop reading")
    for bit in (1, 2, 4, 1, 2, 4):
        rt.notify(ep, bit)
    K.whoami(ep=ep)   # the kernel takes our ring in order: every NOTIFY is in by now
    latch.touch()

    def all_bits() -> list | None:
        notes = p.notifications()
        bits = 0
        for _, b in notes:
            bits |= b
        return notes if bits == 7 else None

    return {"notes": until(all_bits, what="the notifications"), "me": rt.endpoint}


def drain_errors_until_kernel_reply(rt) -> list[str]:
    """Collect ERRORs for our earlier messages; a kernel call's reply marks the end
    (the kernel handles our ring in order, so every earlier refusal came before it)."""
    from libipc.errors import error_from_body
    from libipc.message import ERROR, unpack
    rt.transport.send(0, CALL, 31337, pack(["whoami", {}]))
    codes = []
    while True:
        msg = rt.transport.recv(5)
        if msg is None:
            raise TimeoutError("no kernel reply")
        if msg.kind == ERROR:
            codes.append(error_from_body(unpack(msg.body)).code)
        elif msg.kind == REPLY and msg.id == 31337:
            return codes


def s_backpressure() -> dict:
    ep = spawn_echo()
    wait_ready(ep)
    p, rt = Proxy(ep), current()
    latch = latch_path("backpressure")
    p.send("block_until", path=str(latch))   # the server stops reading: its ring fills
    until(Path(f"{latch}.blocked").exists, what="the server to stop reading")
    nonblock_sent = 0
    for _ in range(5000):
        rt.send(ep, "count", {"text": "y" * 200}, nonblock=True)
        nonblock_sent += 1
    refused = drain_errors_until_kernel_reply(rt)
    # The route is full and stays so until the server reads again, which it does once
    # the latch exists: opened by a timer 0.3 s from now, the blocking sends below
    # (more than our own ring holds) wait that long.
    opener = threading.Timer(0.3, latch.touch)
    t0 = time.monotonic()
    opener.start()
    blocking_sent = 0
    for _ in range(3000):
        rt.send(ep, "count", {"text": "z" * 200})
        blocking_sent += 1
    blocked_for = time.monotonic() - t0
    opener.join()
    return {"refused": sorted(set(refused)), "n_refused": len(refused),
            "nonblock_sent": nonblock_sent, "blocking_sent": blocking_sent,
            "blocked_for": blocked_for, "seen": p.sends_seen()}


def s_corrupt_ring() -> dict:
    ep = spawn_echo()
    wait_ready(ep)
    bad = K.spawn(argv=[SERVERS, "corrupter"], name="corrupter", acl=["*"])["ep"]
    rec = wait_exit(bad)
    return {"status": rec["status"], "echo": Proxy(ep).ping(text="alive"),
            "kernel_ps": len(K.ps())}


def s_flood() -> dict:
    sink, echo = spawn_echo("sink"), spawn_echo("echo")
    wait_ready(sink)
    wait_ready(echo)
    flooder, out = spawn_client("flood", sink, 2.0, name="flooder")
    time.sleep(0.2)
    p, lat = Proxy(echo), []
    t_end = time.monotonic() + 1.0
    while time.monotonic() < t_end:
        t0 = time.monotonic()
        p.ping(text="me too")
        lat.append(time.monotonic() - t0)
    wait_exit(flooder)
    lat.sort()
    return {"calls": len(lat), "p50": lat[len(lat) // 2], "max": lat[-1],
            "flooded": client_result(out)["ok"]}


def s_trace() -> dict:
    ep = spawn_echo()
    wait_ready(ep)
    K.trace(on=True, path=os.environ["NK_TEST_TMP"] + "/trace.jsonl")
    Proxy(ep).ping(text="traced")
    K.trace(on=False)
    Proxy(ep).ping(text="not traced")
    return {"trace": os.environ["NK_TEST_TMP"] + "/trace.jsonl"}


def s_ps() -> dict:
    ep = spawn_echo()
    wait_ready(ep)
    return {"ps": K.ps(), "stats": K.stats(), "whoami": K.whoami(), "echo": ep}


def s_orphans() -> dict:
    for i in range(3):
        spawn_echo(f"e{i}")
    return {"ps": K.ps()}


def s_hosted() -> dict:
    """Servers in the kernel: called by a process, calling a process and each other."""
    mod = "tests.kernel.programs.testservers"
    a = K.host(module=mod, name="ha", acl=["*"], public=True)["ep"]
    c = K.host(module=mod, name="hc", acl=["*"], public=True)["ep"]
    b = spawn_echo("pb")
    wait_ready(b)
    wait_ready(a)
    routed = lambda: K.stats()["messages_routed"]  # noqa: E731
    r0 = routed()
    plain = Proxy(a).ping(text="in kernel")
    r1 = routed()
    to_hosted = Proxy(a).relay(ep=c, text="direct")
    r2 = routed()
    to_process = Proxy(a).relay(ep=b, text="out")
    r3 = routed()
    rows = {row["name"]: row for row in K.ps()}
    return {
        "plain": plain, "plain_msgs": r1 - r0,   # kernel calls are not routed messages
        "to_hosted": to_hosted, "to_hosted_msgs": r2 - r1,
        "to_process": to_process, "to_process_msgs": r3 - r2,
        "deferred": Proxy(a).later(seconds=0.05, value=7),
        "placement": {n: rows[n]["placement"] for n in ("ha", "hc", "pb")},
        "kernel_pid_is_ha_pid": rows["ha"]["pid"] == os.getppid(),
        "process_crash": error_of(lambda: Proxy(b).call("_fault")),
        "unprivileged_crash": None,
        "direct_calls": K.stats()["direct_calls"],
    }


def s_hosted_panic() -> dict:
    a = K.host(module="tests.kernel.programs.testservers", name="ha", acl=["*"])["ep"]
    wait_ready(a)
    out = os.environ["NK_TEST_TMP"] + "/result.json"
    Path(out).write_text(json.dumps({"hosted": a}))
    Proxy(a).call("_fault")     # never returns: the kernel panics and halts
    return {"survived": True}


# -- hostile input (test_router_fuzz.py, test_hostile.py) ------------------------------
HOSTILE = str(HERE / "hostile.py")


def error_and_size(fn) -> list:
    """[code, length of the message] of the error ``fn`` raises ([None, 0]: no error)."""
    try:
        fn()
    except IpcError as exc:
        return [exc.code, len(exc.message)]
    return [None, 0]


def s_bad_replies() -> dict:
    """Handlers whose results cannot travel: the caller gets an error, the server goes on."""
    odd = K.spawn(argv=[HOSTILE, "odd"], name="odd", acl=["*"], public=True)["ep"]
    wait_ready(odd)
    return bad_replies(odd)


def s_bad_replies_hosted() -> dict:
    """The same handlers in a server hosted in the kernel: no panic, no killed caller."""
    odd = K.host(module="tests.kernel.programs.hostile", name="odd", acl=["*"],
                 public=True)["ep"]
    wait_ready(odd)
    return bad_replies(odd)


def bad_replies(odd: int) -> dict:
    p = Proxy(odd, timeout=5)
    return {
        "unpackable": error_of(lambda: p.unpackable()),
        "huge_int": error_of(lambda: p.huge_int()),
        "later_unpackable": error_of(lambda: p.later_unpackable(seconds=0.01)),
        "over_limit": error_of(lambda: p.big(n=100_000)),     # over 64 KiB, within the ring
        "over_ring": error_of(lambda: p.big(n=600_000)),      # over the ring's largest record
        "at_limit": len(p.big(n=60_000)),
        "long_op": error_and_size(lambda: p.call("\x01" * 65_500)),
        "long_arg": error_and_size(lambda: p.call("ping", text="x", **{"\x01" * 65_000: 1})),
        "after": p.ping(text="alive"),
        "names": sorted(r["name"] for r in K.ps()),
    }

def s_kernel_call_args() -> dict:
    """Kernel calls with wrong, odd or dangerous arguments: each a clear error."""
    import msgpack
    echo = spawn_echo()
    wait_ready(echo)
    tmp, rt = os.environ["NK_TEST_TMP"], current()
    call = lambda body: lambda: rt.call_body(0, body, timeout=5)  # noqa: E731
    r = {
        "junk_body": error_of(call(b"\xc1\xc1")),
        "not_a_call": error_of(call(pack([1, {}]))),
        "int_keys": error_of(call(pack(["ps", {1: 2}]))),
        "deep": error_of(call(b"\x91" * 3000 + b"\xc0")),
        "ext_arg": error_of(call(msgpack.packb(["whoami", {"ep": msgpack.ExtType(1, b"x")}]))),
        "shadow_arg": error_of(lambda: K.whoami(caller=1)),
        "long_op": error_and_size(lambda: K.call("\x01" * 65_500)),
        "oversized": error_of(lambda: K.whoami(ep="x" * 70_000)),
        "whoami_str": error_of(lambda: K.whoami(ep="x")),
        "whoami_bool": error_of(lambda: K.whoami(ep=True)),
        "whoami_huge": error_of(lambda: K.whoami(ep=2 ** 64 - 1)),
        "kill_kernel": error_of(lambda: K.kill(ep=0)),
        "kill_negative": error_of(lambda: K.kill(ep=-1)),
        "kill_signal": error_of(lambda: K.kill(ep=echo, signal_name="HUP")),
        "spawn_argv_str": error_of(lambda: K.spawn(argv=SERVERS, name="x")),
        "spawn_argv_empty": error_of(lambda: K.spawn(argv=[], name="x")),
        "spawn_argv_ints": error_of(lambda: K.spawn(argv=[1, 2], name="x")),
        "spawn_no_file": error_of(lambda: K.spawn(argv=["/nonexistent/x.py"], name="x")),
        "spawn_nul_argv": error_of(lambda: K.spawn(argv=["-m", "x\0y"], name="x")),
        "spawn_nul_name": error_of(lambda: K.spawn(argv=[SERVERS, "echo"], name="a\0b")),
        "spawn_bad_env": error_of(lambda: K.spawn(argv=[SERVERS, "echo"], name="x",
                                                  env={"A=B": "1"})),
        "spawn_slot": error_of(lambda: K.spawn(argv=[SERVERS, "echo"], name="x", slot=99)),
        "host_no_module": error_of(lambda: K.host(module="no_such_module_xyz", name="h")),
        "exit_str": error_of(lambda: K.exit(status="x")),
        "set_acl_kernel": error_of(lambda: K.set_acl(ep=0, acl=[])),
        "trace_on": K.trace(on=True, path=f"{tmp}/t1.jsonl"),
        "trace_off": K.trace(on=False),
        "trace_bad_path": error_of(lambda: K.trace(on=True, path="/proc/nonexistent/t")),
        "trace_nul_path": error_of(lambda: K.trace(on=True, path="a\0b")),
    }
    try:
        r["trace_again"] = K.trace(on=True)   # the good file still
    except IpcError as exc:
        r["trace_again"] = exc.code
    K.trace(on=False)
    r["tmp"] = tmp
    r["echo"] = Proxy(echo).ping(text="fine")
    r["names"] = sorted(row["name"] for row in K.ps())
    return r


def s_trace_fifo() -> dict:
    """Tracing into a FIFO nobody reads: refused, where opening it would hang the kernel."""
    fifo = os.environ["NK_TEST_TMP"] + "/fifo"
    os.mkfifo(fifo)
    t0 = time.monotonic()
    return {"fifo": error_of(lambda: kernel(timeout=5).trace(on=True, path=fifo)),
            "dev": error_of(lambda: K.trace(on=True, path="/dev/null")),
            "elapsed": time.monotonic() - t0, "tracing": K.stats()["tracing"]}


def s_halt_status() -> dict:
    """An exit status is one byte; anything else would end the boot with another."""
    return {"halt_256": error_of(lambda: K.halt(status=256)),
            "halt_negative": error_of(lambda: K.halt(status=-1)),
            "halt_huge": error_of(lambda: K.halt(status=2 ** 63 - 1))}

def s_duplicate_call_id() -> dict:
    """A second CALL reusing an id still outstanding is refused; the books stay right."""
    from libipc.errors import error_from_body
    from libipc.message import CANCEL, ERROR, unpack
    a, b = spawn_echo("a"), spawn_echo("b")
    wait_ready(a)
    wait_ready(b)
    rt = current()
    rt.transport.send(a, CALL, 7, pack(["never", {}]))
    rt.transport.send(b, CALL, 7, pack(["never", {}]))
    dup = None
    deadline = time.monotonic() + 1
    while dup is None and time.monotonic() < deadline:
        msg = rt.transport.recv(0.1)
        if msg is not None and msg.kind == ERROR and msg.id == 7:
            dup = error_from_body(unpack(msg.body)).code
    serving_before = {row["name"]: row["serving"] for row in K.ps()}
    rt.transport.send(a, CANCEL, 7)
    return {"dup": dup, "serving_before": serving_before,
            "serving_after": {row["name"]: row["serving"] for row in K.ps()},
            "after": Proxy(a).ping(text="ok")}


def cpu_seconds(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def s_held_notify_busy_loop() -> dict:
    """A receiver that reads a little, never all: a held notification must not make
    the kernel spin while a sender waits for room there."""
    latch = latch_path("sleeper")
    sleeper = K.spawn(argv=[HOSTILE, "sleeper", str(latch), 20], name="sleeper",
                      acl=[])["ep"]
    rt = current()
    rt.notify(sleeper, 1)                  # delivered: the ring was empty
    flooder, _ = spawn_client("flood", sleeper, 30.0, name="flooder")
    until(lambda: any(r["ep"] == flooder and r["waits_for_room"] == sleeper
                      for r in K.ps()), what="the flooder to fill the ring and wait for room")
    rt.notify(sleeper, 2)                  # held: the ring is not empty
    latch.touch()                          # the sleeper reads 20 messages: room
    until(Path(f"{latch}.read").exists, what="the sleeper to read 20 messages")
    until(lambda: any(r["ep"] == flooder and r["waits_for_room"] == sleeper
                      for r in K.ps()), what="the flooder to wait for room again")
    kernel_pid = os.getppid()
    c0, t0 = cpu_seconds(kernel_pid), time.monotonic()
    time.sleep(1.0)                        # the measurement window itself
    used = cpu_seconds(kernel_pid) - c0
    return {"kernel_cpu": used / (time.monotonic() - t0),
            "names": sorted(row["name"] for row in K.ps())}


def s_deaf() -> dict:
    """A process that floods kernel calls and never reads its ring: the kernel stops
    taking its messages (bounded memory), and it loses no reply once it reads."""
    echo = spawn_echo()
    wait_ready(echo)
    out = f"{os.environ['NK_TEST_TMP']}/deaf.json"
    deaf = K.spawn(argv=[HOSTILE, "deaf", out, 10.0], name="deaf", acl=[])["ep"]
    p, calls = Proxy(echo, timeout=5), 0
    while deaf not in EXITED:
        p.ping(text="x")
        calls += 1
        for rec in K.wait():
            EXITED[rec["ep"]] = rec
        time.sleep(0.005)
    return {"deaf": json.loads(Path(out).read_text()), "status": EXITED[deaf]["status"],
            "calls": calls}

def log_lines(event: str) -> list[dict]:
    """The kernel log's JSON lines for ``event``."""
    lines = Path(os.environ["NK_LOG"]).read_text().splitlines()
    return [json.loads(line) for line in lines if f'"{event}"' in line]


def stale_endpoint() -> int:
    """The endpoint of a process that has exited."""
    ep = spawn_echo("gone")
    wait_ready(ep)
    K.kill(ep=ep)
    wait_exit(ep)
    return ep


def s_fuzz() -> dict:
    """A hostile process puts random records on its ring while we keep calling echo."""
    seed = int(os.environ.get("NK_FUZZ_SEED", "1234"))
    count = int(os.environ.get("NK_FUZZ_COUNT", "3000"))
    corrupt_at = int(os.environ.get("NK_FUZZ_CORRUPT_AT", "-1"))
    echo = spawn_echo("echo")
    wait_ready(echo)
    echo_pid = [r["pid"] for r in K.ps() if r["ep"] == echo][0]
    stale = stale_endpoint()
    out = f"{os.environ['NK_TEST_TMP']}/hostile.json"
    hostile = K.spawn(argv=[HOSTILE, "fuzz", out, seed, count, echo, current().endpoint, stale,
                            corrupt_at], name="hostile", acl=["echo"])["ep"]
    p, calls, wrong, slowest = Proxy(echo, timeout=10), 0, 0, 0.0
    deadline = time.monotonic() + float(os.environ.get("NK_FUZZ_DEADLINE", "60"))
    while hostile not in EXITED:
        if time.monotonic() > deadline:
            raise TimeoutError(f"the fuzzer did not finish {count} records")
        t0 = time.monotonic()
        wrong += p.ping(text=f"call {calls}") != f"call {calls}"
        slowest = max(slowest, time.monotonic() - t0)
        calls += 1
        for rec in K.wait():
            EXITED[rec["ep"]] = rec
    K.trace(on=False)   # the fuzzer may have turned tracing on
    rows = {r["name"]: r for r in K.ps()}
    return {
        "calls": calls, "wrong": wrong, "slowest": slowest,
        "hostile_status": EXITED[hostile]["status"],
        "hostile": json.loads(Path(out).read_text()) if Path(out).exists() else None,
        "corrupt_kills": [e.get("name") for e in log_lines("ring_corrupt")],
        "syscall_crashed": len(log_lines("syscall_crashed")),
        "echo_after": Proxy(echo, timeout=10).ping(text="still here"),
        "echo_same_pid": rows["echo"]["pid"] == echo_pid,
        "stats": K.stats(), "names": sorted(rows),
    }

def s_call_never_blocks_ring() -> dict:
    """A callee whose ring is full must not stall the caller's other traffic."""
    slow, quick = spawn_echo("slow"), spawn_echo("quick")
    wait_ready(slow)
    wait_ready(quick)
    rt = current()
    Proxy(slow).send("block", seconds=3.0)   # slow stops reading for 3 s
    time.sleep(0.05)
    refused = []
    for size in (8000, 1000, 100, 1):         # fill slow's ring to the last byte
        for _ in range(1000):
            rt.send(slow, "count", {"text": "z" * size}, nonblock=True)
            refused = drain_errors_until_kernel_reply(rt)
            if refused:
                break
    t0 = time.monotonic()
    timeout = error_of(lambda: Proxy(slow).with_timeout(0.3).ping(text="stuck"))
    answer = Proxy(quick).ping(text="through")
    return {"full": refused[:1], "timeout": timeout, "answer": answer,
            "elapsed": time.monotonic() - t0}


def main() -> None:
    scenario, out = sys.argv[1], sys.argv[2]
    os.environ["NK_TEST_TMP"] = str(Path(out).parent)
    try:
        result = globals()[f"s_{scenario}"]()
    except Exception as exc:  # report, so the test shows what went wrong
        import traceback
        result = {"driver_error": f"{type(exc).__name__}: {exc}",
                  "traceback": traceback.format_exc()}
    tmp = Path(f"{out}.tmp")   # whole or not at all: a test may read it at once
    tmp.write_text(json.dumps(result))
    os.replace(tmp, out)
    if scenario != "orphans":
        K.halt(status=0)
    time.sleep(60)   # the halt SIGTERMs us


if __name__ == "__main__":
    main()
