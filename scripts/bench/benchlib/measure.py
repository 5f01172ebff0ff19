"""Intake measurements over HTTP: JSON batches, replays, streamed CSV uploads, waiting for tasks.
Times are wall-clock (time.monotonic) seen by the client."""

import json
import os
import threading
import time

from .util import progress

POLL = 0.2          # the 100-task figures
POLL_ONE = 0.05     # one task: GET /tasks/{id} is cheap, and 0.2 s would blur small runs
TASK_TIMEOUT = 4 * 3600


def post_batches(server, bodies):
    """POSTs the JSON bodies in order on one keep-alive connection.
    Returns (task ids, monotonic time of the first send, of the last 200)."""
    c = server.client()
    ids, t0 = [], time.monotonic()
    for i, (count, body) in enumerate(bodies):
        status, resp = c.request("POST", "/ingest", body,
                                 {"Content-Type": "application/json"})
        if status != 200:
            server.fail(f"POST /ingest (batch {i + 1}, {count} records) answered {status}")
        ids.append(json.loads(resp)["task_id"])
    t1 = time.monotonic()
    c.close()
    return ids, t0, t1


def _listed_tasks(client):
    """Every task of GET /tasks, page after page (the caller may stop early)."""
    page, total = 1, None
    while total is None or (page - 1) * 100 < total:
        doc = client.get_json(f"/tasks?page_size=100&page={page}")
        total = doc["total"]
        yield from doc["tasks"]
        page += 1


def _scan_tasks(client, pending, seen, now):
    """One poll of GET /tasks (all pages needed); records first-seen SUCCESS times."""
    for t in _listed_tasks(client):
        tid = t["task_id"]
        if tid in pending and t["status"] == "FAILURE":
            detail = client.get_json(f"/tasks/{tid}").get("result", {}).get("error", "?")
            client.server.fail(f"task {tid} FAILED: {detail}")
        if tid in pending and t["status"] == "SUCCESS":
            pending.discard(tid)
            seen[tid] = {"observed": now, "finished_at": t.get("finished_at")}
            if not pending:
                break   # before the next page is fetched


def _scan_one(client, pending, seen, now):
    tid = next(iter(pending))
    doc = client.get_json(f"/tasks/{tid}")
    if doc["status"] == "FAILURE":
        client.server.fail(f"task {tid} FAILED: {(doc.get('result') or {}).get('error', '?')}")
    if doc["status"] == "SUCCESS":
        pending.discard(tid)
        seen[tid] = {"observed": now, "finished_at": None}


def wait_tasks(server, ids, timeout=TASK_TIMEOUT):
    """Polls (every 0.2 s; 0.05 s for a single task) until every task is SUCCESS (BenchError on FAILURE or timeout).
    Returns {task_id: {'observed': monotonic time first seen SUCCESS, 'finished_at': str}}."""
    c = server.client(timeout=120)
    pending, seen = set(ids), {}
    deadline = time.monotonic() + timeout
    while pending:
        if not server.alive():
            server.fail("exited while tasks were running")
        if time.monotonic() > deadline:
            server.fail(f"{len(pending)} tasks not SUCCESS after {timeout} s")
        if len(ids) == 1:
            _scan_one(c, pending, seen, time.monotonic())
        else:
            _scan_tasks(c, pending, seen, time.monotonic())
        if pending:
            time.sleep(POLL_ONE if len(ids) == 1 else POLL)
    c.close()
    return seen


class _SuccessWatcher(threading.Thread):
    """Polls GET /tasks every POLL on its own connection while the POSTs are still being sent, and
    keeps when each task was first seen SUCCESS: without it the first tasks could only be seen done
    after the last POST, and their time would include the whole accept phase."""

    def __init__(self, server):
        super().__init__(daemon=True)
        self.server, self.halt, self.seen, self.error = server, threading.Event(), {}, None

    def run(self):
        c = self.server.client(timeout=120)
        try:
            while not self.halt.is_set():
                now = time.monotonic()
                for t in _listed_tasks(c):
                    if t["status"] == "SUCCESS":
                        self.seen.setdefault(t["task_id"], now)
                self.halt.wait(POLL)
        except Exception as e:  # reported by the caller, on its own thread
            self.error = e
        finally:
            c.close()

    def finish(self):
        self.halt.set()
        self.join()
        if self.error is not None:
            raise self.error
        return self.seen


def task_results(server, ids):
    """Sum of error_count over the tasks (the data is valid: anything above 0 is suspicious)."""
    c = server.client(timeout=120)
    errors = sum(c.get_json(f"/tasks/{t}")["result"].get("error_count", 0) for t in ids)
    c.close()
    return errors


