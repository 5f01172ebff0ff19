"""The results: header lines (date, machine, data, versions) and one Markdown table
`| figure | backend | Intake | reference | ratio | target | met |`, plus the raw JSON."""

import datetime
import json
import os
import platform

from .util import mib, ms, rate, times

ACCEPT_TARGET = 100_000
GROWTH_TARGET = 1.5
RSS_IDLE_MIB, RSS_PEAK_MIB = 64, 256
READ_TARGETS = {"by_id": (10_000, 10.0), "by_last_name": (1_000, 50.0), "page": (1_000, 50.0)}
NAMES = {"sqlite": "SQLite", "postgres": "PostgreSQL"}
REF_NAMES = {"sqlite": "sqlite_reference.cpp", "postgres": "pg_reference_load.sql"}


def machine():
    cpu = "?"
    with open("/proc/cpuinfo", encoding="utf-8") as f:
        for line in f:
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    with open("/proc/meminfo", encoding="utf-8") as f:
        kib = int(next(line for line in f if line.startswith("MemTotal")).split()[1])
    return {"cpu": cpu, "nproc": os.cpu_count(), "ram_gib": round(kib / 2**20, 1),
            "kernel": platform.release()}


def _yes(ok):
    return "—" if ok is None else ("yes" if ok else "no")


def _row(figure, backend, intake, reference="—", ratio=None, target="—", met=None):
    return [figure, NAMES.get(backend, backend), intake, reference, times(ratio), target, _yes(met)]


def _k(n):
    return f"{n // 1000}k" if n >= 1000 and n % 1000 == 0 else str(n)


def _vs_reference(figure, backend, value, ref):
    ratio = value / ref
    return _row(figure, backend, rate(value), f"{rate(ref)} ({REF_NAMES[backend]})", ratio,
                "≥ 1.0×", ratio >= 1.0)


def _accept(figure, backend, value):
    ratio = value / ACCEPT_TARGET
    return _row(figure, backend, rate(value), f"{rate(ACCEPT_TARGET)} (target)", ratio,
                "≥ 1.0×", ratio >= 1.0)


def _read(figure, backend, r, key):
    min_rps, max_p99 = READ_TARGETS[key]
    return _row(figure, backend, f"{rate(r['rps'], 'req/s')}, p99 {ms(r['p99_ms'])}",
                target=f"≥ {rate(min_rps, 'req/s')}, p99 < {max_p99:g} ms",
                met=r["rps"] >= min_rps and r["p99_ms"] < max_p99)


def _growth(figure, backend, ratio, detail, bound=False):
    """`bound`: the ratio is an upper bound (a span shorter than the poll interval)."""
    cell = "—" if ratio is None else f"{'≤ ' if bound else ''}{times(ratio)} ({detail})"
    return _row(figure, backend, cell, target=f"≤ {GROWTH_TARGET}×",
                met=None if ratio is None else ratio <= GROWTH_TARGET)


def _rss(figure, backend, kib, limit=None):
    return _row(figure, backend, mib(kib), target=f"< {limit} MiB" if limit else "—",
                met=None if limit is None or kib is None else kib / 1024 < limit)


