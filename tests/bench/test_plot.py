"""`nanokernel bench --plot FILE.svg|png [--from RUN.jsonl]`: the chart is written, in the
format its name asks for, from a live run or a saved one; what it shows (reference,
ratios, scale, caption); and without matplotlib, one clear line and exit status 2 before
anything is measured.  Shapes only, never the numbers (the machine is shared).
"""

from __future__ import annotations

import importlib.util
import json
import subprocess
import sys
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

from nanokernel.bench.plot import MISSING, caption, load_rows, panels

NANOKERNEL = [sys.executable, "-m", "nanokernel"]
ROWS = Path(__file__).parent / "data" / "bench_rows.jsonl"
PNG_MAGIC = b"\x89PNG\r\n\x1a\n"
HAVE_MPL = importlib.util.find_spec("matplotlib") is not None
needs_mpl = pytest.mark.skipif(not HAVE_MPL, reason="matplotlib (the plot extra) is not "
                                                    "installed: pip install 'nanokernel[plot]'")

# `import matplotlib` fails in this interpreter, as on a machine without the plot extra
WITHOUT_MPL = ("import sys; sys.modules['matplotlib'] = None; "
               "from nanokernel.cli import main; sys.exit(main(sys.argv[1:]))")


def nk(*args: str, timeout: float = 120, without_mpl: bool = False) -> subprocess.CompletedProcess:
    argv = [sys.executable, "-c", WITHOUT_MPL] if without_mpl else NANOKERNEL
    return subprocess.run([*argv, *args], capture_output=True, text=True, timeout=timeout,
                          stdin=subprocess.DEVNULL)


def fixture_rows():
    rows, bad = load_rows(ROWS.read_text().splitlines())
    assert 0 == bad
    return rows


class TestWithoutMatplotlib:
    """Runs always: matplotlib is made unimportable in the child."""

    def test_a_saved_run_is_one_clear_line_and_status_2(self, tmp_path):
        out = tmp_path / "chart.svg"
        r = nk("bench", "--plot", str(out), "--from", str(ROWS), without_mpl=True)
        assert 2 == r.returncode, r.stdout + r.stderr
        assert [MISSING] == r.stderr.splitlines()
        assert "pip install 'nanokernel[plot]'" in r.stderr
        assert "Traceback" not in r.stderr and "" == r.stdout
        assert not out.exists()

    def test_no_benchmark_runs_first(self, tmp_path):
        """The check comes before the measuring: no `== bench` progress line, at once."""
        r = nk("bench", "ring", "--quick", "--plot", str(tmp_path / "c.png"), timeout=30,
               without_mpl=True)
        assert 2 == r.returncode
        assert [MISSING] == r.stderr.splitlines()

    def test_without_plot_nothing_needs_matplotlib(self):
        """--from alone prints the saved run's table: no matplotlib involved."""
        r = nk("bench", "--from", str(ROWS), without_mpl=True)
        assert 0 == r.returncode, r.stderr
        lines = r.stdout.splitlines()
        assert lines[0].startswith("machine: AMD EPYC, 2 CPUs") and "2026-12-01" in lines[0]
        assert lines[1].split()[:3] == ["bench", "placement", "peer"]
        assert lines[1].endswith("vs os.pipe")
        assert any(line.split()[:3] == ["ring-rtt", "-", "nanokernel"] and "0.15x time" in line
                   for line in lines)


class TestUsage:
    def test_the_file_must_be_svg_or_png(self, tmp_path):
        r = nk("bench", "--plot", str(tmp_path / "chart.pdf"), "--from", str(ROWS))
        assert 2 == r.returncode
        assert "must end in .svg or .png" in r.stderr and "Traceback" not in r.stderr

    def test_from_runs_nothing(self, tmp_path):
        r = nk("bench", "ring", "--from", str(ROWS))
        assert 2 == r.returncode and "name no benchmark" in r.stderr

    def test_from_a_file_without_rows(self, tmp_path):
        junk = tmp_path / "junk.jsonl"
        junk.write_text("== bench ring: progress, not a row\n")
        r = nk("bench", "--from", str(junk))
        assert 2 == r.returncode and "no bench rows" in r.stderr
        missing = nk("bench", "--from", str(tmp_path / "none.jsonl"))
        assert 2 == missing.returncode and "none.jsonl" in missing.stderr


