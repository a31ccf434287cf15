"""Fuzzing the router through a real kernel: a hostile process puts thousands of random
records on its own "up" ring (random kinds, destinations, flags, ids, body lengths and
bodies, junk kernel calls, replies to calls never made) while init keeps calling an echo
server.  The kernel, the echo server and init must come through untouched; the hostile
process lives on — unless it corrupts its ring's indices, which only it pays for.

The default run is short (CI); ``NK_STRESS=long`` runs the stress variant with many more
records and several seeds.
"""

from __future__ import annotations

import os

import pytest

from tests.kernel.test_kernel import run_scenario

LONG = os.environ.get("NK_STRESS") == "long"


def fuzz(tmp_path, nk_env, seed: int, count: int, corrupt_at: int = -1,
         timeout: float = 60) -> dict:
    env = dict(nk_env, NK_FUZZ_SEED=str(seed), NK_FUZZ_COUNT=str(count),
               NK_FUZZ_CORRUPT_AT=str(corrupt_at), NK_FUZZ_DEADLINE=str(timeout - 15))
    return run_scenario("fuzz", tmp_path, env, timeout=timeout)


def check(r: dict, count: int, corrupted: bool = False) -> None:
    if corrupted:   # killed for its ring, and for nothing else
        assert -9 == r["hostile_status"], r
        assert ["hostile"] == r["corrupt_kills"]
    else:           # valid ring records only: it must survive, every record taken
        assert 0 == r["hostile_status"], r
        assert [] == r["corrupt_kills"]
        assert r["hostile"]["put"] == count, r["hostile"]
    # The kernel answered it all with errors, never crashed in a kernel call.
    assert 0 == r["syscall_crashed"]
    assert r["stats"]["refused"] > 0
    # The echo server and the well-behaved caller never noticed.
    assert r["calls"] > 0
    assert 0 == r["wrong"]
    assert r["slowest"] < 5.0
    assert "still here" == r["echo_after"]
    assert r["echo_same_pid"]
    assert {"init", "echo"} == set(r["names"])


def test_random_records_do_not_hurt_the_kernel_or_others(tmp_path, nk_env):
    check(fuzz(tmp_path, nk_env, seed=1234, count=6000), 6000)


def test_random_records_then_corrupt_indices_kill_only_the_fuzzer(tmp_path, nk_env):
    check(fuzz(tmp_path, nk_env, seed=99, count=3000, corrupt_at=1500), 3000, corrupted=True)


@pytest.mark.stress
@pytest.mark.skipif(not LONG, reason="NK_STRESS=long runs the long fuzz")
@pytest.mark.parametrize("seed", [1, 2, 3, 4])
def test_random_records_long(tmp_path, nk_env, seed):
    corrupt_at = 400_000 if seed == 4 else -1
    check(fuzz(tmp_path, nk_env, seed=seed, count=500_000, corrupt_at=corrupt_at,
               timeout=600), 500_000, corrupted=corrupt_at >= 0)
