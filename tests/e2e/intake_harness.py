"""Black-box harness for the Intake binary (SPEC.md is the contract).

Starts `$INTAKE_BIN serve` (or any other sub-command) on a free 127.0.0.1 port with a fresh temporary
DATA_DIR, talks HTTP to it, and always cleans up (processes are stopped by pid).

Rules the tests follow: Python standard library only; never print record values (PHI) - failure
messages report counts, row numbers, field names and error types, not values.
"""

import datetime
import http.client
import itertools
import json
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import unittest
import uuid

import backends

INTAKE_BIN = os.environ.get("INTAKE_BIN", "")


def is_sanitized(path=None):
    """True when the binary was built with AddressSanitizer (it references __asan_init)."""
    import mmap
    try:
        with open(path or INTAKE_BIN, "rb") as f, \
                mmap.mmap(f.fileno(), 0, access=mmap.ACCESS_READ) as m:
            return m.find(b"__asan_init") >= 0
    except (OSError, ValueError):
        return False


def big_data_scale():
    """INTAKE_E2E_SCALE when set, else 1 (0.25 for an ASan build, which is ~3x slower)."""
    env = os.environ.get("INTAKE_E2E_SCALE")
    if env:
        return float(env)
    return 0.25 if INTAKE_BIN and is_sanitized() else 1.0
HERE = os.path.dirname(os.path.abspath(__file__))
REPO_ROOT = os.path.abspath(os.path.join(HERE, "..", ".."))
GEN_DATA = os.path.join(REPO_ROOT, "..", "shared", "bench", "gen_data.py")

FIELDS = ["mrn", "first_name", "last_name", "birth_date", "visit_account_number", "visit_date",
          "reason"]
UUID_RE = re.compile(r"^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$")
CSV_NAME_RE = re.compile(r"^patient_intake_\d{8}_\d{6}_[0-9a-f]+\.csv$")
COUNTERS = ["total_records", "processed_records", "patients_created", "patients_updated",
            "patients_unchanged", "visits_created", "visits_updated", "visits_unchanged",
            "error_count"]

# Configuration the product reads; never inherit it from the caller's environment.
_CONFIG_VARS = ["HOST", "PORT", "DATA_DIR", "DATABASE_URL", "S3_ENDPOINT_URL", "OBJECT_STORE",
                "S3_BUCKET_NAME", "AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_REGION",
                "BROKER_URL", "CELERY_BROKER_URL", "WORKER_CONCURRENCY",
                "MAX_RECORDS_PER_REQUEST", "MAX_BODY_BYTES", "MAX_UPLOAD_BYTES", "LOG_LEVEL",
                "LOG_FORMAT", "LOG_PHI", "TASK_LEASE_SECONDS", "BATCH_ROWS"]


def require_binary(testcase=None):
    """Skips (unittest.SkipTest) when INTAKE_BIN is not an executable file, or when the backend
    combination chosen by INTAKE_E2E_BACKEND has no servers configured (backends.py)."""
    if not INTAKE_BIN or not os.access(INTAKE_BIN, os.X_OK):
        raise unittest.SkipTest("INTAKE_BIN is not set to an executable intake binary")
    backends.require_backend()


def free_port():
    s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    try:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]
    finally:
        s.close()


def base_env(extra=None):
    env = {k: v for k, v in os.environ.items() if k not in _CONFIG_VARS}
    if extra:
        for k, v in extra.items():
            if v is None:
                env.pop(k, None)
            else:
                env[k] = str(v)
    return env


def today_utc():
    return datetime.datetime.now(datetime.timezone.utc).date()


# ---- records ----------------------------------------------------------------------------------

_seq = itertools.count(1)
_run = uuid.uuid4().hex[:8]


def unique(prefix="X"):
    """A value never used before in this run (and very unlikely in any other)."""
    return "%s-%s-%d" % (prefix, _run, next(_seq))


