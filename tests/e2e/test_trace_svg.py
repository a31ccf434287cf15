"""`nanokernel trace FILE --format svg`: a real traced boot drawn as a sequence diagram —
valid XML, a lifeline per participant, one arrow per message — and the paging of long
traces, the arrow styles and the escaping of names (synthetic traces)."""

from __future__ import annotations

import json
import subprocess
import sys
import xml.etree.ElementTree as ET

from nanokernel.trace_render import Event, labels, load
from nanokernel.trace_svg import DEFAULT_LIMIT

NANOKERNEL = [sys.executable, "-m", "nanokernel"]
SVG = "{http://www.w3.org/2000/svg}"


def svg_of(path, *args: str) -> ET.Element:
    out = subprocess.run([*NANOKERNEL, "trace", str(path), "--format", "svg", *args],
                         capture_output=True, timeout=60)
    assert 0 == out.returncode, out.stderr
    assert out.stdout.startswith(b'<?xml version="1.0" encoding="UTF-8"?>')
    return ET.fromstring(out.stdout)


def groups(root: ET.Element, cls: str) -> list[ET.Element]:
    return [g for g in root.iter(f"{SVG}g") if g.get("class", "").split()[:1] == [cls]]


def header(root: ET.Element) -> str:
    return "\n".join(t.text or "" for t in root.iter(f"{SVG}text") if t.get("class") == "header")


def arrow(g: ET.Element) -> ET.Element:
    (shape,) = [e for e in g if e.get("class") == "arrow"]
    return shape


def event(i: int, src: int, dst: int, kind: str, **more) -> dict:
    names = {1: "shell", 2: "fs", 3: "block"}
    return {"t": 1000.0 + i / 1000, "src": src, "src_name": more.pop("src_name", names.get(src)),
            "dst": dst, "dst_name": more.pop("dst_name", names.get(dst)), "kind": kind,
            "id": i, "size": 40, **more}


class TestBootTrace:
    def test_a_traced_cat_drawn(self, boot, tmp_path):
        trace = tmp_path / "t.jsonl"
        r = boot("-c", "trace off; trace on; cat /etc/motd; ls /; trace off",
                 "--trace", str(trace))
        assert 0 == r.returncode, r.output
        events, bad = load(trace.read_text().splitlines())
        assert 0 == bad and events
        root = svg_of(trace, "--limit", "0")   # all of them

        msgs = groups(root, "msg")
        assert len(events) == len(msgs)        # one arrow per message, in order
        assert [e.kind for e in events] == [g.get("data-kind") for g in msgs]
        assert [(str(e.src), str(e.dst)) for e in events] == [
            (g.get("data-src"), g.get("data-dst")) for g in msgs]
        assert f"all {len(events)} messages" in header(root)

        names = set(labels(events).values())   # a lifeline per participant
        lifelines = groups(root, "participant")
        assert names == {g.get("data-name") for g in lifelines}
        assert len(names) == len(lifelines)
        assert {"shell", "fs", "block"} <= names
        for g in lifelines:
            assert 1 == len([e for e in g if e.get("class") == "lifeline"])

        by_kind = {}
        for g in msgs:
            by_kind.setdefault(g.get("data-kind"), []).append(g)
        assert all(arrow(g).get("stroke-dasharray") for g in by_kind["REPLY"])   # dashed
        assert not any(arrow(g).get("stroke-dasharray") for g in by_kind["CALL"])
        words = ["".join(g.itertext()) for g in msgs]
        assert any("read (" in w for w in words)
        assert any("read reply (" in w and "µs" in w for w in words)

    def test_a_page_of_the_boot(self, boot, tmp_path):
        trace = tmp_path / "t.jsonl"
        assert 0 == boot("-c", "ls /", "--trace", str(trace)).returncode
        total = len(trace.read_text().splitlines())
        assert total > 20
        root = svg_of(trace, "--limit", "10", "--offset", "5")
        msgs = groups(root, "msg")
        assert [str(i) for i in range(5, 15)] == [g.get("data-index") for g in msgs]
        assert f"messages 6–15 of {total}" in header(root)
        assert "--offset 15" in header(root)


class TestSynthetic:
    def test_long_traces_are_cut_and_say_so(self, tmp_path):
        trace = tmp_path / "long.jsonl"
        n = DEFAULT_LIMIT + 250
        trace.write_text("".join(json.dumps(event(i, 1, 2, "SEND", op="write")) + "\n"
                                 for i in range(n)))
        root = svg_of(trace)
        assert DEFAULT_LIMIT == len(groups(root, "msg"))
        assert f"messages 1–{DEFAULT_LIMIT} of {n}" in header(root)
        last = svg_of(trace, "--offset", str(DEFAULT_LIMIT))
        assert 250 == len(groups(last, "msg"))
        assert "next page" not in header(last)

    def test_every_kind_a_loop_and_odd_names(self, tmp_path):
        trace = tmp_path / "kinds.jsonl"
        evs = [event(1, 1, 2, "CALL", op="read"),
               event(2, 2, 1, "ERROR", latency_us=12.5, id=1),
               event(3, 1, 4, "SEND", op="x", dst_name='a<b>&"c"'),
               event(4, 4, 1, "NOTIFY", src_name='a<b>&"c"'),
               event(5, 1, 2, "CANCEL"),
               event(6, 3, 3, "SEND", op="self", note="loop")]
        trace.write_text("".join(json.dumps(e) + "\n" for e in evs))
        text = subprocess.run([*NANOKERNEL, "trace", str(trace), "--format", "svg"],
                              capture_output=True, text=True, check=True).stdout
        root = ET.fromstring(text.encode())
        msgs = groups(root, "msg")
        assert ["call", "error", "send", "notify", "cancel", "send"] == [
            g.get("class").split()[1] for g in msgs]
        assert {"shell", "fs", "block", 'a<b>&"c"'} == {
            g.get("data-name") for g in groups(root, "participant")}
        assert "read error (40 B, 12.5 µs)" in "".join(msgs[1].itertext())  # the call's op
        assert arrow(msgs[5]).tag == f"{SVG}path"                          # a loop
        assert "<script" not in text and "href=\"http" not in text

    def test_an_empty_trace(self, tmp_path):
        empty = tmp_path / "empty.jsonl"
        empty.write_text("")
        root = svg_of(empty)
        assert [] == groups(root, "msg")
        assert "all 0 messages" in header(root)


def test_events_parse_as_the_other_renderings_do():
    """The SVG reads the same events as text and mermaid (trace_render.Event)."""
    e = Event.from_json(event(1, 1, 2, "CALL", op="read"))
    assert ("shell", "fs", "read") == (e.src_name, e.dst_name, e.op)
