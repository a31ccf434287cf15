"""Tracing: one cat /etc/motd, seen as shell → fs → block and the replies back."""

import json
import subprocess
import sys

from tests.e2e.conftest import lines

NANOKERNEL = [sys.executable, "-m", "nanokernel"]


def render(path, fmt):
    out = subprocess.run([*NANOKERNEL, "trace", str(path), "--format", fmt],
                         capture_output=True, text=True, check=True)
    return out.stdout


class TestTrace:
    def test_cat_is_traced_through_fs_and_block(self, nk, tmp_path):
        """--trace records the cat's path (trace on FILE: there again, after an off);
        both renderings show it."""
        trace = tmp_path / "t.jsonl"
        r = nk(f"trace off; trace on {trace}; cat /etc/motd; trace off", "--trace", str(trace))
        assert 0 == r.returncode, r.output
        assert "tracing on → " + str(trace) in lines(r.stdout)
        events = [json.loads(line) for line in trace.read_text().splitlines()]
        path = [(e["src_name"], e["dst_name"], e["kind"]) for e in events]
        call = path.index(("shell", "fs", "CALL"))
        rest = path[call:]
        assert ("fs", "block", "CALL") in rest
        assert ("block", "fs", "REPLY") in rest
        assert ("fs", "shell", "REPLY") in rest
        assert rest.index(("fs", "block", "CALL")) < rest.index(("fs", "shell", "REPLY"))

        text = render(trace, "text").splitlines()
        assert text[0].split()[:4] == ["ms", "from", "to", "kind"]
        assert any("shell" in t and "→ fs" in t and "CALL" in t and "read" in t for t in text)
        assert any("fs" in t and "→ block" in t and "CALL" in t for t in text)
        assert any("block" in t and "→ fs" in t and "REPLY" in t and "µs" in t for t in text)

        mermaid = render(trace, "mermaid").splitlines()
        assert "sequenceDiagram" == mermaid[0]
        assert any(m.strip().startswith("participant") and m.endswith(" as block")
                   for m in mermaid)
        assert any("->>" in m and ": read (" in m for m in mermaid)
        assert any("-->>" in m and "read reply" in m for m in mermaid)

    def test_trace_on_a_file_it_cannot_write(self, nk, tmp_path):
        """trace on FILE where FILE cannot be a trace is one clear error (trace on with
        no FILE is the live trace on the console: tests/e2e/test_live_trace.py)."""
        r = nk(f"trace on {tmp_path}")
        assert any(line.startswith("trace: ") and line.endswith("InvalidArgument")
                   for line in lines(r.stdout)), r.stdout

    def test_render_errors(self, tmp_path):
        """A missing file is exit 2; junk lines are skipped with a note."""
        missing = subprocess.run([*NANOKERNEL, "trace", str(tmp_path / "none")],
                                 capture_output=True, text=True)
        assert 2 == missing.returncode and "none" in missing.stderr
        junk = tmp_path / "junk"
        junk.write_text('not json\n{"t": 1, "src": 1, "src_name": "a", "dst": 2,'
                        ' "dst_name": "b", "kind": "SEND", "id": 0, "size": 9, "op": "x"}\n')
        out = subprocess.run([*NANOKERNEL, "trace", str(junk)], capture_output=True, text=True)
        assert 0 == out.returncode
        assert "skipped 1 line" in out.stderr
        assert "SEND" in out.stdout