def make_record(**overrides):
    rec = {
        "mrn": unique("MRN"),
        "first_name": "John",
        "last_name": "Doe",
        "birth_date": "1990-02-14",
        "visit_account_number": unique("VST"),
        "visit_date": "2024-11-01",
        "reason": "Annual Checkup",
    }
    rec.update(overrides)
    return rec


def make_records(n, mrn_prefix=None, **overrides):
    prefix = mrn_prefix or unique("BATCH")
    return [make_record(mrn="%s-%04d" % (prefix, i), **overrides) for i in range(n)]


def csv_bytes(records, columns=None, line_end="\r\n", bom=False):
    """RFC 4180 CSV of `records` (dicts); every field quoted when needed."""
    cols = columns or FIELDS

    def q(v):
        v = "" if v is None else str(v)
        if any(c in v for c in ',"\r\n') or v != v.strip(" "):
            return '"' + v.replace('"', '""') + '"'
        return v
    lines = [",".join(q(c) for c in cols)]
    for r in records:
        lines.append(",".join(q(r.get(c, "")) for c in cols))
    text = line_end.join(lines) + line_end
    data = text.encode("utf-8")
    return (b"\xef\xbb\xbf" + data) if bom else data


def ndjson_bytes(records):
    return "".join(json.dumps(r, ensure_ascii=False) + "\n" for r in records).encode("utf-8")


# ---- responses --------------------------------------------------------------------------------

class Response:
    def __init__(self, status, headers, raw):
        self.status = status
        self.headers = headers  # dict, lower-case names
        self.raw = raw          # bytes
        self.text = raw.decode("utf-8", errors="replace")
        self.json = None
        ctype = headers.get("content-type", "")
        if "json" in ctype or self.text[:1] in ("{", "["):
            try:
                self.json = json.loads(self.text)
            except ValueError:
                self.json = None

    @property
    def body(self):
        return self.json if self.json is not None else self.text

    def __iter__(self):  # allows `status, headers, body = server.request(...)`
        return iter((self.status, self.headers, self.body))

    def summary(self):
        """A PHI-free description for assertion messages: status plus error locs/types only."""
        out = "HTTP %d" % self.status
        b = self.json
        if isinstance(b, dict) and "detail" in b:
            d = b["detail"]
            if isinstance(d, list):
                items = [(x.get("type"), x.get("loc")) if isinstance(x, dict) else type(x).__name__
                         for x in d[:5]]
                out += " detail[%d]=%s" % (len(d), items)
            elif isinstance(d, str):
                out += " detail=%r" % d[:200]
        elif isinstance(b, dict):
            out += " keys=%s" % sorted(b.keys())
        elif b is None:
            out += " (non-JSON, %d bytes)" % len(self.raw)
        return out


# ---- server -----------------------------------------------------------------------------------

