"""The session program of the semaphore and queue tests:
``semmq_session.py SCENARIO[,SCENARIO...] OUT.json``.

Runs the scenarios one after the other in one boot (privileged, calls "*": it
spawns the user processes of programs/semmq_child.py, kills and stops them and
the servers) and writes {scenario: what it saw}; a scenario that fails writes
its traceback under "session_error" and the others still run.
"""

from __future__ import annotations

import json
import math
import os
import signal
import sys
import time
import traceback
from pathlib import Path

import libipc
import libipc.mq
import libipc.named_handle
import libipc.naming
import libipc.sem
from libipc import IpcError, MessageQueue, Proxy, Semaphore, kernel, lookup
from libipc.naming import NAMING
from libipc.runtime import current

CHILD = str(Path(__file__).resolve().parent / "semmq_child.py")
K = kernel()
EXITS: dict[int, int] = {}
SEM_VALUE_MAX = 2**31 - 1


def spawn(mode: str, *args) -> int:
    return K.spawn(argv=[CHILD, mode, *map(str, args)], name=f"semmq-{mode}",
                   acl=["@public", "naming"])["ep"]


def _reap() -> None:
    EXITS.update((record["ep"], record["status"]) for record in K.wait())


def status(ep: int, timeout: float = 20.0) -> int:
    until(lambda: (_reap(), ep in EXITS)[1], timeout, f"{ep} to exit")
    return EXITS[ep]


def exited(eps: list[int]) -> list[int]:
    _reap()
    return [ep for ep in eps if ep in EXITS]


def until(predicate, timeout: float = 10.0, what: str = "a condition"):
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value:
            return value
        if time.monotonic() > deadline:
            raise TimeoutError(f"waited {timeout} s for {what}")
        time.sleep(0.005)


def code_of(fn) -> str:
    try:
        fn()
    except IpcError as exc:
        return exc.code
    except (ValueError, TypeError) as exc:
        return type(exc).__name__
    return "ok"


def timed(fn) -> tuple[str, float]:
    t0 = time.monotonic()
    code = code_of(fn)
    return code, round(time.monotonic() - t0, 3)


def msg(pair) -> list:
    """A received (data, priority) as JSON can carry it."""
    return [bytes(pair[0]).decode(), pair[1]]


def pid_of(name: str) -> int:
    return next(row["pid"] for row in K.ps() if row["name"] == name)


def restarted(name: str, old_pid: int) -> None:
    """Wait until init has restarted ``name`` and it registered again."""
    def back():
        row = next((r for r in K.ps() if r["name"] == name), None)
        return row and row["pid"] != old_pid and Proxy(NAMING).list().get(name) == row["ep"]
    until(back, 15, f"{name} to come back")
    libipc.naming.forget(name)


# -- semaphores ---------------------------------------------------------------------
def sem_api() -> dict:
    out, raw = {}, lookup("sem")
    s = Semaphore("/api", create=True, initial=2)
    out["initial"] = s.value
    s.acquire()
    s.acquire()
    out["at_zero"] = code_of(lambda: s.acquire(timeout=0))
    out["timed"] = timed(lambda: s.acquire(timeout=0.2))
    s.release()
    out["after_release"] = s.value
    out["same_name"] = Semaphore("api").name
    out["missing"] = code_of(lambda: Semaphore("/nope"))
    out["exclusive"] = code_of(lambda: Semaphore("/api", create=True, exclusive=True))
    out["initial_ignored"] = Semaphore("/api", create=True, initial=99).value
    with s:
        out["inside_with"] = s.value
    out["after_with"] = s.value
    big = Semaphore("/max", create=True, initial=SEM_VALUE_MAX)
    out["bad"] = {
        "name_type": code_of(lambda: raw.open(name=3)),
        "name_empty": code_of(lambda: Semaphore("/", create=True)),
        "name_slash": code_of(lambda: Semaphore("/a/b", create=True)),
        "name_long": code_of(lambda: Semaphore("x" * 300, create=True)),
        "name_control": code_of(lambda: Semaphore("a\nb", create=True)),
        "initial_negative": code_of(lambda: Semaphore("/n", create=True, initial=-1)),
        "initial_huge": code_of(lambda: Semaphore("/n", create=True, initial=2**40)),
        "initial_type": code_of(lambda: raw.open(name="/n", create=True, initial="1")),
        "exclusive_alone": code_of(lambda: Semaphore("/n", exclusive=True)),
        "timeout_negative": code_of(lambda: s.acquire(timeout=-1)),
        "timeout_nan": code_of(lambda: s.acquire(timeout=math.nan)),
        "timeout_huge": code_of(lambda: s.acquire(timeout=1e12)),
        "timeout_type": code_of(lambda: raw.acquire(handle=s._handle, timeout="1")),
        "unknown_handle": code_of(lambda: raw.acquire(handle=12345)),
        "handle_type": code_of(lambda: raw.release(handle="x")),
        "unknown_op": code_of(lambda: raw.frobnicate()),
        "overflow": code_of(big.release),
    }
    out["foreign_handle"] = status(spawn("foreign", "sem", s._handle))
    closed = Semaphore("/api")
    closed.close()
    out["closed_use"] = code_of(lambda: closed.value)
    out["closed_raw"] = code_of(lambda: raw.value(handle=closed._handle))
    u = Semaphore("/u", create=True, initial=1)
    u.unlink()
    out["unlinked_open"] = code_of(lambda: Semaphore("/u"))
    out["unlinked_works"] = [code_of(lambda: u.acquire(timeout=0)), u.value, u.stat()["unlinked"]]
    out["fresh"] = Semaphore("/u", create=True, initial=5).value
    out["unlink_missing"] = code_of(lambda: libipc.sem.unlink("/gone"))
    out["list"] = [row["name"] for row in raw.list()]
    return out


