"""The call table in C (csrc/nk_route.c) against a Python model: random sequences
of calls, answers, cancels and exits, compared after every step (hypothesis)."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st
from libipc._nkffi import ffi, lib

from kernel import endpoint as ep

SLOTS = [ep.FIRST_DYNAMIC + i for i in range(4)]
MAX_CALLS = 3
ENDPOINT = {s: ep.make(s, 1) for s in SLOTS}

ops = st.lists(st.one_of(
    st.tuples(st.just("call"), st.sampled_from(SLOTS), st.sampled_from(SLOTS),
              st.integers(1, 4)),
    st.tuples(st.just("answer"), st.sampled_from(SLOTS), st.sampled_from(SLOTS),
              st.integers(1, 4)),
    st.tuples(st.just("cancel"), st.sampled_from(SLOTS), st.integers(1, 4)),
    st.tuples(st.just("exit"), st.sampled_from(SLOTS)),
), max_size=60)


def fresh_table():
    t = ffi.new("nk_table *")
    lib.nk_table_init(t, MAX_CALLS, 1024)
    keep = {}
    for s in SLOTS:
        keep[s] = ffi.new("nk_call[]", MAX_CALLS)
        lib.nk_slot_register(t, s, ENDPOINT[s], ffi.NULL, ffi.NULL, keep[s])
    return t, keep


def model_cycle(model: dict[int, dict[int, int]], src: int, dst: int) -> bool:
    seen, stack = set(), [dst]
    while stack:
        p = stack.pop()
        if p == src:
            return True
        if p in seen:
            continue
        seen.add(p)
        stack.extend(model[p].values())
    return False


@settings(max_examples=300, deadline=None)
@given(ops)
def test_the_call_table_matches_a_dict_model(steps):
    t, keep = fresh_table()
    model: dict[int, dict[int, int]] = {s: {} for s in SLOTS}   # caller -> id -> callee slot
    t0 = ffi.new("int64_t *")
    for step in steps:
        if step[0] == "call":
            _, src, dst, call_id = step
            assert bool(lib.nk_call_cycle(t, src, dst)) == model_cycle(model, src, dst)
            fits = len(model[src]) < MAX_CALLS and call_id not in model[src]
            if fits:
                assert 0 == lib.nk_call_record(t, src, call_id, ENDPOINT[dst], 1000 + call_id)
                model[src][call_id] = dst
        elif step[0] == "answer":   # dst answers src's call
            _, src, dst, call_id = step
            expected = model[src].get(call_id) == dst
            assert expected == bool(lib.nk_call_take(t, src, call_id, ENDPOINT[dst], t0))
            if expected:
                assert 1000 + call_id == t0[0]
                del model[src][call_id]
        elif step[0] == "cancel":
            _, src, call_id = step
            callee = model[src].pop(call_id, None)
            got = lib.nk_call_withdraw(t, src, call_id)
            assert got == (ENDPOINT[callee] if callee is not None else 0)
        else:   # an exit: waiting callers lose their calls, the row starts afresh
            _, gone = step
            n = lib.nk_call_waiting_on(t, ENDPOINT[gone], ffi.NULL, ffi.NULL, 0)
            callers, ids = ffi.new("int32_t[]", max(n, 1)), ffi.new("uint64_t[]", max(n, 1))
            lib.nk_call_waiting_on(t, ENDPOINT[gone], callers, ids, n)
            waiting = sorted((callers[i], ids[i]) for i in range(n))
            assert waiting == sorted((ENDPOINT[c], i) for c in SLOTS
                                     for i, callee in model[c].items() if callee == gone)
            for caller_ep, call_id in waiting:
                assert lib.nk_call_take(t, caller_ep & (ep.MAX_SLOTS - 1), call_id,
                                        ENDPOINT[gone], t0)
            lib.nk_slot_register(t, gone, ENDPOINT[gone], ffi.NULL, ffi.NULL, keep[gone])
            model[gone] = {}
            for c in SLOTS:
                model[c] = {i: d for i, d in model[c].items() if d != gone}
        for s in SLOTS:
            assert len(model[s]) == lib.nk_call_count(t, s)
            for call_id in range(1, 5):
                assert (call_id in model[s]) == (lib.nk_call_find(t, s, call_id) >= 0)