class IntakeProcess:
    """One intake process (serve, worker, ...) with its own temp dir and captured stderr."""

    def __init__(self, env=None, args=("serve",), data_dir=None, port=None, cwd=None,
                 set_port_env=True, set_data_dir_env=True):
        require_binary()
        self.tmp = tempfile.mkdtemp(prefix="intake-e2e-")
        self.data_dir = data_dir or os.path.join(self.tmp, "data")
        self.port = port or free_port()
        self.args = list(args)
        self.cwd = cwd or self.tmp
        extra = {"HOST": "127.0.0.1", "LOG_LEVEL": "warning"}
        extra.update(backends.env_for(self.data_dir))
        if set_port_env:
            extra["PORT"] = str(self.port)
        if set_data_dir_env:
            extra["DATA_DIR"] = self.data_dir
        extra.update(env or {})
        self.env = base_env(extra)
        self.proc = None
        self.log_path = None
        self._log_file = None
        self._starts = 0

    # -- lifecycle
    def start(self, wait=True, timeout=20.0):
        assert self.proc is None or self.proc.poll() is not None, "already running"
        self._starts += 1
        self.log_path = os.path.join(self.tmp, "stderr-%d.log" % self._starts)
        self._log_file = open(self.log_path, "wb")
        self.proc = subprocess.Popen([INTAKE_BIN] + self.args, env=self.env, cwd=self.cwd,
                                     stdin=subprocess.DEVNULL, stdout=self._log_file,
                                     stderr=subprocess.STDOUT)
        if wait:
            self.wait_healthy(timeout)
        return self

    def restart(self, new_port=True, wait=True, timeout=20.0):
        """Starts again on the same DATA_DIR (after stop() or kill()), by default on a new port
        so that a socket left in TIME_WAIT cannot get in the way."""
        assert not self.running(), "still running"
        if new_port and self.env.get("PORT") == str(self.port):
            self.port = free_port()
            self.env["PORT"] = str(self.port)
        return self.start(wait=wait, timeout=timeout)

    @property
    def url(self):
        return "http://127.0.0.1:%d" % self.port

    def log_text(self, tail=4000):
        texts = []
        for i in range(1, self._starts + 1):
            p = os.path.join(self.tmp, "stderr-%d.log" % i)
            try:
                with open(p, "rb") as f:
                    t = f.read().decode("utf-8", errors="replace")
            except OSError:
                continue
            texts.append("--- %s (%s) ---\n%s" % (" ".join(self.args), os.path.basename(p),
                                                  t[-tail:]))
        return "\n".join(texts)

    def fail(self, message):
        raise AssertionError("%s\n%s" % (message, self.log_text()))

    def wait_healthy(self, timeout=20.0):
        deadline = time.monotonic() + timeout
        last = None
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                self.fail("intake %s exited with %s before answering /health"
                          % (" ".join(self.args), self.proc.returncode))
            try:
                r = self.request("GET", "/health", timeout=2)
                if r.status == 200:
                    return
                last = r.summary()
            except (OSError, http.client.HTTPException) as e:
                last = repr(e)
            time.sleep(0.05)
        self.fail("GET /health did not answer 200 within %.0fs (last: %s)" % (timeout, last))

    def running(self):
        return self.proc is not None and self.proc.poll() is None

    def wait_log(self, pattern, timeout=20.0):
        """Waits until this start's log matches the regex; fails if the process exits first."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            try:
                with open(self.log_path, "rb") as f:
                    text = f.read().decode("utf-8", errors="replace")
            except OSError:
                text = ""
            if re.search(pattern, text):
                return
            if self.proc.poll() is not None:
                self.fail("intake %s exited with %s before logging %r"
                          % (" ".join(self.args), self.proc.returncode, pattern))
            time.sleep(0.05)
        self.fail("intake %s did not log %r within %.0fs" % (" ".join(self.args), pattern, timeout))

    def wait_started(self, timeout=20.0):
        """For processes without HTTP (worker): waits for the start-up line, which is logged
        after SIGTERM/SIGINT are blocked, so a stop() from then on drains and exits 0.
        Needs LOG_LEVEL info or lower."""
        self.wait_log(r"Intake \S+ %s \(pid \d+\)" % re.escape(" ".join(self.args)), timeout)

    def wait_exit(self, timeout):
        try:
            return self.proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            return None

    def stop(self, timeout=30.0, expect_code=0):
        """SIGTERM, wait; on timeout SIGKILL and fail. Asserts the exit code."""
        if self.proc is None or self.proc.poll() is not None:
            code = None if self.proc is None else self.proc.returncode
        else:
            os.kill(self.proc.pid, signal.SIGTERM)
            code = self.wait_exit(timeout)
            if code is None:
                self.kill()
                self._close_log()
                self.fail("intake %s did not exit within %.0fs of SIGTERM"
                          % (" ".join(self.args), timeout))
        self._close_log()
        if expect_code is not None and code != expect_code:
            self.fail("intake %s exited with %s, expected %s"
                      % (" ".join(self.args), code, expect_code))
        return code

    def kill(self):
        if self.proc is not None and self.proc.poll() is None:
            os.kill(self.proc.pid, signal.SIGKILL)
            self.proc.wait(timeout=30)
        self._close_log()

    def _close_log(self):
        if self._log_file is not None:
            self._log_file.close()
            self._log_file = None

    def cleanup(self):
        """Never raises: kill by pid if still running, remove the temp dir."""
        try:
            self.kill()
        except Exception:
            pass
        shutil.rmtree(self.tmp, ignore_errors=True)

    # -- HTTP
    def request(self, method, path, body=None, headers=None, timeout=60.0, chunked=False):
        """Returns a Response (iterable as (status, headers, body)).

        body: None, bytes (sent as is), str (UTF-8), an iterable of bytes (with chunked=True), or
        any other value (sent as JSON with Content-Type application/json unless given)."""
        hdrs = dict(headers or {})
        file_like = hasattr(body, "read")
        if (body is not None and not isinstance(body, (bytes, bytearray, str)) and not chunked
                and not file_like):
            body = json.dumps(body, ensure_ascii=False).encode("utf-8")
            if not any(k.lower() == "content-type" for k in hdrs):
                hdrs["Content-Type"] = "application/json"
        elif isinstance(body, str):
            body = body.encode("utf-8")
        conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=timeout)
        try:
            send_error = None
            try:
                conn.request(method, path, body=body, headers=hdrs, encode_chunked=chunked)
            except (BrokenPipeError, ConnectionResetError) as e:
                # The server may answer (e.g. 413) and close before the body is sent.
                send_error = e
            try:
                resp = conn.getresponse()
                raw = resp.read()
            except (ConnectionResetError, http.client.RemoteDisconnected, BrokenPipeError):
                if send_error is not None:
                    raise send_error
                raise
            headers_out = {k.lower(): v for k, v in resp.getheaders()}
            return Response(resp.status, headers_out, raw)
        finally:
            conn.close()

    def get_json(self, path, expect=200):
        r = self.request("GET", path)
        if r.status != expect:
            raise AssertionError("GET %s: %s (expected %d)" % (path.split("?")[0], r.summary(),
                                                               expect))
        return r.json

    def ingest_json(self, records, headers=None):
        return self.request("POST", "/ingest", body=records, headers=headers)

    def upload(self, data, content_type="text/csv", headers=None, chunked=False):
        hdrs = {"Content-Type": content_type}
        hdrs.update(headers or {})
        return self.request("POST", "/ingest", body=data, headers=hdrs, chunked=chunked)

    def task(self, task_id):
        return self.get_json("/tasks/%s" % task_id)

    def wait_task(self, task_id, timeout=60.0, interval=0.05):
        """Polls GET /tasks/{id} until SUCCESS or FAILURE; returns the body."""
        deadline = time.monotonic() + timeout
        last = None
        while time.monotonic() < deadline:
            r = self.request("GET", "/tasks/%s" % task_id)
            if r.status == 200 and isinstance(r.json, dict):
                last = r.json.get("status")
                if last in ("SUCCESS", "FAILURE"):
                    return r.json
            elif r.status != 200:
                last = r.summary()
            if not self.running():
                self.fail("intake exited while waiting for task (last status %s)" % last)
            time.sleep(interval)
        self.fail("task did not finish within %.0fs (last status %s)" % (timeout, last))

    def ingest_and_wait(self, records, timeout=60.0, headers=None):
        """POSTs records, asserts 200, waits for SUCCESS; returns (ingest body, task body)."""
        r = self.ingest_json(records, headers=headers)
        if r.status != 200:
            raise AssertionError("POST /ingest: %s" % r.summary())
        t = self.wait_task(r.json["task_id"], timeout)
        if t["status"] != "SUCCESS":
            raise AssertionError("task ended %s: %s" % (t["status"],
                                                        (t.get("result") or {}).get("error")))
        return r.json, t

    def patients(self, **query):
        qs = "&".join("%s=%s" % (k, _quote(str(v))) for k, v in query.items())
        return self.get_json("/patients" + ("?" + qs if qs else ""))

    def patients_by_mrn_prefix(self, prefix):
        """All patients whose MRN contains `prefix` (every page)."""
        out, page = [], 1
        while True:
            b = self.patients(mrn=prefix, page=page, page_size=100)
            out.extend(b["patients"])
            if len(out) >= b["total"] or not b["patients"]:
                return out
            page += 1

    def tasks_total(self):
        return self.get_json("/tasks")["total"]

    # -- storage (whichever backends INTAKE_E2E_BACKEND chose; see backends.py)
    def object_bytes(self, csv_filename):
        """The stored CSV object's bytes, or None when there is no such object."""
        return backends.object_bytes(self.data_dir, csv_filename)

    def object_count(self):
        return len(backends.object_keys(self.data_dir))

    def put_object(self, csv_filename, data):
        backends.put_object(self.data_dir, csv_filename, data)

    def delete_object(self, csv_filename):
        backends.delete_object(self.data_dir, csv_filename)

    def query(self, sql):
        """Rows of `sql` run in this process's database (values as text)."""
        return backends.query_rows(self.data_dir, sql)


