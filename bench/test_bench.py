#!/usr/bin/env python3
"""Self-test of the benchmark's own logic (no servers, no ferry): the corpus is deterministic,
verification refuses wrong results, a refused result gets no time or ratio, and the chart and
results file are written. Run: python3 bench/test_bench.py"""
import os
import sys
import tempfile
import unittest
import xml.etree.ElementTree as ET

sys.dont_write_bytecode = True
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import bench  # noqa: E402
import chart  # noqa: E402
import corpus  # noqa: E402
import report  # noqa: E402
import servercpu  # noqa: E402
from verify import compare  # noqa: E402

SIZES = dict(small_files=30, remote_files=10, large_bytes=100_000, local_large_count=2)


class CorpusTest(unittest.TestCase):
    def test_same_arguments_give_the_same_bytes_and_times(self):
        with tempfile.TemporaryDirectory() as a, tempfile.TemporaryDirectory() as b:
            ta, ma = corpus.ensure(a, "small", SIZES, 7)
            tb, mb = corpus.ensure(b, "small", SIZES, 7)
            self.assertEqual(ma, mb)
            self.assertEqual(len(ma), 30)
            self.assertEqual(corpus.manifest(ta), ma)
            _, other = corpus.ensure(b, "small", SIZES, 8)
            self.assertNotEqual(ma, other)


class VerifyTest(unittest.TestCase):
    want = {"a": [10, 100, "m1"], "d/b": [20, 200, "m2"]}

    def test_exact_copy_passes(self):
        self.assertTrue(compare(self.want, {k: list(v) for k, v in self.want.items()}, True)[0])

    def test_each_kind_of_wrong_result_fails(self):
        cases = {"missing": {"a": [10, 100, "m1"]},
                 "extra": dict(self.want, c=[1, 1, "x"]),
                 "size": {"a": [11, 100, "m1"], "d/b": [20, 200, "m2"]},
                 "content": {"a": [10, 100, "zz"], "d/b": [20, 200, "m2"]},
                 "mtime": {"a": [10, 900, "m1"], "d/b": [20, 200, "m2"]}}
        for kind, got in cases.items():
            ok, detail = compare(self.want, got, check_mtime=True)
            self.assertFalse(ok, kind)
            self.assertIn(f"{kind}=1", detail)

    def test_unknown_hash_and_time_are_checked_by_size(self):
        ok, detail = compare(self.want, {"a": [10, None, None], "d/b": [20, None, "m2"]}, True)
        self.assertTrue(ok)
        self.assertIn("1 by size only", detail)
        self.assertTrue(compare(self.want, {"a": [10, 5, "m1"], "d/b": [20, 200, "m2"]}, False)[0])


def run(rc, wall, ok=True):
    return dict(rc=rc, wall=wall, cpu=wall / 2, rss=1024, ok=ok and rc == 0, verify="")


class SummaryAndChartTest(unittest.TestCase):
    def rows(self):
        scn = bench.Scenario("webdav-small-up", "webdav", "up", "small-remote")
        tools = [bench.Tool("ferry", ["f"], kind="ferry"), bench.Tool("rclone", ["r"], kind="rclone"),
                 bench.Tool("half", ["h"]), bench.Tool("gone", [], missing="not installed")]
        runs = {"ferry": [run(0, 2.0), run(0, 1.0), run(0, 3.0)], "rclone": [run(0, 4.0)] * 3,
                "half": [run(0, 0.1, ok=False), run(0, 0.1), run(0, 0.1)], "gone": []}
        return bench.summarize(scn, tools, runs, 2000, 17 << 20)

    def test_a_wrong_result_gets_no_time_and_a_missing_tool_is_named(self):
        rows = {r["tool"]: r for r in self.rows()}
        self.assertEqual(rows["ferry"]["median"], 2.0)
        self.assertEqual((rows["ferry"]["min"], rows["ferry"]["max"]), (1.0, 3.0))
        self.assertEqual(rows["rclone"]["ratio"], 2.0)
        self.assertEqual(rows["half"]["status"], "FAIL")
        self.assertNotIn("median", rows["half"])
        self.assertIsNone(rows["half"]["ratio"])
        self.assertEqual((rows["gone"]["status"], rows["gone"]["reason"]), ("n/a", "not installed"))

    def test_chart_is_valid_svg_with_one_bar_per_timed_tool(self):
        doc = ET.fromstring(chart.svg(self.rows(), "t", "s"))
        bars = [e for e in doc.iter("{http://www.w3.org/2000/svg}rect") if e.find("{*}title") is not None]
        self.assertEqual(len(bars), 2)
        widths = sorted(float(b.get("width")) for b in bars)
        self.assertEqual(widths[1], chart.BAR_W)  # the slowest fills the width
        self.assertAlmostEqual(widths[0], chart.BAR_W / 2)
        text = "".join(doc.itertext())
        self.assertIn("2.00× ferry", text)
        self.assertIn("FAIL", text)

    def test_results_file_has_the_table_the_goals_and_the_machine(self):
        meta = dict(run_id="x", runs=3, seed=42, sizes=SIZES, elapsed_s=60, note="", command="bench/run webdav",
                    versions=dict(ferry="ferry 0", rclone="rclone v1.75.2"), machine=report.machine("/"))
        with tempfile.TemporaryDirectory() as out:
            md, svg, js = report.write(out, self.rows(), meta)
            text = open(md).read()
            self.assertIn("| webdav | 0.50 (meets ≤ 0.5) | not run | not run | not run |", text)
            self.assertIn("cores", text)
            self.assertIn("| FAIL: 1/3 runs wrong", text)
            self.assertTrue(os.path.getsize(svg) and os.path.getsize(js))



class ServerCpuTest(unittest.TestCase):
    def test_cpu_burnt_by_another_process_is_counted_and_the_clients_is_not(self):
        import subprocess
        before = servercpu.machine_busy()
        subprocess.run([sys.executable, "-c", "import time\nt = time.process_time()\n"
                        "while time.process_time() - t < 0.3: pass"], check=True)
        after = servercpu.machine_busy()
        # Another process's 0.3 s is the server's; the same 0.3 s as the client's is not.
        self.assertGreaterEqual(servercpu.server_cpu(before, after, 0.0), 0.25)
        self.assertLess(servercpu.server_cpu(before, after, after - before), 0.01)

    def test_a_protocol_without_a_testbed_server_has_none(self):
        self.assertFalse(servercpu.has_server("local"))

if __name__ == "__main__":
    unittest.main()
