"""Every Intake figure for one database backend ('sqlite' or 'postgres'), each on its own fresh
server (fresh DATA_DIR, fresh PostgreSQL database). The object store is always the default
folder store under DATA_DIR: the bench measures Intake, not an S3 emulator."""

import shutil
import time

from . import measure, reads
from .util import progress

IDLE_S = 2


class Ctx:
    """What every measurement needs: options, paths, the JSON bodies, PostgreSQL."""

    def __init__(self, args, work, csv_path, records, bodies, pg, servers):
        self.args, self.work, self.csv, self.records = args, work, csv_path, records
        self.bodies, self.pg, self.server_cls = bodies, pg, servers
        self.small_csv = self.small_records = self.big = None


def _fresh(ctx, backend, name, no_worker=False, env=None):
    """A fresh server named `<backend>-<name>` (not started yet)."""
    url = ctx.pg.create_db(f"intake_pg_{name}") if backend == "postgres" else None
    return ctx.server_cls(ctx.args.binary, ctx.work, f"{backend}-{name}", url, no_worker, env)


def _cleanup(ctx, backend, server, name):
    if ctx.args.keep:
        return
    shutil.rmtree(server.data_dir, ignore_errors=True)
    if backend == "postgres":
        ctx.pg.drop_db(f"intake_pg_{name}")


def _idle(server, label):
    time.sleep(IDLE_S)
    return server.rss(label)


def main_server(ctx, backend):
    """(a) JSON ingest, (b) accept while workers run, (c) replay, (d) reads, idle RSS."""
    s = _fresh(ctx, backend, "json")
    with s:
        _idle(s, "idle")
        out = {"json": measure.json_ingest(s, ctx.bodies)}
        out["replay"] = measure.replay(s, out["json"]["task_ids"], out["json"]["records"])
        out["reads"] = reads.all_reads(s, ctx.args.read_seconds)
        _idle(s, "idle after load")
    out["rss"] = s.samples
    _cleanup(ctx, backend, s, "json")
    return out


def accept_server(ctx, backend):
    """(b) clean: the same 100 POSTs to `serve --no-worker`."""
    s = _fresh(ctx, backend, "accept", no_worker=True)
    with s:
        _idle(s, "idle")
        out = measure.clean_accept(s, ctx.bodies)
        _idle(s, "idle after load")
    out["rss"] = s.samples
    _cleanup(ctx, backend, s, "accept")
    return out


def csv_server(ctx, backend, name, path, records, read_seconds=None):
    """(e)/(f): one streamed CSV upload until SUCCESS, optionally the by-id read figure."""
    s = _fresh(ctx, backend, name)
    with s:
        _idle(s, "idle")
        out = measure.csv_ingest(s, path, records)
        if read_seconds:
            out["by_id"] = reads.by_id(s, read_seconds)
        _idle(s, "idle after load")
    out["rss"] = s.samples
    _cleanup(ctx, backend, s, name)
    return out


def big_server(ctx, backend):
    """(g): stream the big CSV, let it load for --big-load-seconds at most, report peak RSS."""
    path, size, rows = ctx.big
    # the default MAX_UPLOAD_BYTES is 1 GiB, the default --big-csv-mb exactly that: leave room
    s = _fresh(ctx, backend, "big", env={"MAX_UPLOAD_BYTES": str(max(2**30, 2 * size))})
    with s:
        _idle(s, "idle")
        tid, upload_s = measure.upload_csv(s, path)
        progress(f"intake[{s.name}]: big CSV uploaded in {upload_s:.2f} s; loading for at most "
                 f"{ctx.args.big_load_seconds} s")
        status, committed, load_s = _watch_task(s, tid, ctx.args.big_load_seconds)
        s.rss("end of load")
        s.stop()
    progress(f"intake[{s.name}]: peak RSS {s.samples['end of load'].get('VmHWM', 0) / 1024:.1f} "
             f"MiB; {committed} of {rows} rows committed in {load_s:.1f} s ({status})")
    out = {"bytes": size, "rows": rows, "upload_s": upload_s, "upload_mb_s": size / 1e6 / upload_s,
           "upload_rate": rows / upload_s, "status": status, "committed": committed,
           "load_s": load_s, "peak_kib": s.samples["end of load"].get("VmHWM"), "rss": s.samples}
    _cleanup(ctx, backend, s, "big")
    return out


def _watch_task(server, tid, seconds):
    """Polls one task until SUCCESS or `seconds` pass; returns (status, rows committed, s)."""
    c = server.client(timeout=120)
    t0 = time.monotonic()
    while True:
        doc = c.get_json(f"/tasks/{tid}")
        result = doc.get("result") or {}
        if doc["status"] == "FAILURE":
            server.fail(f"big CSV task FAILED: {result.get('error', '?')}")
        done = doc["status"] == "SUCCESS"
        committed = result.get("processed_records" if done else "current") or 0
        if done or time.monotonic() - t0 >= seconds:
            c.close()
            return doc["status"], committed, time.monotonic() - t0
        if not server.alive():
            server.fail("exited while loading the big CSV")
        time.sleep(0.5)


def run(ctx, backend):
    """Every figure of one backend, in order; returns the raw results."""
    progress(f"=== backend {backend} ===")
    out = main_server(ctx, backend)
    out["accept_clean"] = accept_server(ctx, backend)
    out["csv"] = csv_server(ctx, backend, "csv", ctx.csv, ctx.records)
    out["csv_small"] = csv_server(ctx, backend, "10pct", ctx.small_csv, ctx.small_records,
                                  ctx.args.read_seconds)
    if ctx.big and (backend == "sqlite" or ctx.args.big_csv_all):
        out["big"] = big_server(ctx, backend)
    return out
