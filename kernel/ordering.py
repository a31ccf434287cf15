"""Whose message goes next, when the kernel delivers one at a time.

``boot --seed N`` and ``boot --replay FILE`` turn the kernel's loop into a
deterministic one (Kernel._ordered_pass): it waits until every process waits
(kernel/quiescence.py), then takes exactly one message off one ready ring,
routes it, and waits again.  Which ring is the only choice left, and it is
made here:

* ``Seeded``: a seeded random choice among the ready senders, in slot order —
  the same seed and the same commands give the same order (the idea of a
  model checker's schedule, or OSTEP's ``-s SEED``);
* ``Replay``: the sender the recording names next (kernel/recording.py); if
  that sender has no such message the run diverges from the recording: one
  line says where and what, and the rest of the run goes in seeded order.
  A process's exit is an event of the order too (it makes the kernel notify
  its parent and watchers): a replay holds an exit that comes early until the
  recording reaches it.
"""

from __future__ import annotations

import random
import sys
import time
from typing import TYPE_CHECKING

from libipc._nkffi import ffi, lib

from kernel.recording import EXIT, HALT, Delivery, kind_name

if TYPE_CHECKING:
    from kernel.kernel import Kernel
    from kernel.proc import Proc

GRACE_S = 2.0   # a replay waits this long for the recorded sender's message or exit


class Seeded:
    def __init__(self, seed: int) -> None:
        self.seed = seed
        self.rng = random.Random(seed)

    def choose(self, ready: list[Proc], k: Kernel) -> Proc | None:
        return self.rng.choice(sorted(ready, key=lambda p: p.slot))

    def hold_exit(self, proc: Proc, status: int) -> bool:
        return False   # an exit is taken as it comes (the kernel settled before it)

    def due_exits(self) -> list[tuple[Proc, int]]:
        return []

    def holds(self, proc: Proc) -> bool:
        return False

    def halting(self, k: Kernel) -> None:
        pass

    def finish(self, k: Kernel) -> None:
        pass


class Replay:
    def __init__(self, deliveries: list[Delivery], source: str) -> None:
        self.deliveries = deliveries
        self.source = source
        self.next = 0
        self.diverged: str | None = None
        self.fallback = Seeded(0)
        self._waiting_since: float | None = None
        self._hdr = ffi.new("nk_msg_header *")
        self.held: dict[int, tuple[Proc, int]] = {}   # exits come before their turn
        self.halted = False   # the recording's HALT reached: the rest is the kernel's

    # -- exits ------------------------------------------------------------------------
    def hold_exit(self, proc: Proc, status: int) -> bool:
        """Keep an exit until the recording reaches it (True: held)."""
        if self.diverged is not None or self.halted:
            return False
        self.held[proc.endpoint] = (proc, status)
        return True

    def holds(self, proc: Proc) -> bool:
        return proc.endpoint in self.held

    def due_exits(self) -> list[tuple[Proc, int]]:
        """The held exits whose turn it is (after a divergence: all of them)."""
        if self.diverged is not None or self.halted:
            due, self.held = list(self.held.values()), {}
            return due
        due = []
        while self.next < len(self.deliveries):
            want = self.deliveries[self.next]
            if want.kind != EXIT or want.src not in self.held:
                break
            due.append(self.held.pop(want.src))
            self.next += 1
            self._waiting_since = None
        return due

    # -- messages -----------------------------------------------------------------------
    def choose(self, ready: list[Proc], k: Kernel) -> Proc | None:
        if self.diverged is not None or self.halted:
            return self.fallback.choose(ready, k)
        if self.next >= len(self.deliveries):
            return self._diverge(k, ready, "the recording ends here")
        want = self.deliveries[self.next]
        if want.kind == EXIT:   # not come yet (due_exits takes it when it has)
            return self._wait_or_diverge(k, ready, want, f"{want.src_name} did not exit")
        if want.kind == HALT:   # the recording halted here; this run goes on
            return self._wait_or_diverge(k, ready, want, "this run did not halt")
        for proc in ready:
            if proc.endpoint == want.src:
                head = self.head(proc, k)
                if (head.dst, head.kind) != (want.dst, want.kind):
                    return self._diverge(k, ready, f"{head.describe()} came instead")
                self.next += 1
                self._waiting_since = None
                return proc
        return self._wait_or_diverge(k, ready, want, f"{want.src_name} sent nothing of the kind")

    def _wait_or_diverge(self, k: Kernel, ready: list[Proc], want: Delivery,
                         what: str) -> Proc | None:
        now = time.monotonic()
        if self._waiting_since is None:
            self._waiting_since = now
        if now - self._waiting_since < GRACE_S and k.resolve(want.src) is not None:
            return None   # it may still be on its way: look again shortly
        return self._diverge(k, ready, what)

    def head(self, proc: Proc, k: Kernel) -> Delivery:
        """What ``proc``'s next message is: sender, receiver, kind."""
        lib.nk_msg_peek(proc.up, self._hdr)
        return delivery_of(proc, self._hdr, k)

    def _diverge(self, k: Kernel, ready: list[Proc], what: str) -> Proc | None:
        expected = (self.deliveries[self.next].describe() if self.next < len(self.deliveries)
                    else "nothing more")
        others = ", ".join(self.head(p, k).describe() for p in sorted(ready, key=lambda p: p.slot))
        self.diverged = (f"replay of {self.source} diverged at delivery {self.next + 1}: "
                         f"the recording has {expected}; {what} (ready: {others or 'none'})")
        print(f"nanokernel: {self.diverged}; the rest of the run is in seeded order (seed 0)",
              file=sys.stderr, flush=True)
        k.log.warning("replay_diverged", at=self.next + 1, expected=expected, what=what,
                      ready=others)
        return self.fallback.choose(ready, k) if ready else None

    def halting(self, k: Kernel) -> None:
        """This run begins to halt: where the recording did?"""
        if self.diverged is not None or self.halted:
            return
        if self.next < len(self.deliveries) and self.deliveries[self.next].kind == HALT:
            self.next += 1
            self.halted = True
            return
        self._diverge(k, [], "this run began to halt")

    def finish(self, k: Kernel) -> None:
        """At the end of the run: say whether it went as recorded."""
        if self.halted:
            print(f"nanokernel: replayed {self.next} deliveries as recorded in "
                  f"{self.source}, up to the halt", file=sys.stderr, flush=True)
            return
        if self.diverged is None and self.next < len(self.deliveries):
            left = self.deliveries[self.next].describe()
            self.diverged = (f"replay of {self.source} diverged at delivery {self.next + 1}: "
                             f"the run ended where the recording has {left}")
            print(f"nanokernel: {self.diverged}", file=sys.stderr, flush=True)
        elif self.diverged is None:
            print(f"nanokernel: replayed {self.next} deliveries as recorded in {self.source}",
                  file=sys.stderr, flush=True)


def delivery_of(proc: Proc, hdr, k: Kernel) -> Delivery:
    dst = k.resolve(hdr.dst)
    dst_name = "kernel" if hdr.dst == 0 else dst.name if dst is not None else str(hdr.dst)
    return Delivery(proc.endpoint, proc.name, hdr.dst, dst_name, kind_name(hdr.kind))
