#!/usr/bin/env python3
"""Intake's benchmark driver (`make bench`): measures Intake against plain references on the same
data, in the same run, on the same machine, and prints one Markdown table.

What it measures, for each database backend (SQLite, PostgreSQL; object store: the default
folder store under DATA_DIR, so the figures are Intake's, not an S3 emulator's):
  a. end-to-end ingest: N records (default 1,000,000, from ../shared/bench/gen_data.py) as
     100 JSON POST /ingest on one keep-alive connection, from the first request until every task
     is SUCCESS; compared with the reference's empty-database rate;
  b. accept rate: the same 100 POSTs, while the workers run (from a) and on `serve --no-worker`;
  c. full replay: POST /tasks/{id}/replay for the 100 tasks, until all are SUCCESS again;
  d. reads under wrk with the N records loaded: GET /patients/{id}, GET /patients?last_name=…,
     a deep GET /patients?page=P (req/s and p99 latency);
  e. one streamed text/csv upload of the whole records.csv, until SUCCESS;
  f. growth: ingest time per record and read p99 at N vs N/10, and last vs first JSON tasks;
  g. memory (VmRSS / VmHWM from /proc): idle, idle after load, and the peak while loading a big
     CSV (--big-csv-mb, built from copies of the data with suffixed MRNs and visit numbers).
The references: sqlite_reference.cpp and pg_reference_load.sql (shared/bench), each on an empty
database and again on the full one (a replay), timed wall-clock around the process.

Every step prints a progress line on stderr. The table goes to stdout and to --out, every number
to <out>.json. Exit status 0 when everything was measured (targets may be missed: benchmarks
are not tests), non-zero with a one-line reason when something could not be measured.
No record value (PHI) is ever printed: only counts, ids and timings.
"""

import argparse
import contextlib
import mmap
import os
import shutil
import signal
import sqlite3
import subprocess
import sys
import tempfile

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from benchlib import backend, data, references, report, server  # noqa: E402
from benchlib.postgres import Postgres  # noqa: E402
from benchlib.util import BenchError, ensure_dir, progress  # noqa: E402

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
QUICK = {"read_seconds": 1, "big_csv_mb": 2, "big_load_seconds": 10}
DEFAULTS = {"read_seconds": 10, "big_csv_mb": 1024, "big_load_seconds": 90}


