#!/usr/bin/env python3
"""Smoke test for `make bench`: runs scripts/bench/bench.py on a small data set (2,000 records,
--quick) against $INTAKE_BIN and checks that it measured everything: exit status 0, every figure
row present for both backends with numbers in it, and a raw JSON file with positive rates.
No speed target is asserted (the binary may be a Debug/ASan build)."""

import json
import os
import re
import subprocess
import sys
import tempfile
import unittest

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.abspath(os.path.join(HERE, "..", ".."))
BENCH = os.path.join(REPO, "scripts", "bench", "bench.py")
sys.path.insert(0, os.path.join(REPO, "scripts", "bench"))
from benchlib.references import find_bench_dir  # noqa: E402
INTAKE_BIN = os.environ.get("INTAKE_BIN", "")
BACKENDS = ["SQLite", "PostgreSQL"]
# (row prefix, has a reference number, backends); every row's Intake cell starts with a number.
ROWS = [
    ("end-to-end ingest, 100 × 20 JSON", True, BACKENDS),
    ("accept while workers run, 100 × 20 JSON", False, BACKENDS),
    ("accept, serve --no-worker, 100 × 20 JSON", True, BACKENDS),
    ("full replay, 100 tasks", True, BACKENDS),
    ("streamed CSV upload, 2000 rows", True, BACKENDS),
    ("GET /patients/{id}, ", False, BACKENDS),
    ("GET /patients?last_name=", False, BACKENDS),
    ("GET /patients?page=", False, BACKENDS),
    ("growth: CSV ingest time per record, 2000 vs 200 rows", False, BACKENDS),
    ("growth: p99 GET /patients/{id}, 2000 vs 200 rows", False, BACKENDS),
    ("growth: per-record time, last 10 vs first 10 JSON tasks", False, BACKENDS),
    ("RSS idle, before any ingest", False, BACKENDS),
    ("RSS idle after load", False, BACKENDS),
    ("peak RSS, JSON ingest + replay + reads", False, BACKENDS),
    ("peak RSS loading a 2 MiB CSV", False, ["SQLite"]),
    ("upload of the 2 MiB CSV", False, ["SQLite"]),
]
NUMBER = re.compile(r"^(≤ )?\d+(\.\d+)?")   # "≤": a growth ratio below the poll resolution


def table(markdown):
    """[(figure, backend, intake, reference, ratio, target, met)] from the Markdown table."""
    rows = []
    for line in markdown.splitlines():
        if line.startswith("| ") and not line.startswith("| figure "):
            cells = [c.strip() for c in line.strip().strip("|").split(" | ")]
            rows.append(cells)
    return rows


class BenchSmokeTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        if not INTAKE_BIN:
            raise unittest.SkipTest("INTAKE_BIN is not set")
        if find_bench_dir(REPO) is None:
            # The references are the team's shared folder beside the checkout, not part of it.
            raise unittest.SkipTest("the shared references (../shared/bench beside this checkout "
                                    "or its origin, or $INTAKE_BENCH_DIR) are not on this machine")
        cls.tmp = tempfile.TemporaryDirectory(prefix="intake-bench-smoke.")
        cls.out = os.path.join(cls.tmp.name, "r.md")
        cls.proc = subprocess.run(
            [sys.executable, BENCH, "--binary", INTAKE_BIN, "--records", "2000", "--quick",
             "--out", cls.out], stdout=subprocess.PIPE, stderr=subprocess.PIPE, encoding="utf-8",
            timeout=850)

    @classmethod
    def tearDownClass(cls):
        cls.tmp.cleanup()

    def setUp(self):
        if self.proc.returncode != 0:
            sys.stderr.write(self.proc.stderr[-6000:])
        self.assertEqual(self.proc.returncode, 0, "bench.py failed: " +
                         (self.proc.stderr.strip().splitlines() or ["?"])[-1])

    def test_table_has_every_figure_with_numbers(self):
        with open(self.out, encoding="utf-8") as f:
            rows = table(f.read())
        self.assertEqual(self.proc.stdout.count("\n| "), len(rows) + 1, "stdout table differs")
        for prefix, has_reference, backends in ROWS:
            for backend in backends:
                with self.subTest(figure=prefix, backend=backend):
                    found = [r for r in rows if r[0].startswith(prefix) and r[1] == backend]
                    self.assertEqual(len(found), 1, f"row {prefix!r} for {backend}")
                    row = found[0]
                    self.assertEqual(len(row), 7)
                    self.assertRegex(row[2], NUMBER, "Intake cell is not a number")
                    if has_reference:
                        self.assertRegex(row[3], NUMBER, "reference cell is not a number")
                        self.assertRegex(row[4], NUMBER, "ratio cell is not a number")
                    self.assertIn(row[6], ("yes", "no", "—"))

    def test_raw_json_has_positive_rates(self):
        with open(self.out + ".json", encoding="utf-8") as f:
            raw = json.load(f)
        self.assertEqual(raw["meta"]["records"], 2000)
        for backend in ("sqlite", "postgres"):
            with self.subTest(backend=backend):
                refs, r = raw["references"][backend], raw["intake"][backend]
                rates = [refs["empty"]["rate"], refs["replay"]["rate"], r["json"]["rate"],
                         r["json"]["accept_rate"], r["accept_clean"]["rate"], r["replay"]["rate"],
                         r["csv"]["rate"], r["csv_small"]["rate"],
                         r["csv_small"]["by_id"]["rps"]]
                rates += [x["rps"] for x in r["reads"].values()]
                for x in rates:
                    self.assertGreater(x, 0)
                self.assertGreater(r["rss"]["idle"]["VmRSS"], 0)
        self.assertGreater(raw["intake"]["sqlite"]["big"]["peak_kib"], 0)


if __name__ == "__main__":
    unittest.main(verbosity=2)
