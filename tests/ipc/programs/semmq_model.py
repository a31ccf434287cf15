"""Model tests of the sem and mq servers, run inside a boot by semmq_session.py.

hypothesis drives the real servers through libipc.Semaphore / MessageQueue
(non-blocking calls: timeout=0, one process) and a plain Python model side by
side, and compares every result and every error code.  The model is the
semantics of docs/ipc.md: names, handles, values, undo at close, unlink's
lifetime; priorities (highest first, FIFO within one), full and empty queues,
sizes.
"""

from __future__ import annotations

import itertools

from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, invariant, rule, run_state_machine_as_test

import libipc.mq
import libipc.sem
from libipc import IpcError, MessageQueue, Semaphore

NAMES = ["a", "b", "c"]
_runs = itertools.count()


def outcome(fn):
    try:
        return ("ok", fn())
    except IpcError as exc:
        return ("error", exc.code)


class SemObj:
    def __init__(self, value: int) -> None:
        self.value, self.opens = value, 0


class SemMachine(RuleBasedStateMachine):
    """One process's view: every acquire is timeout=0."""

    def __init__(self) -> None:
        super().__init__()
        self.prefix = f"/m{next(_runs)}-"
        self.named: dict[str, SemObj] = {}
        self.handles: list[list] = []   # [real Semaphore, model object, held, undo]

    @rule(n=st.sampled_from(NAMES), create=st.booleans(), exclusive=st.booleans(),
          initial=st.integers(0, 3), undo=st.booleans())
    def open(self, n, create, exclusive, initial, undo):
        real = outcome(lambda: Semaphore(self.prefix + n, create, exclusive, initial, undo=undo))
        obj = self.named.get(n)
        if exclusive and not create:
            want = ("error", "InvalidArgument")
        elif obj is not None and exclusive:
            want = ("error", "FileExists")
        elif obj is None and not create:
            want = ("error", "FileNotFound")
        else:
            obj = self.named.setdefault(n, obj or SemObj(initial))
            obj.opens += 1
            want = ("ok", obj.value)
            self.handles.append([real[1], obj, 0, undo])
        got = (real[0], real[1].value) if real[0] == "ok" else real
        assert want == got, (want, got)

    @rule(i=st.integers(0, 7))
    def acquire(self, i):
        if i < len(self.handles):
            h = self.handles[i]
            got = outcome(lambda: h[0].acquire(timeout=0))
            if h[1].value > 0:
                h[1].value -= 1
                h[2] += 1
                assert ("ok", None) == got
            else:
                assert ("error", "WouldBlock") == got

    @rule(i=st.integers(0, 7))
    def release(self, i):
        if i < len(self.handles):
            h = self.handles[i]
            assert ("ok", None) == outcome(h[0].release)
            h[1].value += 1
            h[2] = max(0, h[2] - 1)

    @rule(i=st.integers(0, 7))
    def close(self, i):
        if i < len(self.handles):
            real, obj, held, undo = self.handles.pop(i)
            real.close()
            obj.opens -= 1
            if undo:
                obj.value += held

    @rule(n=st.sampled_from(NAMES))
    def unlink(self, n):
        got = outcome(lambda: libipc.sem.unlink(self.prefix + n))
        want = ("ok", None) if self.named.pop(n, None) is not None else ("error", "FileNotFound")
        assert want == got

    @invariant()
    def values_agree(self):
        for real, obj, held, _ in self.handles:
            st_ = real.stat()
            assert (obj.value, held, obj.opens) == (st_["value"], st_["held"], st_["opens"])

    def teardown(self):
        for h in self.handles:
            h[0].close()
        for n in self.named:
            libipc.sem.unlink(self.prefix + n)


class QueueObj:
    def __init__(self, max_messages: int, max_size: int) -> None:
        self.max_messages, self.max_size = max_messages, max_size
        self.messages: list[tuple[int, int, bytes]] = []   # (-priority, order, data)


class MqMachine(RuleBasedStateMachine):
    def __init__(self) -> None:
        super().__init__()
        self.prefix = f"/q{next(_runs)}-"
        self.named: dict[str, QueueObj] = {}
        self.handles: list[tuple[MessageQueue, QueueObj]] = []
        self.order = itertools.count()

    @rule(n=st.sampled_from(NAMES), create=st.booleans(), exclusive=st.booleans(),
          max_messages=st.integers(1, 4), size=st.integers(1, 8))
    def open(self, n, create, exclusive, max_messages, size):
        real = outcome(lambda: MessageQueue(self.prefix + n, create, exclusive, max_messages,
                                            size))
        obj = self.named.get(n)
        if exclusive and not create:
            want = ("error", "InvalidArgument")
        elif obj is not None and exclusive:
            want = ("error", "FileExists")
        elif obj is None and not create:
            want = ("error", "FileNotFound")
        else:
            obj = self.named.setdefault(n, obj or QueueObj(max_messages, size))
            want = ("ok", (obj.max_messages, obj.max_size))
            self.handles.append((real[1], obj))
        got = (real[0], (real[1].max_messages, real[1].max_message_size)) \
            if real[0] == "ok" else real
        assert want == got, (want, got)

    @rule(i=st.integers(0, 7), data=st.binary(max_size=10), priority=st.integers(0, 3))
    def send(self, i, data, priority):
        if i < len(self.handles):
            real, obj = self.handles[i]
            got = outcome(lambda: real.send(data, priority, timeout=0))
            if len(data) > obj.max_size:
                assert ("error", "MessageTooLarge") == got
            elif len(obj.messages) >= obj.max_messages:
                assert ("error", "WouldBlock") == got
            else:
                assert ("ok", None) == got
                obj.messages.append((-priority, next(self.order), data))

    @rule(i=st.integers(0, 7))
    def receive(self, i):
        if i < len(self.handles):
            real, obj = self.handles[i]
            got = outcome(lambda: real.receive(timeout=0))
            if not obj.messages:
                assert ("error", "WouldBlock") == got
            else:
                first = min(obj.messages)
                obj.messages.remove(first)
                assert ("ok", (first[2], -first[0])) == got

    @rule(i=st.integers(0, 7))
    def close(self, i):
        if i < len(self.handles):
            self.handles.pop(i)[0].close()

    @rule(n=st.sampled_from(NAMES))
    def unlink(self, n):
        got = outcome(lambda: libipc.mq.unlink(self.prefix + n))
        want = ("ok", None) if self.named.pop(n, None) is not None else ("error", "FileNotFound")
        assert want == got

    @invariant()
    def counts_agree(self):
        for real, obj in self.handles:
            assert len(obj.messages) == real.current_messages

    def teardown(self):
        for real, _ in self.handles:
            real.close()
        for n in self.named:
            libipc.mq.unlink(self.prefix + n)


def run(examples: int) -> dict:
    config = settings(max_examples=examples, stateful_step_count=25, deadline=None,
                      suppress_health_check=list(HealthCheck), database=None)
    out = {}
    for name, machine in (("sem", SemMachine), ("mq", MqMachine)):
        try:
            run_state_machine_as_test(machine, settings=config)
            out[name] = "ok"
        except AssertionError as exc:
            out[name] = f"counterexample: {exc}"
    return out