def parse_args(argv=None):
    p = argparse.ArgumentParser(description=__doc__,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--binary", default=os.path.join(REPO, "build", "intake"), help="intake binary")
    p.add_argument("--out", default="bench-results.md", help="Markdown table (raw JSON: OUT.json)")
    p.add_argument("--records", type=int, default=1_000_000, help="records to generate (>= 100)")
    p.add_argument("--work", help="work folder (default: a fresh temporary folder under /tmp)")
    p.add_argument("--keep", action="store_true", help="keep the work folder and databases")
    p.add_argument("--data-cache", help="folder to keep generated data in and reuse across runs")
    p.add_argument("--bench-dir", help="folder with gen_data.py and the references (default:"
                   " $INTAKE_BENCH_DIR, else ../shared/bench beside this checkout or the one it"
                   " was cloned from)")
    p.add_argument("--backends", default="sqlite,postgres", help="comma-separated: sqlite,postgres")
    p.add_argument("--read-seconds", type=int, help="seconds per wrk figure (default 10)")
    p.add_argument("--big-csv-mb", type=int, help="size of the memory-load CSV, MiB (0 = skip; 1024)")
    p.add_argument("--big-load-seconds", type=int, help="loading time allowed for it (default 90)")
    p.add_argument("--big-csv-all", action="store_true", help="the big CSV on PostgreSQL too")
    p.add_argument("--quick", action="store_true",
                   help="smoke-test sizes: read seconds 1, big CSV 2 MiB, big load 10 s")
    args = p.parse_args(argv)
    for key, default in DEFAULTS.items():
        if getattr(args, key) is None:
            setattr(args, key, QUICK[key] if args.quick else default)
    args.backends = [b.strip() for b in args.backends.split(",") if b.strip()]
    bad = [b for b in args.backends if b not in ("sqlite", "postgres")]
    if bad or not args.backends:
        p.error(f"--backends: unknown {', '.join(bad) or '(none)'}; use sqlite,postgres")
    if args.records < 100:
        p.error("--records must be at least 100")
    args.bench_dir = args.bench_dir or references.find_bench_dir(REPO) or os.path.join(
        REPO, "..", "shared", "bench")
    args.binary, args.bench_dir = os.path.abspath(args.binary), os.path.abspath(args.bench_dir)
    return args


def check_tools(args):
    if not os.access(args.binary, os.X_OK):
        raise BenchError(f"{args.binary} is not an executable intake binary")
    for f in references.REFERENCE_FILES:
        if not os.path.exists(os.path.join(args.bench_dir, f)):
            raise BenchError(f"{f} not found in {args.bench_dir} (--bench-dir)")
    for tool in ("wrk", "g++"):
        if not shutil.which(tool):
            raise BenchError(f"{tool} not found (scripts/install-deps.sh installs it)")


def binary_info(binary):
    """(`<binary> version` output, build type from the CMakeCache.txt next to it, ASan or not)."""
    try:
        version = subprocess.run([binary, "version"], capture_output=True, text=True,
                                 timeout=30).stdout.strip() or "?"
    except (OSError, subprocess.TimeoutExpired):
        version = "?"
    build_type = "unknown (no CMakeCache.txt next to the binary)"
    cache = os.path.join(os.path.dirname(binary), "CMakeCache.txt")
    if os.path.exists(cache):
        with open(cache, encoding="utf-8", errors="replace") as f:
            for line in f:
                if line.startswith("CMAKE_BUILD_TYPE:"):
                    build_type = line.split("=", 1)[1].strip() or "(empty)"
    with open(binary, "rb") as f, mmap.mmap(f.fileno(), 0, access=mmap.ACCESS_READ) as m:
        if m.find(b"__asan_init") >= 0:
            build_type += ", AddressSanitizer"
    return version, build_type


def sqlite_version():
    try:
        out = subprocess.run(["sqlite3", "--version"], capture_output=True, text=True, timeout=10)
        if out.returncode == 0 and out.stdout.split():
            return out.stdout.split()[0]
    except (OSError, subprocess.TimeoutExpired):
        pass
    return sqlite3.sqlite_version


def prepare_data(args, work):
    """Generates (or reuses) the data; returns (ctx fields dict, meta fields dict)."""
    folder = data.prepare(args.bench_dir, args.records, work, args.data_cache)
    csv_path, json_path = os.path.join(folder, "records.csv"), os.path.join(folder, "records.json")
    progress("data: counting rows and distinct MRNs")
    rows, mrns = data.count_csv(csv_path)
    if rows != args.records:
        raise BenchError(f"records.csv has {rows} data rows, not {args.records}")
    small = max(1, rows // 10)
    small_csv = data.head_csv(csv_path, os.path.join(work, "first-10pct.csv"), small)
    big = None
    if args.big_csv_mb > 0:
        progress(f"data: building a {args.big_csv_mb} MiB CSV for the memory figure")
        big = data.big_csv(csv_path, os.path.join(work, "big.csv"), args.big_csv_mb, args.data_cache)
    progress(f"data: serializing {min(100, rows)} JSON request bodies")
    bodies = data.json_bodies(json_path, min(100, rows))
    meta = {"records": rows, "distinct_mrns": mrns, "csv_bytes": os.path.getsize(csv_path)}
    return {"csv": csv_path, "small_csv": small_csv, "small": small, "big": big,
            "bodies": bodies}, meta


def bench(args, work):
    check_tools(args)
    version, build_type = binary_info(args.binary)
    meta = {"date": report.now_utc(), "machine": report.machine(), "binary": args.binary,
            "binary_version": version, "build_type": build_type, "read_seconds": args.read_seconds,
            "sqlite_version": sqlite_version(), "postgres_version": "— (not run)",
            "backends": args.backends}
    d, more = prepare_data(args, work)
    meta.update(more)
    n = meta["records"]
    exe = references.compile_sqlite(args.bench_dir, work)
    refs = {"sqlite": references.sqlite(exe, d["csv"], n, work)}
    use_pg = "postgres" in args.backends
    pg_cm = Postgres(REPO, os.path.join(work, "servers"), os.path.join(work, "postgres.log")) \
        if use_pg else contextlib.nullcontext()
    results = {}
    with pg_cm as pg:
        if use_pg:
            meta["postgres_version"] = pg.version()
            refs["postgres"] = references.postgres(pg, args.bench_dir, d["csv"], n, args.keep)
        ctx = backend.Ctx(args, work, d["csv"], n, d["bodies"], pg, server.Server)
        ctx.small_csv, ctx.small_records, ctx.big = d["small_csv"], d["small"], d["big"]
        for b in args.backends:
            results[b] = backend.run(ctx, b)
    text = report.write(args.out, meta, refs, results)
    progress(f"results: {os.path.abspath(args.out)} and {os.path.abspath(args.out)}.json")
    sys.stdout.flush()
    sys.stdout.buffer.write(text.encode("utf-8"))
    sys.stdout.flush()


def _on_sigterm(signum, frame):
    raise KeyboardInterrupt(f"signal {signum}")


def _remove_work(work, keep_logs):
    """Removes the work folder; after a failure only its data, so the logs stay readable."""
    if not keep_logs:
        shutil.rmtree(work, ignore_errors=True)
        return
    for root, dirs, files in os.walk(work):
        for name in list(dirs):
            if name == "data":
                shutil.rmtree(os.path.join(root, name), ignore_errors=True)
                dirs.remove(name)
        for name in files:
            if name.endswith((".csv", ".json", ".db")):
                os.remove(os.path.join(root, name))
    progress(f"logs kept in {work}")


def main(argv=None):
    args = parse_args(argv)
    signal.signal(signal.SIGTERM, _on_sigterm)
    created = args.work is None
    work = ensure_dir(args.work or tempfile.mkdtemp(prefix="intake-bench.", dir="/tmp"))
    args.work = work   # the PostgreSQL server (run as user postgres when root) needs o+x on it
    progress(f"work folder {work}")
    status, reason = 1, None
    try:
        bench(args, work)
        status = 0
    except BenchError as e:
        reason = f"bench: FAILED: {e}"
    except KeyboardInterrupt:
        status, reason = 130, "bench: interrupted"
    finally:
        signal.signal(signal.SIGTERM, signal.SIG_IGN)   # let the clean-up finish
        server.stop_all()
        if created and not args.keep:
            _remove_work(work, keep_logs=status != 0)
    if reason:   # the last line, after the clean-up's progress lines
        print(reason, file=sys.stderr)
    return status


if __name__ == "__main__":
    sys.exit(main())
