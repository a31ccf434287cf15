"""The routing table in C (csrc/nk_route.h): one row per process-table slot.

The kernel writes a row when a process starts or stops and when its policy
state changes (alive, messages held for it, an ACL decision); the forward path
in C reads the rows.  The outstanding-call table lives here too, the one copy
of it: kernel/admit.py keeps its rules through these methods, the C path
through the same C functions, so a reply right is used up once either way.

Who calls what:
    register / clear          spawn, a hosted server's entry / exit
    set_alive / set_held      ring corruption / the kernel's pending queue
    remember / forget         admit.allowed() said yes for a pair / an ACL changed
    calls_of, has_call, record, take, withdraw, waiting_on, closes_cycle
                              admit.py and the exit path
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from libipc._nkffi import ffi, lib

if TYPE_CHECKING:
    from kernel.proc import Proc

SLOT_BITS = lib.NK_SLOT_BITS
_t0 = ffi.new("int64_t *")


class RouteTable:
    def __init__(self, max_calls: int, max_record: int) -> None:
        self.c = ffi.new("nk_table *")
        lib.nk_table_init(self.c, max_calls, max_record)
        self.max_calls = max_calls
        self._calls: dict[int, object] = {}   # slot -> its nk_call[] (keeps it alive)

    # -- rows -------------------------------------------------------------------
    def register(self, proc: Proc) -> None:
        calls = ffi.new("nk_call[]", self.max_calls)
        self._calls[proc.slot] = calls
        lib.nk_slot_register(self.c, proc.slot, proc.endpoint, proc.up or ffi.NULL,
                             proc.down or ffi.NULL, calls)

    def clear(self, proc: Proc) -> None:
        """The row goes with the process: its own calls, cache and counters too."""
        if self.c.slot[proc.slot].endpoint == proc.endpoint:
            lib.nk_slot_clear(self.c, proc.slot)
            self._calls.pop(proc.slot, None)

    def set_alive(self, proc: Proc, alive: bool) -> None:
        lib.nk_slot_flag(self.c, proc.slot, lib.NK_SLOT_ALIVE, alive)

    def set_held(self, proc: Proc, held: bool) -> None:
        """The kernel holds messages for ``proc``: the C path must not overtake them."""
        lib.nk_slot_flag(self.c, proc.slot, lib.NK_SLOT_HELD, held)

    def remember(self, src: Proc, dst: Proc) -> None:
        """admit.allowed(src, dst) said yes: C may admit the pair from now on."""
        lib.nk_acl_remember(self.c, src.slot, dst.endpoint)

    def forget(self, proc: Proc) -> None:
        """``proc``'s ACL changed: every decision made for it is void."""
        lib.nk_acl_forget(self.c, proc.slot)

    def moved(self, proc: Proc) -> dict[str, int]:
        """What the C path moved for ``proc`` (ps adds the Python path's own counts)."""
        row = self.c.slot[proc.slot]
        if row.endpoint != proc.endpoint:
            return dict.fromkeys(("msgs_in", "msgs_out", "bytes_in", "bytes_out",
                                  "ring_high_water"), 0)
        return {"msgs_in": row.msgs_in, "msgs_out": row.msgs_out, "bytes_in": row.bytes_in,
                "bytes_out": row.bytes_out, "ring_high_water": row.ring_high_water}

    # -- outstanding calls ----------------------------------------------------------
    def calls_of(self, proc: Proc) -> int:
        """How many calls ``proc`` waits for."""
        return lib.nk_call_count(self.c, proc.slot) if self._owns(proc) else 0

    def has_call(self, proc: Proc, msg_id: int) -> bool:
        return self._owns(proc) and lib.nk_call_find(self.c, proc.slot, msg_id) >= 0

    def record(self, caller: Proc, callee: Proc, msg_id: int, t0_ns: int) -> None:
        lib.nk_call_record(self.c, caller.slot, msg_id, callee.endpoint, t0_ns)

    def take(self, caller: Proc, msg_id: int, callee_ep: int) -> int | None:
        """Use up the right of ``callee_ep`` to answer ``caller``'s call: its t0 (ns)."""
        if self._owns(caller) and lib.nk_call_take(self.c, caller.slot, msg_id, callee_ep, _t0):
            return _t0[0]
        return None

    def withdraw(self, caller: Proc, msg_id: int) -> int | None:
        """Forget ``caller``'s call ``msg_id``: the callee's endpoint, or None."""
        if not self._owns(caller):
            return None
        return lib.nk_call_withdraw(self.c, caller.slot, msg_id) or None

    def waiting_on(self, callee: Proc) -> list[tuple[int, int]]:
        """(caller endpoint, call id) of every call ``callee`` has not answered."""
        n = lib.nk_call_waiting_on(self.c, callee.endpoint, ffi.NULL, ffi.NULL, 0)
        if not n:
            return []
        callers, ids = ffi.new("int32_t[]", n), ffi.new("uint64_t[]", n)
        lib.nk_call_waiting_on(self.c, callee.endpoint, callers, ids, n)
        return [(callers[i], ids[i]) for i in range(n)]

    def closes_cycle(self, src: Proc, dst: Proc) -> bool:
        return bool(lib.nk_call_cycle(self.c, src.slot, dst.slot))

    def _owns(self, proc: Proc) -> bool:
        return self.c.slot[proc.slot].endpoint == proc.endpoint