def _quote(s):
    from urllib.parse import quote
    return quote(s, safe="")


def run_cli(args, env=None, cwd=None, timeout=120, input_bytes=None):
    """Runs `$INTAKE_BIN args...`; returns CompletedProcess with text stdout/stderr."""
    require_binary()
    return subprocess.run([INTAKE_BIN] + list(args), env=base_env(env), cwd=cwd,
                          input=input_bytes, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                          timeout=timeout)


# ---- assertions -------------------------------------------------------------------------------

def counters_add_up(result):
    """True when processed == errors + patients_* == errors + visits_*."""
    p = result["processed_records"]
    e = result["error_count"]
    pat = result["patients_created"] + result["patients_updated"] + result.get("patients_unchanged", 0)
    vis = result["visits_created"] + result["visits_updated"] + result.get("visits_unchanged", 0)
    return p == e + pat and p == e + vis


def counters(result):
    return {k: result.get(k) for k in COUNTERS}


def record_view(patient, visit):
    """The seven fields of one stored visit, as a dict (for PHI-free comparisons)."""
    return {"mrn": patient["mrn"], "first_name": patient["person"]["first_name"],
            "last_name": patient["person"]["last_name"],
            "birth_date": patient["person"]["birth_date"],
            "visit_account_number": visit["visit_account_number"],
            "visit_date": visit["visit_date"], "reason": visit["reason"]}