def sem_fifo() -> dict:
    """Three waiters, queued in a known order; each release wakes exactly one, the
    longest-waiting first."""
    s = Semaphore("/fifo", create=True)
    eps = []
    for i in range(3):
        eps.append(spawn("acquire", "/fifo", "none", 10, 0))
        until(lambda i=i: s.stat()["waiters"] == i + 1, what=f"waiter {i}")
    order, after = [], []
    for _ in range(3):
        s.release()
        st = s.stat()
        after.append([st["value"], st["waiters"]])
        woken = until(lambda seen=tuple(order): [ep for ep in exited(eps)
                                                 if eps.index(ep) not in seen],
                      what="a waiter to exit")
        order += [eps.index(ep) for ep in woken]
    return {"order": order, "after_each_release": after,
            "statuses": [status(ep) for ep in eps], "value": s.value}


def sem_dead() -> dict:
    out = {}
    s = Semaphore("/dead", create=True, initial=1)   # undo: a dead holder gives back
    holder = spawn("hold", "/dead", 1)
    until(lambda: s.value == 0, what="the holder to acquire")
    waiter = spawn("acquire", "/dead", "none", 10, 0)
    until(lambda: s.stat()["waiters"] == 1, what="the waiter")
    K.kill(ep=holder, signal_name="KILL")
    out["holder_killed"] = [status(holder), status(waiter)]
    s2 = Semaphore("/dead2", create=True, initial=1)   # undo=False: its unit stays taken
    holder = spawn("hold", "/dead2", 0)
    until(lambda: s2.value == 0, what="the holder to acquire")
    K.kill(ep=holder, signal_name="KILL")
    status(holder)
    until(lambda: s2.stat()["opens"] == 1, what="the holder's handle to close")
    out["no_undo_value"] = s2.value
    s3 = Semaphore("/dead3", create=True)   # a waiter killed: dropped, takes nothing
    waiter = spawn("acquire", "/dead3", "none", 10, 1)
    until(lambda: s3.stat()["waiters"] == 1, what="the waiter")
    K.kill(ep=waiter, signal_name="KILL")
    status(waiter)
    until(lambda: s3.stat()["waiters"] == 0, what="the dead waiter to be dropped")
    s3.release()
    out["dead_waiter_value"] = s3.value
    return out


def sem_withdraw() -> dict:
    """An acquire the caller gave up on is dropped, or its unit given back."""
    out = {}
    s = Semaphore("/wd", create=True)
    libipc.signal(signal.SIGALRM, lambda n, f: None)
    libipc.alarm(0.2)
    out["interrupted"] = code_of(lambda: s.acquire(timeout=5))
    until(lambda: s.stat()["waiters"] == 0, what="the withdrawn acquire to go")
    s.release()
    out["released_to_nobody"] = s.value
    raw = Proxy(s._ep)
    raw.acquire(handle=s._handle, seq=77)   # granted: as if its reply had been dropped
    out["granted"] = s.value
    current().send(s._ep, "withdraw", {"handle": s._handle, "seq": 77})
    out["given_back"] = s.value             # (the SEND came before this call)
    current().send(s._ep, "withdraw", {"handle": s._handle, "seq": 77})
    current().send(s._ep, "withdraw", {"handle": s._handle, "seq": 12345})
    out["again_nothing"] = s.value
    return out


