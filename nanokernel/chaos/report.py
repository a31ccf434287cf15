"""The campaign's report: the verdict and the text `nanokernel chaos` prints."""

from __future__ import annotations

from collections import Counter


def lost_bytes(report: dict) -> int:
    return sum(item["bytes"] for item in report.get("verify", {}).get("lost", []))


def verdict(report: dict) -> str:
    """PASS only if nothing failed, nothing synced was lost, the disk is clean — and the
    workload did check something (a campaign that verified nothing proves nothing)."""
    workload = report.get("workload", {})
    problems = (report.get("campaign_error") or report.get("failures")
                or "verify_error" in report.get("verify", {})
                or report.get("verify", {}).get("lost")
                or not report.get("verify", {}).get("files")
                or not workload
                or any(not data.get("bytes_verified") for data in workload.values())
                or not report.get("fsck", {}).get("clean", False))
    return "FAIL" if problems else "PASS"


def errors_met(report: dict) -> dict[str, dict[str, int]]:
    return {kind: data.get("errors", {}) for kind, data in report.get("workload", {}).items()}


def render(report: dict) -> str:
    lines = [f"nanokernel chaos: seed {report['seed']}, {report.get('faults', 0)} faults in "
             f"{report.get('seconds', report.get('boot_seconds', 0))} s"]
    if report.get("campaign_error"):
        lines.append(f"campaign    ERROR {report['campaign_error']}")
    injected = report.get("injected", {})
    lines.append("faults      " + _counts(injected))
    lines.append("targets     " + _counts(report.get("by_target", {})))
    if report.get("injection_errors"):
        lines.append("not injected " + _counts(report["injection_errors"]))
    lines.append("restarts    " + (_counts(report.get("restarts", {})) or "none"))
    rec = report.get("recovery_s") or []
    if rec:
        lines.append(f"recovery    median {rec[len(rec) // 2]:.2f} s, slowest {rec[-1]:.2f} s")
    for kind, errors in errors_met(report).items():
        data = report["workload"][kind]
        lines.append(f"workload    {kind}: {data.get('ops', 0)} ops, "
                     f"{data.get('bytes_verified', 0)} bytes verified; errors met: "
                     f"{_counts(errors) or 'none'}")
    failures = report.get("failures", [])
    kinds = Counter(f["what"] for f in failures)
    lines.append("failures    " + (_counts(kinds) or "none"))
    for f in failures[:15]:
        lines.append(f"  {f.get('at_s', '?')} s  {f['what']}: {f['detail']}")
    if len(failures) > 15:
        lines.append(f"  ... and {len(failures) - 15} more")
    verify = report.get("verify", {})
    if "verify_error" in verify:
        lines.append(f"synced      ERROR {verify['verify_error']}")
    else:
        lines.append(f"synced      {verify.get('files', 0)} files checked after a reboot, "
                     f"{verify.get('bytes_checked', 0)} bytes; lost: {lost_bytes(report)} "
                     f"bytes in {len(verify.get('lost', []))} files")
        for item in verify.get("lost", [])[:10]:
            lines.append(f"  lost {item['path']}: {item['why']}")
    fsck = report.get("fsck", {})
    lines.append("fsck        " + ("clean" if fsck.get("clean") else
                                   f"{len(fsck.get('problems', []))} problems"))
    for p in fsck.get("problems", [])[:10]:
        lines.append(f"  {p}")
    lines.append(f"result      {verdict(report)}")
    return "\n".join(lines)


def _counts(counts: dict) -> str:
    return "  ".join(f"{k} {v}" for k, v in sorted(counts.items(), key=lambda kv: -kv[1]))