def diff_rows(expected, actual, key="visit_account_number"):
    """PHI-free description of how two lists of records differ: counts and field names only."""
    e = {r[key]: r for r in expected}
    a = {r[key]: r for r in actual}
    missing = len(set(e) - set(a))
    extra = len(set(a) - set(e))
    fields = {}
    for k in set(e) & set(a):
        for f in FIELDS:
            if e[k].get(f) != a[k].get(f):
                fields[f] = fields.get(f, 0) + 1
    return "expected %d rows, got %d; missing %d, unexpected %d, differing fields %s" % (
        len(expected), len(actual), missing, extra, fields)


class ProcessTestCase(unittest.TestCase):
    """A temp dir per test (self.tmp) and self.proc(**IntakeProcess kwargs) for processes that are
    cleaned up by pid afterwards; when a test fails, every process's log tail goes to stderr."""

    def setUp(self):
        require_binary()
        self.tmp = tempfile.mkdtemp(prefix="intake-e2e-")
        self.addCleanup(shutil.rmtree, self.tmp, True)
        self._procs = []

    def proc(self, **kw):
        p = IntakeProcess(**kw)
        self.addCleanup(p.cleanup)
        self._procs.append(p)
        return p

    def run(self, result=None):
        self._result = result
        self._failed_before = _failure_count(result)
        return super().run(result)

    def doCleanups(self):
        # Before the cleanups remove the processes' folders (and their logs) with them. Python
        # 3.11 has recorded a failure in the result by now; before 3.11 only the test's outcome
        # knows (unittest's private _outcome, hence the getattr defaults).
        result = getattr(self, "_result", None)
        outcome = getattr(self, "_outcome", None)
        failed = result is not None and _failure_count(result) > self._failed_before
        if failed or not getattr(outcome, "success", True):
            for p in getattr(self, "_procs", []):
                sys.stderr.write("\n[log]\n%s\n" % p.log_text())
        self._result = None
        return super().doCleanups()


