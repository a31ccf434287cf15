"""The same system three ways: message counts per operation are exact, and
the placement shows in them (a microkernel pays four ring crossings per call,
an in-kernel server two)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

CLIENT = Path(__file__).resolve().parents[2] / "nanokernel" / "bench" / "compare_client.py"
FLAGS = {"microkernel": [], "hybrid": ["--hybrid"], "monolithic": ["--monolithic"]}


@pytest.fixture(scope="module")
def results(tmp_path_factory):
    """Run the compare workload once per mode (a few iterations each)."""
    from tests.conftest import isolated_env, run_boot
    out = {}
    for mode, flags in FLAGS.items():
        tmp = tmp_path_factory.mktemp(mode)
        path = tmp / "result.json"
        r = run_boot(tmp, isolated_env(tmp / "home"), *flags, "-c",
                     f"run {CLIENT} {path} 10")
        assert 0 == r.returncode, r.output
        out[mode] = json.loads(path.read_text())
    return out


class TestMessageCounts:
    def test_a_null_call_is_exactly_two_messages_in_every_mode(self, results):
        for mode in FLAGS:
            assert 2.0 == results[mode]["null-call"]["messages_per_op"], mode

    def test_a_microkernel_null_call_crosses_four_rings_a_monolithic_one_two(self, results):
        assert 4.0 == results["microkernel"]["null-call"]["crossings_per_op"]
        assert 2.0 == results["monolithic"]["null-call"]["crossings_per_op"]

    def test_fs_to_block_messages_disappear_when_both_are_in_the_kernel(self, results):
        """A synced write goes program→fs→block in a microkernel; in hybrid and
        monolithic mode fs calls block directly, so only the program's two calls remain."""
        assert results["microkernel"]["write+sync"]["messages_per_op"] > 4.0
        assert 4.0 == results["hybrid"]["write+sync"]["messages_per_op"]
        assert 4.0 == results["monolithic"]["write+sync"]["messages_per_op"]

    def test_a_cached_stat_is_one_call_in_every_mode(self, results):
        for mode in FLAGS:
            assert 2.0 == results[mode]["stat"]["messages_per_op"], mode
