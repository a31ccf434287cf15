"""devices — the character devices: null, zero, random, and the clock.

Why the system needs it: in a microkernel even /dev/null is a server.  These
are the smallest drivers there are, which makes them the place to see a
driver's two halves: argument checking (a driver trusts no caller) and
waiting without blocking (``sleep`` is a deferred reply, so one sleeping
client never holds up the others).

Ops:
    read(device, n)        → bytes   "null" → b"", "zero" → n zero bytes,
                                     "random" → n bytes from os.urandom
    write(device, data)    → int     every device swallows what it is given
    devices()              → [str]   the device names
    now()                  → float   time.time()
    sleep(seconds)         → None    replies after ``seconds`` (deferred)
(In a reproducible run — boot --seed/--record/--replay — the clock is virtual
and "random" is seeded by the boot's seed: servers/devclock.py.)
    alarm(seconds)         → None    SIGALRM to the caller after ``seconds``, through
                                     the kernel like any signal (libipc.alarm);
                                     one alarm per caller, a new one replaces it,
                                     0 cancels it (like alarm(2))

A read returns at most ``max_read`` bytes, what one message can carry:
``data_per_message(max_message)`` of libipc/limits.py with the kernel's
limit (60 KiB by default).  A negative, huge (more than that) or
non-integer size, an unknown device, a negative / not finite / longer than
a day duration: each is InvalidArgument with a message saying what was wrong.
"""

from __future__ import annotations

import math
import os
import random
import signal

from libipc import InvalidArgument, IpcError, Server, kernel, op
from libipc.limits import DATA_PER_MESSAGE, data_per_message
from libipc.ordered import ordered, seed
from libipc.runtime import Timer
from servers.devclock import Cancel, HostClock, VirtualClock

DEVICES = ("null", "zero", "random")
MAX_SECONDS = 24 * 3600.0
KERNEL_TIMEOUT_S = 5.0   # the kernel answers at once; a bound all the same


class Devices(Server):
    name = "devices"

    def __init__(self) -> None:
        super().__init__()
        self.max_read = DATA_PER_MESSAGE
        self.alarms: dict[int, Timer | Cancel] = {}
        self.clock: VirtualClock | HostClock = VirtualClock() if ordered() else None
        self.rng = random.Random(seed()) if ordered() else None

    def start(self) -> None:
        if self.clock is None:
            self.clock = HostClock(self.runtime.after)
        try:
            self.max_read = data_per_message(int(kernel().stats()["max_message"]))
        except Exception:   # an old kernel without max_message: keep the default
            self.log.warning("max_message_unknown", using=self.max_read)

    # -- null, zero, random ------------------------------------------------------
    @op
    def read(self, ctx, device: str, n: int) -> bytes:
        """``n`` bytes from ``device``."""
        _check_device("read", device)
        if not 0 <= n <= self.max_read:
            raise InvalidArgument(f"read: n must be 0 to {self.max_read} bytes "
                                  f"(one message), got {n}")
        if device == "null":
            return b""
        if device == "zero":
            return bytes(n)
        return self.rng.randbytes(n) if self.rng is not None else os.urandom(n)

    @op
    def write(self, ctx, device: str, data: bytes) -> int:
        """Swallow ``data``; returns how many bytes were taken."""
        _check_device("write", device)
        return len(data)

    @op
    def devices(self, ctx) -> list:
        return list(DEVICES)

    # -- clock -----------------------------------------------------------------------
    @op
    def now(self, ctx) -> float:
        return self.clock.now()

    @op
    def sleep(self, ctx, seconds: float) -> None:
        """Reply after ``seconds``; other clients are served meanwhile."""
        _check_seconds("sleep", seconds)
        reply = ctx.defer()
        self.clock.sleep(seconds, reply.reply)

    @op
    def alarm(self, ctx, seconds: float) -> None:
        """SIGALRM to the caller after ``seconds`` (0 cancels)."""
        _check_seconds("alarm", seconds)
        caller = ctx.sender.endpoint
        old = self.alarms.pop(caller, None)
        if old is not None:
            old.cancel()
        if seconds > 0:
            self.alarms[caller] = self.clock.after(seconds, lambda: self._ring(caller))

    def _ring(self, caller: int) -> None:
        self.alarms.pop(caller, None)
        try:   # the caller may call us, so the kernel lets us signal it
            kernel(KERNEL_TIMEOUT_S).signal(ep=caller, signum=signal.SIGALRM)
        except IpcError as exc:   # it exited meanwhile: nobody to tell
            self.log.info("alarm_undelivered", caller=caller, error=exc.code)


def _check_device(where: str, device: str) -> None:
    if device not in DEVICES:
        raise InvalidArgument(f"{where}: no device {device!r} (devices: {', '.join(DEVICES)})")


def _check_seconds(where: str, seconds: float) -> None:
    if not (math.isfinite(seconds) and 0 <= seconds <= MAX_SECONDS):
        raise InvalidArgument(f"{where}: seconds must be from 0 to {MAX_SECONDS:g}, "
                              f"got {seconds}")


if __name__ == "__main__":
    Devices.main()