def sem_server_faults() -> dict:
    """A stopped sem server: timed calls time out, untimed ones wait; a killed one:
    ServerDied at once, and the restarted server has lost every semaphore."""
    out = {}
    libipc.named_handle.CONTROL_TIMEOUT_S = 0.5
    libipc.named_handle.GRACE_S = 0.3
    s = Semaphore("/st", create=True)
    untimed = spawn("acquire", "/st", "none", 0.3, 0)
    until(lambda: s.stat()["waiters"] == 1, what="the untimed waiter")
    pid = pid_of("sem")
    os.kill(pid, signal.SIGSTOP)
    try:
        out["stopped_timed"] = timed(lambda: s.acquire(timeout=0.3))
        out["stopped_release"] = timed(s.release)   # (it still happens once continued)
        out["untimed_still_waits"] = not exited([untimed])
    finally:
        os.kill(pid, signal.SIGCONT)
    out["untimed_after_cont"] = status(untimed)
    waiter = spawn("acquire", "/st", "none", 10, 0)
    until(lambda: s.stat()["waiters"] == 1, what="a waiter")
    os.kill(pid, signal.SIGKILL)
    t0 = time.monotonic()
    out["killed_waiter"] = status(waiter)
    out["killed_waiter_s"] = round(time.monotonic() - t0, 3)
    restarted("sem", pid)
    out["old_handle"] = code_of(lambda: s.value)
    out["reopen"] = code_of(lambda: Semaphore("/st"))
    out["create_again"] = Semaphore("/st", create=True, initial=3).value
    libipc.named_handle.CONTROL_TIMEOUT_S = 10.0
    libipc.named_handle.GRACE_S = 10.0
    return out


# -- message queues -----------------------------------------------------------------
def mq_api() -> dict:
    out, raw = {}, lookup("mq")
    q = MessageQueue("/api", create=True, max_messages=4, max_message_size=16)
    for data, prio in ((b"a1", 1), (b"b5", 5), (b"c1", 1), (b"d5", 5)):
        q.send(data, prio)
    out["current"] = q.current_messages
    out["full"] = code_of(lambda: q.send(b"x", timeout=0))
    out["full_timed"] = timed(lambda: q.send(b"x", timeout=0.2))
    out["received"] = [msg(q.receive()) for _ in range(4)]
    out["empty"] = code_of(lambda: q.receive(timeout=0))
    out["empty_timed"] = timed(lambda: q.receive(timeout=0.2))
    out["oversize"] = code_of(lambda: q.send(b"x" * 17))
    q.send(b"x" * 16)
    out["exact_size"] = msg(q.receive())
    out["attrs"] = {k: v for k, v in q.attrs().items() if k != "name"}
    out["missing"] = code_of(lambda: MessageQueue("/nope"))
    out["exclusive"] = code_of(lambda: MessageQueue("/api", create=True, exclusive=True))
    out["sizes_of_existing"] = MessageQueue("/api", create=True, max_messages=9).max_messages
    ro, wo = MessageQueue("/api", mode="r"), MessageQueue("/api", mode="w")
    out["modes"] = [code_of(lambda: ro.send(b"x")), code_of(lambda: wo.receive(timeout=0))]
    out["bad"] = {
        "mode": code_of(lambda: MessageQueue("/api", mode="rx")),
        "name": code_of(lambda: MessageQueue("/a/b", create=True)),
        "max_messages_0": code_of(lambda: MessageQueue("/n", create=True, max_messages=0)),
        "max_messages_huge": code_of(lambda: MessageQueue("/n", create=True,
                                                          max_messages=10**6)),
        "size_0": code_of(lambda: MessageQueue("/n", create=True, max_message_size=0)),
        "size_huge": code_of(lambda: MessageQueue("/n", create=True,
                                                  max_message_size=1 << 20)),
        "sizes_type": code_of(lambda: raw.open(name="/n", create=True, max_messages="3")),
        "data_str": code_of(lambda: q.send("text")),
        "priority_negative": code_of(lambda: q.send(b"x", -1)),
        "priority_huge": code_of(lambda: q.send(b"x", 1 << 20)),
        "priority_type": code_of(lambda: q.send(b"x", 1.5)),
        "timeout_negative": code_of(lambda: q.receive(timeout=-0.5)),
        "unknown_handle": code_of(lambda: raw.receive(handle=99)),
        "notify_signal": code_of(lambda: raw.notify(handle=q._handle, signum=99)),
        "notify_kill": code_of(lambda: raw.notify(handle=q._handle, signum=9)),
        "unknown_op": code_of(lambda: raw.frobnicate()),
        "too_big_for_a_message": code_of(lambda: raw.call("send", handle=q._handle,
                                                          data=b"x" * (1 << 17))),
    }
    out["foreign_handle"] = status(spawn("foreign", "mq", q._handle))
    big = MessageQueue("/big", create=True, max_messages=1024, max_message_size=60000)
    out["no_space"] = code_of(lambda: MessageQueue("/big2", create=True, max_messages=1024,
                                                   max_message_size=60000))
    big.unlink()
    big.close()
    out["space_again"] = code_of(lambda: MessageQueue("/big2", create=True, max_messages=1024,
                                                      max_message_size=60000).unlink())
    # unlink: the name goes at once, the queue lives until its last handle closes
    a = MessageQueue("/life", create=True)
    b = MessageQueue("/life")
    a.send(b"kept")
    a.unlink()
    a.close()
    out["unlinked_open"] = code_of(lambda: MessageQueue("/life"))
    out["unlinked_still_there"] = [b.current_messages, msg(b.receive(timeout=0)),
                                   b.attrs()["unlinked"]]
    c = MessageQueue("/life", create=True)
    out["fresh_is_empty"] = c.current_messages
    b.close()
    out["unlink_missing"] = code_of(lambda: libipc.mq.unlink("/gone"))
    out["list"] = [row["name"] for row in raw.list()]
    return out