def _failure_count(result):
    return len(result.failures) + len(result.errors) if result is not None else 0


class ServerTestCase(unittest.TestCase):
    """One server per test class (started in setUpClass, stopped with exit code 0 at the end).

    Subclasses set SERVER_ENV / SERVER_ARGS. When a test fails, the server's log tail goes to
    stderr (log lines carry no PHI by contract: LOG_PHI defaults to false)."""

    SERVER_ENV = {}
    SERVER_ARGS = ("serve",)
    server = None

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        require_binary()
        cls.server = IntakeProcess(env=cls.SERVER_ENV, args=cls.SERVER_ARGS)
        cls.addClassCleanup(cls.server.cleanup)
        cls.server.start()

    @classmethod
    def tearDownClass(cls):
        s = cls.server
        if s is not None and s.proc is not None:
            if s.running():
                s.stop()  # SIGTERM; asserts exit code 0
            elif s.proc.returncode != 0:
                s.fail("the server died during the tests (exit code %s)" % s.proc.returncode)
        super().tearDownClass()

    def run(self, result=None):
        before = len(result.failures) + len(result.errors) if result is not None else 0
        out = super().run(result)
        if result is not None and self.server is not None:
            if len(result.failures) + len(result.errors) > before:
                sys.stderr.write("\n[server log for %s]\n%s\n" % (self.id(), self.server.log_text()))
        return out

    # -- helpers
    def assertStatus(self, resp, status, what=""):
        if isinstance(status, (tuple, list, set)):
            ok = resp.status in status
        else:
            ok = resp.status == status
        if not ok:
            self.fail("%s: expected HTTP %s, got %s" % (what or "request", status, resp.summary()))

    def assertNoPhiEcho(self, resp, *values):
        for i, v in enumerate(values):
            if v and v.encode("utf-8") in resp.raw:
                self.fail("response echoes submitted value #%d (PHI) back" % i)

    def assertValidationError(self, resp, index=None, field=None, what=""):
        """422 in FastAPI's shape; optionally one item with loc ["body", index, field]."""
        self.assertStatus(resp, 422, what)
        b = resp.json
        self.assertIsInstance(b, dict, "422 body is not a JSON object")
        self.assertIn("detail", b)
        d = b["detail"]
        self.assertIsInstance(d, list, "422 detail is not a list")
        self.assertGreater(len(d), 0)
        for item in d:
            self.assertIsInstance(item, dict)
            for k in ("type", "loc", "msg"):
                self.assertIn(k, item, "detail item lacks %r" % k)
            self.assertIsInstance(item["loc"], list)
            self.assertIsInstance(item["type"], str)
            self.assertIsInstance(item["msg"], str)
        if index is not None or field is not None:
            want = ["body"] + ([index] if index is not None else []) + ([field] if field else [])
            locs = [item["loc"] for item in d]
            self.assertIn(want, locs, "%s: no problem at %s; locs: %s" % (what, want, locs[:10]))
        return d

    def assertSameValues(self, actual, expected, what="values"):
        """List equality that never prints the values (they may be PHI-like test data)."""
        actual, expected = list(actual), list(expected)
        if actual == expected:
            return
        first = next((i for i, (a, e) in enumerate(zip(actual, expected)) if a != e),
                     min(len(actual), len(expected)))
        as_sets = "same set, different order" if sorted(map(repr, actual)) == sorted(
            map(repr, expected)) else "different members"
        self.fail("%s: got %d, expected %d; first difference at index %d (%s)"
                  % (what, len(actual), len(expected), first, as_sets))

    def assertCountersAddUp(self, result):
        self.assertTrue(counters_add_up(result), "counters do not add up: %s" % counters(result))
