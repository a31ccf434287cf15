"""`nanokernel chaos`: the campaign finds real faults and reports them, and the system
survives a campaign with nothing lost (the issue's targets).

The campaign in CI is ~500 faults (about a minute on two cores); ``make stress``
(NK_STRESS=long) runs the issue's 10,000."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest

from nanokernel.chaos.report import render, verdict

LONG = os.environ.get("NK_STRESS") == "long"


def chaos(nk_env, *args: str, timeout: float) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "nanokernel", "chaos", *args], env=nk_env,
                          capture_output=True, text=True, timeout=timeout,
                          stdin=subprocess.DEVNULL)


@pytest.mark.stress
@pytest.mark.timeout(3600 if LONG else 600)
def test_a_campaign_loses_nothing_and_hangs_nothing(nk_env, tmp_path):
    faults = 10_000 if LONG else 500
    r = chaos(nk_env, "--faults", str(faults), "--seed", "7", "--json", "--keep",
              str(tmp_path / "work"), "--max-seconds", "3000" if LONG else "240",
              timeout=3500 if LONG else 560)
    report = json.loads(r.stdout.strip().splitlines()[-1])
    text = render(report)
    assert report.get("faults") == faults, text
    assert not report.get("failures"), text
    assert report["verify"]["lost"] == [] and report["verify"]["files"] > 0, text
    assert report["fsck"]["clean"], text
    assert sum(report["injected"].values()) >= faults * 0.9, text   # (a few not injectable)
    assert verdict(report) == "PASS" and r.returncode == 0, text
    for kind in ("files", "pipes", "semmq"):
        assert report["workload"][kind]["bytes_verified"] > 0, text


@pytest.mark.stress
@pytest.mark.skipif(not LONG, reason="a second long campaign: make stress (NK_STRESS=long)")
@pytest.mark.timeout(1800)
def test_kills_and_hangs_of_the_core_servers_lose_no_synced_byte(nk_env, tmp_path):
    """The issue's check: SIGKILL and SIGSTOP only, on fs, block, naming, devices and
    console, under the writer that trusts only a returned sync."""
    r = chaos(nk_env, "--faults", "1000", "--seed", "11", "--kinds", "kill,stop",
              "--targets", "fs,block,naming,devices,console", "--json",
              "--max-seconds", "1500", timeout=1750)
    report = json.loads(r.stdout.strip().splitlines()[-1])
    assert verdict(report) == "PASS" and r.returncode == 0, render(report)
    assert report["verify"]["files"] > 0, render(report)


def test_bad_options_are_clear_errors(nk_env, tmp_path):
    (tmp_path / "old").mkdir()
    (tmp_path / "old" / "campaign.json").write_text("{}")
    r = chaos(nk_env, "--keep", str(tmp_path / "old"), timeout=60)
    assert r.returncode == 2 and "not empty" in r.stderr
    r = chaos(nk_env, "--targets", "fs,kernel", timeout=60)
    assert r.returncode == 2 and "unknown server(s) kernel" in r.stderr
    r = chaos(nk_env, "--kinds", "kill,meteor", timeout=60)
    assert r.returncode == 2 and "unknown fault type(s) meteor" in r.stderr
    r = chaos(nk_env, "--faults", "0", timeout=60)
    assert r.returncode == 2 and "--faults must be at least 1" in r.stderr
    r = chaos(nk_env, "--help", timeout=60)
    assert r.returncode == 0 and "--seed" in r.stdout


def test_the_verdict_fails_on_any_loss_hang_or_damage():
    clean = {"seed": 1, "faults": 3, "failures": [], "verify": {"files": 2, "lost": []},
             "fsck": {"clean": True, "problems": []}, "injected": {"kill": 3},
             "workload": {"files": {"bytes_verified": 5}, "pipes": {"bytes_verified": 9}}}
    assert verdict(clean) == "PASS"
    idle = {**clean, "workload": {"files": {"bytes_verified": 0}}}
    nothing_synced = {**clean, "verify": {"files": 0, "lost": []}}
    assert verdict(idle) == verdict(nothing_synced) == "FAIL"   # it proved nothing
    lost = {**clean, "verify": {"files": 2, "lost": [{"path": "/chaos/f1", "why": "gone",
                                                       "bytes": 10}]}}
    hung = {**clean, "failures": [{"what": "hang", "detail": "fs"}]}
    damaged = {**clean, "fsck": {"clean": False, "problems": ["inode 3: bad"]}}
    broken = {**clean, "campaign_error": "no result"}
    for report in (lost, hung, damaged, broken):
        assert verdict(report) == "FAIL", report
    assert "lost /chaos/f1: gone" in render(lost)
    assert "hang: fs" in render(hung)