def mq_multi() -> dict:
    out = {}
    q = MessageQueue("/multi", create=True, max_messages=1)
    # receivers wait in order; each message goes to the longest-waiting one
    eps = []
    for i in range(3):
        eps.append(spawn("receive", "/multi", "none", 10))
        until(lambda i=i: q.attrs()["waiting_receivers"] == i + 1, what=f"receiver {i}")
    for i in range(3):
        q.send(str(10 + i).encode(), priority=i)
    out["receivers"] = [status(ep) for ep in eps]
    # senders wait on the full queue in order; freed slots take theirs in that order
    q.send(b"0")
    eps = []
    for i in range(3):
        eps.append(spawn("send", "/multi", str(20 + i), 9 - i))
        until(lambda i=i: q.attrs()["waiting_senders"] == i + 1, what=f"sender {i}")
    out["senders_got_in"] = [int(q.receive(timeout=5)[0]) for _ in range(4)]
    out["sender_statuses"] = [status(ep) for ep in eps]
    # notification: into the empty queue, to the registered process, once
    n = MessageQueue("/note", create=True)
    child = spawn("notify", "/note")
    until(lambda: n.attrs()["notify"], what="the registration")
    out["busy"] = code_of(lambda: n.notify(lambda q: None))
    n.send(b"42")
    out["notified_child"] = status(child)
    out["used_up"] = n.attrs()["notify"]
    # not while a receive waits for the message: the receiver gets it
    got = []
    n.notify(lambda q: got.append("fired"))
    r = spawn("receive", "/note", "none", 10)
    until(lambda: n.attrs()["waiting_receivers"] == 1, what="the receiver")
    n.send(b"7")
    out["receiver_instead"] = status(r)
    out["still_registered"] = n.attrs()["notify"]
    n.send(b"8")   # into the empty queue, nobody waiting: this process is told
    until(lambda: (libipc.pause(0.05), got)[1], what="the notification")
    out["own_notification"] = [got, msg(n.receive(timeout=0))]
    return out


