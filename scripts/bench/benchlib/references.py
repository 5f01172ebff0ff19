"""The references Intake is compared with, measured in the same run on the same data:
sqlite_reference.cpp and pg_reference_load.sql, each on an empty database and then again on the
full one (a replay). Timed wall-clock around the whole process, CSV parsing included."""

import os
import subprocess

from .util import progress, run

REFERENCE_FILES = ("gen_data.py", "sqlite_reference.cpp", "pg_schema.sql", "pg_reference_load.sql")


def find_bench_dir(repo):
    """The shared references folder: $INTAKE_BENCH_DIR, else ../shared/bench beside the checkout,
    else beside the checkout this one was cloned from (a fresh clone made on the same machine).
    None when none of them holds the references."""
    candidates = []
    if os.environ.get("INTAKE_BENCH_DIR"):
        candidates.append(os.environ["INTAKE_BENCH_DIR"])
    candidates.append(os.path.join(repo, "..", "shared", "bench"))
    try:
        origin = subprocess.run(["git", "-C", repo, "remote", "get-url", "origin"],
                                capture_output=True, text=True, timeout=10).stdout.strip()
    except (OSError, subprocess.TimeoutExpired):
        origin = ""
    if origin and os.path.isdir(origin):
        candidates.append(os.path.join(origin, "..", "shared", "bench"))
    for c in candidates:
        if all(os.path.exists(os.path.join(c, f)) for f in REFERENCE_FILES):
            return os.path.abspath(c)
    return None


def compile_sqlite(bench_dir, work):
    exe = os.path.join(work, "sqlite_reference")
    progress("reference: compiling sqlite_reference.cpp")
    run(["g++", "-O2", "-std=c++17", os.path.join(bench_dir, "sqlite_reference.cpp"),
         "-lsqlite3", "-o", exe], "compiling sqlite_reference.cpp", timeout=600,
        log=os.path.join(work, "references.log"))
    return exe


def _printed(out):
    """The reference's own 'key=value' summary line, as a dict (kept in the raw JSON)."""
    for line in out.splitlines():
        if line.startswith("records="):
            return dict(kv.split("=", 1) for kv in line.split())
    return {}


def sqlite(exe, csv_path, records, work):
    db, log = os.path.join(work, "ref_sqlite.db"), os.path.join(work, "references.log")
    out = {}
    for label in ("empty", "replay"):
        elapsed, text = run([exe, db, csv_path], f"sqlite_reference ({label})", timeout=7200, log=log)
        out[label] = {"elapsed_s": elapsed, "rate": records / elapsed, "printed": _printed(text)}
        progress(f"reference: sqlite_reference.cpp {label}: {elapsed:.2f} s "
                 f"({records / elapsed:.0f} rec/s)")
    for suffix in ("", "-wal", "-shm"):
        if os.path.exists(db + suffix):
            os.remove(db + suffix)
    return out


def postgres(pg, bench_dir, csv_path, records, keep=False):
    pg.create_db("ref_pg")
    pg.run_file("ref_pg", os.path.join(bench_dir, "pg_schema.sql"), "pg_schema.sql")
    load = os.path.join(bench_dir, "pg_reference_load.sql")
    out = {}
    for label in ("empty", "replay"):
        elapsed = pg.run_file("ref_pg", load, f"pg_reference_load.sql ({label})", stdin_path=csv_path)
        out[label] = {"elapsed_s": elapsed, "rate": records / elapsed}
        progress(f"reference: pg_reference_load.sql {label}: {elapsed:.2f} s "
                 f"({records / elapsed:.0f} rec/s)")
    if not keep:
        pg.drop_db("ref_pg")
    return out