def json_ingest(server, bodies):
    """Figure (a) and the concurrent accept figure (b): 100 JSON POSTs, then wait for all."""
    n = sum(count for count, _ in bodies)
    progress(f"intake[{server.name}]: POSTing {len(bodies)} JSON batches ({n} records)")
    watcher = _SuccessWatcher(server)
    watcher.start()
    try:
        ids, t0, t1 = post_batches(server, bodies)
    finally:
        early = watcher.finish()
    seen = wait_tasks(server, ids)
    for tid, when in early.items():
        if tid in seen and when < seen[tid]["observed"]:
            seen[tid]["observed"] = when
    t2 = max(s["observed"] for s in seen.values())
    errors = task_results(server, ids)
    progress(f"intake[{server.name}]: all {len(ids)} tasks SUCCESS in {t2 - t0:.2f} s "
             f"({n / (t2 - t0):.0f} rec/s; {errors} row errors)")
    return {"records": n, "tasks": len(ids), "task_ids": ids, "elapsed_s": t2 - t0,
            "rate": n / (t2 - t0), "accept_elapsed_s": t1 - t0, "accept_rate": n / (t1 - t0),
            "row_errors": errors, "growth": _task_growth(bodies, ids, seen, t0),
            "finish": [{"observed_s": seen[t]["observed"] - t0,
                        "finished_at": seen[t]["finished_at"]} for t in ids]}


def _task_growth(bodies, ids, seen, t0):
    """Per-record time of the last 10 tasks vs the first 10 (creation order), from the times
    the tasks were first seen SUCCESS (0.2 s resolution, polled from the first POST on;
    finished_at has whole seconds only).
    When the last 10 finished within one poll, their time is taken as one poll: an upper bound."""
    k = max(1, len(ids) // 10)
    done = [seen[t]["observed"] for t in ids]

    def finished_by(i):   # time when the first i tasks were all done
        return max(done[:i])

    first_span = finished_by(k) - t0
    last_span = finished_by(len(ids)) - finished_by(len(ids) - k)
    bound = last_span < POLL
    first = first_span / sum(c for c, _ in bodies[:k])
    last = max(last_span, POLL) / sum(c for c, _ in bodies[-k:])
    return {"tasks_each": k, "first_s_per_rec": first, "last_s_per_rec": last,
            "ratio": last / first if first > 0 else None, "upper_bound": bound}


def replay(server, ids, records):
    """Figure (c): POST /tasks/{id}/replay for every task in creation order, wait for all."""
    progress(f"intake[{server.name}]: replaying {len(ids)} tasks")
    c = server.client()
    t0 = time.monotonic()
    for tid in ids:
        status, _ = c.request("POST", f"/tasks/{tid}/replay")
        if status != 202:
            server.fail(f"POST /tasks/{tid}/replay answered {status}")
    c.close()
    seen = wait_tasks(server, ids)
    elapsed = max(s["observed"] for s in seen.values()) - t0
    progress(f"intake[{server.name}]: replay done in {elapsed:.2f} s ({records / elapsed:.0f} rec/s)")
    return {"records": records, "elapsed_s": elapsed, "rate": records / elapsed}


def clean_accept(server, bodies):
    """Figure (b), clean: the same POSTs to `serve --no-worker`."""
    n = sum(count for count, _ in bodies)
    _, t0, t1 = post_batches(server, bodies)
    progress(f"intake[{server.name}]: accepted {n} records in {t1 - t0:.2f} s")
    return {"records": n, "elapsed_s": t1 - t0, "rate": n / (t1 - t0)}


def upload_csv(server, path):
    """Streams a CSV file to POST /ingest (text/csv, Content-Length); returns (task id, s)."""
    size = os.path.getsize(path)
    c = server.client(timeout=3600)
    t0 = time.monotonic()
    with open(path, "rb") as f:
        status, resp = c.request("POST", "/ingest", f, {"Content-Type": "text/csv",
                                                         "Content-Length": str(size)})
    elapsed = time.monotonic() - t0
    c.close()
    if status != 200:
        server.fail(f"POST /ingest text/csv ({size} bytes) answered {status}")
    return json.loads(resp)["task_id"], elapsed


def csv_ingest(server, path, records):
    """Figures (e)/(f): one streamed CSV upload, timed until its task is SUCCESS."""
    progress(f"intake[{server.name}]: streaming {os.path.basename(path)} "
             f"({os.path.getsize(path) / 2**20:.1f} MiB, {records} rows)")
    t0 = time.monotonic()
    tid, upload_s = upload_csv(server, path)
    seen = wait_tasks(server, [tid])
    elapsed = seen[tid]["observed"] - t0
    errors = task_results(server, [tid])
    progress(f"intake[{server.name}]: CSV task SUCCESS in {elapsed:.2f} s "
             f"({records / elapsed:.0f} rec/s; {errors} row errors)")
    return {"records": records, "elapsed_s": elapsed, "rate": records / elapsed,
            "upload_s": upload_s, "row_errors": errors}