def mq_dead() -> dict:
    out = {}
    q = MessageQueue("/dead", create=True, max_messages=1)
    r = spawn("receive", "/dead", "none", 10)   # a receiver killed: takes nothing
    until(lambda: q.attrs()["waiting_receivers"] == 1, what="the receiver")
    K.kill(ep=r, signal_name="KILL")
    status(r)
    until(lambda: q.attrs()["waiting_receivers"] == 0, what="the dead receiver dropped")
    q.send(b"1")
    out["after_dead_receiver"] = q.current_messages
    s = spawn("send", "/dead", "2", 0)   # killed on the full queue: its message never enters
    until(lambda: q.attrs()["waiting_senders"] == 1, what="the sender")
    K.kill(ep=s, signal_name="KILL")
    status(s)
    until(lambda: q.attrs()["waiting_senders"] == 0, what="the dead sender dropped")
    out["after_dead_sender"] = [msg(q.receive(timeout=0)), q.current_messages]
    n = spawn("notify_hold", "/dead")   # a registrant killed: the queue is free again
    until(lambda: q.attrs()["notify"], what="the registration")
    K.kill(ep=n, signal_name="KILL")
    status(n)
    until(lambda: not q.attrs()["notify"], what="the registration to go")
    out["register_after"] = code_of(lambda: q.notify(lambda q: None))
    q.notify(None)
    return out


def mq_withdraw() -> dict:
    out = {}
    q = MessageQueue("/wd", create=True, max_messages=2)
    libipc.signal(signal.SIGALRM, lambda n, f: None)
    libipc.alarm(0.2)
    out["interrupted"] = code_of(lambda: q.receive(timeout=5))
    until(lambda: q.attrs()["waiting_receivers"] == 0, what="the withdrawn receive to go")
    q.send(b"first", 3)
    q.send(b"second", 3)
    raw, ep, h = Proxy(q._ep), q._ep, q._handle
    out["raw_got"] = msg(raw.receive(handle=h, seq=5))   # as if its reply had been dropped
    current().send(ep, "withdraw", {"handle": h, "seq": 5})
    out["back_first"] = [msg(q.receive(timeout=0)), msg(q.receive(timeout=0))]
    raw.call("send", handle=h, data=b"unsent", seq=6)
    current().send(ep, "withdraw", {"handle": h, "seq": 6})
    out["send_taken_out"] = q.current_messages
    return out


def mq_server_faults() -> dict:
    out = {}
    libipc.named_handle.CONTROL_TIMEOUT_S = 0.5
    libipc.named_handle.GRACE_S = 0.3
    q = MessageQueue("/st", create=True)
    pid = pid_of("mq")
    os.kill(pid, signal.SIGSTOP)
    try:
        out["stopped_timed_receive"] = timed(lambda: q.receive(timeout=0.2))
        out["stopped_attrs"] = timed(lambda: q.current_messages)
    finally:
        os.kill(pid, signal.SIGCONT)
    out["after_cont"] = [code_of(lambda: q.send(b"5")), msg(q.receive(timeout=1))]
    r = spawn("receive", "/st", "none", 10)
    until(lambda: q.attrs()["waiting_receivers"] == 1, what="the receiver")
    os.kill(pid, signal.SIGKILL)
    t0 = time.monotonic()
    out["killed_receiver"] = status(r)
    out["killed_receiver_s"] = round(time.monotonic() - t0, 3)
    restarted("mq", pid)
    out["old_handle"] = code_of(lambda: q.send(b"x"))
    out["reopen"] = code_of(lambda: MessageQueue("/st"))
    out["create_again"] = MessageQueue("/st", create=True).current_messages
    libipc.named_handle.CONTROL_TIMEOUT_S = 10.0
    libipc.named_handle.GRACE_S = 10.0
    return out


def model() -> dict:
    import semmq_model
    return semmq_model.run(examples=int(os.environ.get("NK_SEMMQ_EXAMPLES", "25")))


SCENARIOS = {f.__name__: f for f in (sem_api, sem_fifo, sem_dead, sem_withdraw,
                                     sem_server_faults, mq_api, mq_multi, mq_dead,
                                     mq_withdraw, mq_server_faults, model)}

if __name__ == "__main__":
    names, out = sys.argv[1].split(","), sys.argv[2]
    results = {}
    for name in names:
        t0 = time.monotonic()
        try:
            results[name] = SCENARIOS[name]()
        except BaseException as exc:   # noqa: BLE001
            results[name] = {"session_error": repr(exc), "traceback": traceback.format_exc()}
        results[name]["seconds"] = round(time.monotonic() - t0, 2)
    with open(out, "w") as f:
        json.dump(results, f)