def ingest_rows(b, r, refs):
    j, tasks = r["json"], r["json"]["tasks"]
    per = _k(j["records"] // tasks)
    return [
        _vs_reference(f"end-to-end ingest, {tasks} × {per} JSON", b, j["rate"], refs["empty"]["rate"]),
        # Diagnostic, no target: these POSTs share the database (SQLite: its one writer) with the
        # load they started; the accept rate itself is the --no-worker row.
        _row(f"accept while workers run, {tasks} × {per} JSON (diagnostic)", b,
             rate(j["accept_rate"])),
        _accept(f"accept, serve --no-worker, {tasks} × {per} JSON", b, r["accept_clean"]["rate"]),
        _vs_reference(f"full replay, {tasks} tasks", b, r["replay"]["rate"], refs["replay"]["rate"]),
        _vs_reference(f"streamed CSV upload, {r['csv']['records']} rows, until SUCCESS", b,
                      r["csv"]["rate"], refs["empty"]["rate"]),
    ]


def read_rows(b, r):
    rd = r["reads"]
    return [
        _read(f"GET /patients/{{id}}, {rd['by_id']['patients']} patients", b, rd["by_id"], "by_id"),
        _read("GET /patients?last_name=… (" + ", ".join(rd["by_last_name"]["substrings"]) + ")",
              b, rd["by_last_name"], "by_last_name"),
        _read(f"GET /patients?page={rd['page']['page']}", b, rd["page"], "page"),
    ]


def growth_rows(b, r):
    big, small = r["csv"], r["csv_small"]
    per_big, per_small = big["elapsed_s"] / big["records"], small["elapsed_s"] / small["records"]
    p_big, p_small = r["reads"]["by_id"]["p99_ms"], small["by_id"]["p99_ms"]
    g = r["json"]["growth"]
    return [
        _growth(f"growth: CSV ingest time per record, {big['records']} vs {small['records']} rows", b,
                per_big / per_small, f"{per_big * 1e6:.1f} vs {per_small * 1e6:.1f} µs/rec"),
        _growth(f"growth: p99 GET /patients/{{id}}, {big['records']} vs {small['records']} rows", b,
                p_big / p_small if p_small > 0 else None, f"{p_big:.2f} vs {p_small:.2f} ms"),
        _growth(f"growth: per-record time, last {g['tasks_each']} vs first {g['tasks_each']} "
                "JSON tasks (0.2 s polls)", b, g["ratio"],
                f"{g['last_s_per_rec'] * 1e6:.1f} vs {g['first_s_per_rec'] * 1e6:.1f} µs/rec",
                g["upper_bound"]),
    ]


def memory_rows(b, r):
    rss = r["rss"]
    rows = [
        _rss("RSS idle, before any ingest", b, rss["idle"].get("VmRSS"), RSS_IDLE_MIB),
        _rss("RSS idle after load (ingest, replay, reads) + 2 s", b,
             rss["idle after load"].get("VmRSS"), RSS_IDLE_MIB),
        _rss("peak RSS, JSON ingest + replay + reads", b, rss["idle after load"].get("VmHWM")),
    ]
    if "big" in r:
        g = r["big"]
        mb = g["bytes"] / 2**20
        rows.append(_rss(f"peak RSS loading a {mb:.0f} MiB CSV ({g['committed']} of {g['rows']} rows "
                         f"committed in {g['load_s']:.0f} s, {g['status']})", b, g["peak_kib"],
                         RSS_PEAK_MIB))
        rows.append(_row(f"upload of the {mb:.0f} MiB CSV (200 received)", b,
                         f"{g['upload_mb_s']:.1f} MB/s, {rate(g['upload_rate'])}"))
    return rows


def table_rows(results, references):
    rows = []
    for b, r in results.items():
        rows += ingest_rows(b, r, references[b]) + read_rows(b, r) + growth_rows(b, r) + memory_rows(b, r)
    return rows


def markdown(meta, rows):
    m = meta["machine"]
    lines = [
        "# Intake benchmark", "",
        f"- date: {meta['date']}",
        f"- machine: {m['cpu']}, {m['nproc']} cores, {m['ram_gib']} GiB RAM, Linux {m['kernel']}",
        f"- data: {meta['records']} records, {meta['distinct_mrns']} distinct MRNs "
        f"(gen_data.py; records.csv {meta['csv_bytes'] / 2**20:.1f} MiB)",
        f"- PostgreSQL {meta['postgres_version']} (scripts/test-servers.sh: fsync=off, "
        f"synchronous_commit=off, for Intake and the reference alike); SQLite {meta['sqlite_version']}",
        f"- binary: {meta['binary']} ({meta['binary_version']}; build type: {meta['build_type']})",
        f"- Intake: `serve` with default workers ({m['nproc']}); object store: the default folder "
        "store under DATA_DIR for both backends (the bench measures Intake, not an S3 emulator)",
        f"- reads: wrk -t2 -c16 -d{meta['read_seconds']}s --latency; rates are wall-clock from "
        "the client (first request until every task is SUCCESS)", "",
        "| figure | backend | Intake | reference | ratio | target | met |",
        "|---|---|---|---|---|---|---|",
    ]
    lines += ["| " + " | ".join(r) + " |" for r in rows]
    return "\n".join(lines) + "\n"


def write(out, meta, references, results):
    rows = table_rows(results, references)
    text = markdown(meta, rows)
    os.makedirs(os.path.dirname(os.path.abspath(out)), exist_ok=True)
    with open(out, "w", encoding="utf-8") as f:
        f.write(text)
    with open(out + ".json", "w", encoding="utf-8") as f:
        json.dump({"meta": meta, "references": references, "intake": results, "table": rows},
                  f, indent=1, ensure_ascii=False)
    return text


def now_utc():
    return datetime.datetime.now(datetime.timezone.utc).replace(microsecond=0).isoformat()