class TestPanels:
    """What the chart shows, from the rows (no matplotlib needed)."""

    def test_a_panel_per_block_against_its_reference(self):
        shown = {p.title: p for p in panels(fixture_rows())}
        assert list(shown) == ["ring-rtt", "ring-throughput", "call-rtt [free]",
                               "call-rtt [split]", "call-throughput [free]", "fs.read-4k",
                               "net-rtt"]
        ring = shown["ring-rtt"]
        assert "os.pipe's" in ring.subtitle and "lower is better" in ring.subtitle
        assert [b.peer for b in ring.bars if b.reference] == ["os.pipe"]
        assert pytest.approx(2.75 / 18.93) == ring.bars[0].ratio
        tput = shown["ring-throughput"]
        assert "higher is better" in tput.subtitle
        assert pytest.approx(1924276 / 935001) == tput.bars[0].ratio
        # no os.pipe: the first measured peer that is not the nanokernel
        assert [b.peer for b in shown["fs.read-4k"].bars if b.reference] == ["host"]
        assert [b.peer for b in shown["net-rtt"].bars if b.reference] == ["pyzmq-req-rep"]

    def test_skipped_and_failed_rows_keep_their_line(self):
        shown = {p.title: p for p in panels(fixture_rows())}
        split = shown["call-rtt [split]"].bars
        assert [b.peer for b in split if b.ratio is None] == ["nanokernel", "os.pipe-relay"]
        assert split[0].figure.startswith("skipped: split needs 3 CPUs")
        net = shown["net-rtt"].bars[0]
        assert net.ratio is None and net.figure.startswith("failed: NodesFailed")

    def test_log_scale_only_where_the_ratios_spread(self):
        shown = {p.title: p for p in panels(fixture_rows())}
        assert shown["call-throughput [free]"].log    # 0.02x .. 1.07x
        assert shown["fs.read-4k"].log                # 1x .. 30x
        assert not shown["call-rtt [free]"].log       # 1x .. 4.5x

    def test_the_caption_is_the_runs_machine_and_date(self):
        text = caption(fixture_rows())
        assert text.startswith("machine: AMD EPYC, 2 CPUs (2 usable by the bench)")
        assert "2026-12-01" in text and "load 0.52 0.76 1.41" in text


@needs_mpl
class TestCharts:
    def test_png_from_a_saved_run(self, tmp_path):
        out = tmp_path / "chart.png"
        r = nk("bench", "--plot", str(out), "--from", str(ROWS))
        assert 0 == r.returncode, r.stderr
        data = out.read_bytes()
        assert data.startswith(PNG_MAGIC) and len(data) > 20_000
        assert f"plot: 7 panel(s) → {out}" in r.stderr
        assert "" == r.stdout

    def test_svg_from_stdin(self, tmp_path):
        out = tmp_path / "chart.svg"
        proc = subprocess.run([*NANOKERNEL, "bench", "--plot", str(out), "--from", "-"],
                              input=ROWS.read_text(), capture_output=True, text=True,
                              timeout=120)
        assert 0 == proc.returncode, proc.stderr
        data = out.read_bytes()
        assert data.startswith(b"<?xml") and b"<svg" in data[:1000]
        root = ET.fromstring(data)
        assert root.tag == "{http://www.w3.org/2000/svg}svg"
        assert len(list(root.iter("{http://www.w3.org/2000/svg}path"))) > 100
        assert b"<script" not in data and b'href="http' not in data   # nothing to fetch

    @pytest.mark.timeout(300)
    def test_a_live_quick_run_then_its_saved_rows(self, tmp_path):
        """bench ring --quick --json --plot: the rows on stdout as always, the chart too;
        the saved rows draw again with --from."""
        png = tmp_path / "ring.png"
        r = nk("bench", "ring", "--quick", "--json", "--plot", str(png), timeout=280)
        assert 0 == r.returncode, r.stdout + r.stderr
        rows = [json.loads(line) for line in r.stdout.splitlines()]
        assert {"ring-rtt", "ring-throughput"} <= {row["bench"] for row in rows}
        assert all(row["machine"]["date"] for row in rows)
        assert png.read_bytes().startswith(PNG_MAGIC)
        saved = tmp_path / "ring.jsonl"
        saved.write_text(r.stdout)
        svg = tmp_path / "ring.svg"
        again = nk("bench", "--plot", str(svg), "--from", str(saved))
        assert 0 == again.returncode, again.stderr
        ET.fromstring(svg.read_bytes())
