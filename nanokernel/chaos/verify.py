"""The campaign's second boot: ``verify.py OUT.json MANIFEST.json`` (a session program).

The manifest lists each file the workload wrote and saw a ``sync`` return for
(with its digest), as it stood when the campaign ended.  Here, on the same disk
after a reboot, every one must be there with exactly those bytes: a file
missing or different is **synced data lost**.
"""

from __future__ import annotations

import hashlib
import json
import sys
from pathlib import Path

import libipc
from libipc import IpcError


def verify(manifest: dict[str, dict]) -> dict:
    lost, checked = [], 0
    for path, want in sorted(manifest.items()):
        try:
            with libipc.open(path, "rb") as f:
                data = f.read()
        except IpcError as exc:
            lost.append({"path": path, "why": str(exc), "bytes": want["size"]})
            continue
        if hashlib.sha256(data).hexdigest() != want["sha256"]:
            lost.append({"path": path, "why": f"{len(data)} bytes that differ from the "
                         f"{want['size']} synced", "bytes": want["size"]})
        else:
            checked += len(data)
    return {"files": len(manifest), "bytes_checked": checked, "lost": lost}


def main(out: str, manifest_path: str) -> None:
    try:
        manifest = json.loads(Path(manifest_path).read_text())
    except FileNotFoundError:
        manifest = {}
    try:
        result = verify(manifest)
    except BaseException as exc:   # noqa: BLE001
        result = {"verify_error": repr(exc)}
    Path(out).write_text(json.dumps(result))


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2])
