"""A real PostgreSQL crash under a running `intake serve` (migration 006; docs/schema.md, "Indexes
for the patient filters"): `patient_search` and its watermark table `search_state` are UNLOGGED, so
crash recovery empties them. Filtered reads must stay exact right away (no watermark counts as -1:
every person is checked by its own columns, those of version 0 too), and the next sync round must
copy every person back.

The test starts its own PostgreSQL (scripts/test-servers.sh start DIR postgres) and never touches
the shared server of INTAKE_TEST_POSTGRES_URL, because it crashes the server it uses: it SIGKILLs
one backend, and the postmaster then ends every other backend and runs crash recovery. Everything
else (DATA_DIR, the object folder) is the embedded default; the task queue is in PostgreSQL.

Because its server is its own, it runs once, in the embedded combination (ctest
e2e.test_pg_crash_recovery), whenever the PostgreSQL server binaries are installed; the
pg_s3 / pg_s3_redis runs of this module skip (they would only repeat it).

A few persons are set to version 0, as rows written before migration 003 are (the same as
tests/adapters/postgres/pg_database_test.cpp does): a reader taking a missing watermark for 0
instead of -1 would look those up in the emptied index and miss them."""

import glob
import os
import pwd
import re
import shutil
import signal
import subprocess
import tempfile
import time
import unittest
import uuid
from urllib.parse import urlencode

import backends
from intake_harness import REPO_ROOT, ProcessTestCase, make_record

TEST_SERVERS = os.path.join(REPO_ROOT, "scripts", "test-servers.sh")
BATCHES, BATCH_SIZE = 3, 100
WAIT = 60.0  # the bound of every wait below
FIRSTS = ["Amsel", "Birke", "Cello", "Dachs"]
LASTS = ["Alder", "Birch", "Cedar"]


def _pg_bin():
    """The newest /usr/lib/postgresql/<v>/bin (the one scripts/test-servers.sh uses), or "" when
    the server binaries (or, as root, the postgres user they run as) are missing."""
    found = sorted(glob.glob("/usr/lib/postgresql/*/bin"),
                   key=lambda p: int(p.split("/")[4]) if p.split("/")[4].isdigit() else 0)
    if not found:
        return ""
    d = found[-1]
    if not all(os.access(os.path.join(d, b), os.X_OK)
               for b in ("initdb", "postgres", "psql", "pg_isready")):
        return ""
    if os.geteuid() == 0:
        try:
            pwd.getpwnam("postgres")
        except KeyError:
            return ""
    return d


PG_BIN = _pg_bin()
# Under `make test` (scripts/with-test-servers.sh) a missing PostgreSQL fails instead of skipping.
REQUIRED = os.environ.get("INTAKE_REQUIRE_SERVERS") == "1"


def _pg_env():
    """The caller's environment without libpq's PG* variables (the URL says everything)."""
    return {k: v for k, v in os.environ.items() if not k.startswith("PG")}


@unittest.skipUnless(backends.is_embedded(),
                     "runs once, in the embedded combination (e2e.test_pg_crash_recovery): it "
                     "starts and crashes its own PostgreSQL, not this combination's servers")
@unittest.skipUnless(PG_BIN or REQUIRED,
                     "PostgreSQL server binaries (initdb, postgres, psql, pg_isready under "
                     "/usr/lib/postgresql/<v>/bin) not found: apt-get install postgresql")
class PgCrashRecoveryTest(ProcessTestCase):

    def setUp(self):
        super().setUp()
        self.assertTrue(PG_BIN, "INTAKE_REQUIRE_SERVERS=1 but the PostgreSQL server binaries are "
                                "missing under /usr/lib/postgresql/<v>/bin")
        # The server's folder must be reachable by the postgres user (mkdtemp makes 0700 folders).
        self.pgdir = tempfile.mkdtemp(prefix="intake-e2e-pgcrash.")
        os.chmod(self.pgdir, 0o755)
        self.addCleanup(shutil.rmtree, self.pgdir, True)
        self.addCleanup(self._stop_postgres)
        started = subprocess.run([TEST_SERVERS, "start", self.pgdir, "postgres"],
                                 stdout=subprocess.PIPE, stderr=subprocess.PIPE, timeout=180)
        if started.returncode != 0:
            self.fail("scripts/test-servers.sh start failed (%d): %s" % (
                started.returncode, started.stderr.decode("utf-8", "replace")[-1500:]))
        self.pg_url = None
        with open(os.path.join(self.pgdir, "env"), encoding="utf-8") as f:
            for line in f:
                key, _, val = line.strip().partition("=")
                if key == "INTAKE_TEST_POSTGRES_URL":
                    self.pg_url = val
        self.assertTrue(self.pg_url, "scripts/test-servers.sh wrote no INTAKE_TEST_POSTGRES_URL")
        self.pg_log = os.path.join(self.pgdir, "postgres.log")

    def _stop_postgres(self):
        subprocess.run([TEST_SERVERS, "stop", self.pgdir], stdout=subprocess.DEVNULL,
                       stderr=subprocess.DEVNULL, timeout=120)

    # -- PostgreSQL --------------------------------------------------------------------------------
    def psql(self, sql):
        return backends.psql(self.pg_url, sql).strip()

    def psql_int(self, sql):
        return int(self.psql(sql))

    def caught_up(self):
        """search_state.search_version == data_version and every person is in patient_search."""
        return self.psql(
            "SELECT COALESCE((SELECT search_version FROM search_state WHERE id = 1)"
            " = (SELECT value FROM counters WHERE name = 'data_version'), false)"
            " AND (SELECT COUNT(*) FROM patient_search) = (SELECT COUNT(*) FROM persons)") == "t"

    def wait_caught_up(self, what):
        deadline = time.monotonic() + WAIT
        while time.monotonic() < deadline:
            if self.caught_up():
                return
            time.sleep(0.1)
        self.fail("%s: the search index did not catch up within %.0fs (search_state rows %d, "
                  "patient_search rows %d, persons %d)" % (
                      what, WAIT, self.psql_int("SELECT COUNT(*) FROM search_state"),
                      self.psql_int("SELECT COUNT(*) FROM patient_search"),
                      self.psql_int("SELECT COUNT(*) FROM persons")))

    def pg_log_since(self, offset):
        with open(self.pg_log, "rb") as f:
            f.seek(offset)
            return f.read().decode("utf-8", "replace")

    def crash_postgres(self):
        """SIGKILLs one backend (a psql session of ours sleeping in pg_sleep) and waits until the
        postmaster has ended every backend, run crash recovery and accepts connections again."""
        offset = os.path.getsize(self.pg_log)
        tag = "intake-e2e-crash-%s" % uuid.uuid4().hex[:12]
        env = _pg_env()
        env["PGAPPNAME"] = tag
        probe = subprocess.Popen([os.path.join(PG_BIN, "psql"), "-X", self.pg_url, "-qAt", "-c",
                                  "SELECT pg_sleep(%d)" % int(WAIT)], env=env,
                                 stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                                 stderr=subprocess.DEVNULL)
        self.addCleanup(lambda: probe.poll() is None and (probe.kill(), probe.wait(10)))
        deadline, pid = time.monotonic() + WAIT, ""
        while not pid:
            self.assertLess(time.monotonic(), deadline, "the pg_sleep session never showed up")
            self.assertIsNone(probe.poll(), "the pg_sleep session ended early")
            pid = self.psql("SELECT pid FROM pg_stat_activity WHERE application_name = '%s'"
                            " AND state = 'active' AND pid <> pg_backend_pid()" % tag)
            if not pid:
                time.sleep(0.05)
        os.kill(int(pid), signal.SIGKILL)
        self.assertIsNotNone(_wait(probe, WAIT), "psql outlived its killed backend")

        # Crash recovery, then the postmaster accepts connections again (the server was initdb'ed
        # with --locale=C.UTF-8, so these are PostgreSQL's untranslated messages).
        deadline = time.monotonic() + WAIT
        while True:
            text = self.pg_log_since(offset)
            recovering = text.find("automatic recovery in progress")
            if recovering >= 0 and "ready to accept connections" in text[recovering:]:
                break
            if time.monotonic() > deadline:
                lines = [ln for ln in text.splitlines()  # no DETAIL/STATEMENT lines: values
                         if re.search(r"\b(LOG|WARNING|FATAL|PANIC):", ln)]
                self.fail("PostgreSQL did not log crash recovery and readiness within %.0fs after "
                          "a backend was SIGKILLed; its log since then:\n%s"
                          % (WAIT, "\n".join(lines[-30:])))
            time.sleep(0.05)
        deadline = time.monotonic() + WAIT
        while subprocess.run([os.path.join(PG_BIN, "pg_isready"), "-d", self.pg_url, "-q"],
                             env=_pg_env(), timeout=30).returncode != 0:
            self.assertLess(time.monotonic(), deadline, "PostgreSQL never accepted connections "
                                                        "again after crash recovery")
            time.sleep(0.1)

    def hold_search_lock(self):
        """Holds the search syncers' advisory lock (PgSearchSync: class 1769236332, the schema's
        hash) in a psql session of its own; returns a function that ends the session's backend
        (killing psql alone would leave the backend, and the lock, in pg_sleep)."""
        tag = "intake-e2e-lock-%s" % uuid.uuid4().hex[:12]
        env = _pg_env()
        env["PGAPPNAME"] = tag
        holder = subprocess.Popen(
            [os.path.join(PG_BIN, "psql"), "-X", self.pg_url, "-qAt", "-c",
             "SELECT pg_advisory_lock(1769236332, hashtext(COALESCE(current_schema()::text, '')));"
             " SELECT pg_sleep(%d)" % int(WAIT)],
            env=env, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL)
        self.addCleanup(lambda: holder.poll() is None and (holder.kill(), holder.wait(10)))
        deadline = time.monotonic() + WAIT
        while self.psql("SELECT COUNT(*) FROM pg_locks l JOIN pg_stat_activity a ON a.pid = l.pid"
                        " WHERE l.locktype = 'advisory' AND l.granted"
                        " AND a.application_name = '%s'" % tag) != "1":
            self.assertLess(time.monotonic(), deadline, "the lock-holding session never held it")
            self.assertIsNone(holder.poll(), "the lock-holding session ended early")
            time.sleep(0.05)

        def release():
            self.psql("SELECT pg_terminate_backend(pid) FROM pg_stat_activity"
                      " WHERE application_name = '%s'" % tag)
            self.assertIsNotNone(_wait(holder, WAIT), "psql outlived its ended backend")
        return release

    # -- reads -------------------------------------------------------------------------------------
    def get_patients(self, s, query, retry_until=None):
        """GET /patients?query; with retry_until (a monotonic deadline) 5xx answers and refused or
        reset connections are retried until then (Intake drops its broken connections)."""
        path = "/patients?" + urlencode(query)
        while True:
            try:
                r = s.request("GET", path, timeout=30)
                if r.status == 200:
                    return r.json
                if r.status < 500 or retry_until is None:
                    s.fail("GET /patients (%s): %s" % (sorted(query), r.summary()))
                last = r.summary()
            except OSError as e:
                if retry_until is None:
                    raise
                last = type(e).__name__
            if time.monotonic() > retry_until:
                s.fail("GET /patients (%s) kept failing for %.0fs after the crash (last: %s)"
                       % (sorted(query), WAIT, last))
            time.sleep(0.05)

    def read_all(self, s, flt, retry_until=None):
        """(total, ids, mrns) of every page of GET /patients?<flt>&page_size=100."""
        ids, mrns, page, totals = [], [], 1, set()
        while True:
            b = self.get_patients(s, dict(flt, page=page, page_size=100), retry_until)
            totals.add(b["total"])
            ids.extend(p["id"] for p in b["patients"])
            mrns.extend(p["mrn"] for p in b["patients"])
            if not b["patients"] or len(ids) >= b["total"]:
                break
            page += 1
        self.assertEqual(len(totals), 1, "%s: the total changed between pages" % sorted(flt))
        return totals.pop(), ids, mrns

    def assertSameAnswer(self, got, want, what):
        """Totals and ids equal; the message gives counts only."""
        (gt, gids, _), (wt, wids, _) = got, want
        if gt == wt and gids == wids:
            return
        self.fail("%s: total %d, expected %d; %d ids on the pages, expected %d; %d expected ids "
                  "missing, %d unexpected" % (what, gt, wt, len(gids), len(wids),
                                              len(set(wids) - set(gids)),
                                              len(set(gids) - set(wids))))

    # -- the test ----------------------------------------------------------------------------------
    def test_filtered_reads_stay_exact_through_a_crash_and_the_index_is_rebuilt(self):
        self.scenario(self.proc(env={"DATABASE_URL": self.pg_url, "LOG_LEVEL": "info"}))

    def scenario(self, s):
        tok = uuid.uuid4().hex[:10]
        records = [make_record(mrn="CR-%s-%04d" % (tok, i),
                               first_name="Fn%s%s" % (tok, FIRSTS[i % len(FIRSTS)]),
                               last_name="Ln%s%s" % (tok, LASTS[i % len(LASTS)]))
                   for i in range(BATCHES * BATCH_SIZE)]
        n = len(records)

        def oracle(flt):
            return [r["mrn"] for r in records
                    if all(v.casefold() in r[k].casefold() for k, v in flt.items())]

        # Read before the crash; their totals are then cached (per data version) by Intake.
        before_filters = {
            "last_name: every person": {"last_name": tok.upper()},
            "last_name: one in three": {"last_name": "bIRCH"},
            "first_name": {"first_name": tok + "cel"},
            "mrn": {"mrn": "-%s-00" % tok},
            "first_name and last_name": {"first_name": "amsel", "last_name": "cedar"},
        }
        # Read for the first time after the crash (totals counted anew), checked against the oracle.
        after_filters = {
            "last_name (new)": {"last_name": "alder"},
            "first_name (new)": {"first_name": "DACHS"},
            "mrn (new)": {"mrn": tok + "-01"},
        }

        s.start()
        deadline = time.monotonic() + WAIT
        while s.request("GET", "/ready").status != 200:
            self.assertLess(time.monotonic(), deadline, "GET /ready never answered 200")
            time.sleep(0.05)

        tasks = []
        for b in range(BATCHES):
            r = s.ingest_json(records[b * BATCH_SIZE:(b + 1) * BATCH_SIZE])
            self.assertEqual(r.status, 200, "POST /ingest: %s" % r.summary())
            tasks.append(r.json["task_id"])
        for task_id in tasks:
            t = s.wait_task(task_id, timeout=WAIT)
            self.assertEqual(t["status"], "SUCCESS", "task ended %s" % t["status"])
            self.assertEqual((t["result"]["patients_created"], t["result"]["error_count"]),
                             (BATCH_SIZE, 0))
        self.wait_caught_up("after the load")

        # Persons as written before migration 003 (version 0; migration 003 copied them into the
        # index, so they are there now): a missing watermark must count them as not indexed.
        self.psql("UPDATE persons SET version = 0 WHERE id % 10 = 3")
        v0 = self.psql_int("SELECT COUNT(*) FROM persons WHERE version = 0")
        self.assertGreater(v0, 0)
        self.assertTrue(self.caught_up())
        data_version = self.psql_int("SELECT value FROM counters WHERE name = 'data_version'")
        self.assertEqual(self.psql_int("SELECT COUNT(*) FROM search_state"), 1)
        self.assertEqual(self.psql_int("SELECT COUNT(*) FROM patient_search"), n)

        before = {name: self.read_all(s, flt) for name, flt in before_filters.items()}
        total, ids, mrns = before["last_name: every person"]
        self.assertEqual((total, len(set(ids))), (n, n))
        id_of = dict(zip(mrns, ids))
        for name, flt in before_filters.items():
            self.assertTrue(sorted(before[name][2]) == sorted(oracle(flt)),
                            "%s: %d patients before the crash, the oracle has %d"
                            % (name, len(before[name][2]), len(oracle(flt))))
            self.assertTrue(before[name][1] == sorted(before[name][1]),
                            "%s: not in id order" % name)
        expected_after = {}
        for name, flt in after_filters.items():
            want = sorted(id_of[m] for m in oracle(flt))
            expected_after[name] = (len(want), want, None)
            self.assertGreater(len(want), 0, name)

        # Commits are asynchronous on this server (synchronous_commit=off) and a crash loses the
        # WAL not yet written out. One synchronous commit of a transaction that wrote WAL (a temp
        # table's catalog rows; an xid alone writes none) writes out everything before it.
        written = self.psql("SELECT pg_current_wal_insert_lsn()")
        self.psql("BEGIN; SET LOCAL synchronous_commit = on;"
                  " CREATE TEMP TABLE intake_e2e_flush (); COMMIT;")
        self.assertEqual(self.psql("SELECT pg_current_wal_flush_lsn() >= '%s'::pg_lsn" % written),
                         "t", "the WAL was not written out before the crash")

        self.crash_postgres()
        # Recovery kept every logged row and emptied both unlogged tables.
        self.assertEqual(self.psql_int("SELECT COUNT(*) FROM persons"), n)
        self.assertEqual(self.psql_int("SELECT COUNT(*) FROM persons WHERE version = 0"), v0)
        self.assertEqual(
            self.psql_int("SELECT value FROM counters WHERE name = 'data_version'"), data_version)
        self.assertEqual(self.psql_int("SELECT COUNT(*) FROM patient_search"), 0,
                         "patient_search survived the crash: no crash recovery ran")
        self.assertEqual(self.psql_int("SELECT COUNT(*) FROM search_state"), 0,
                         "search_state survived the crash: no crash recovery ran")

        # Right away, with the index still empty (the syncers' advisory lock is held meanwhile, so
        # no round can run): the same answers. The first filter is every person, the version-0
        # ones among them, on every page.
        release = self.hold_search_lock()
        retry_until = time.monotonic() + WAIT
        for name, flt in before_filters.items():
            self.assertSameAnswer(self.read_all(s, flt, retry_until), before[name],
                                  "%s, right after the crash" % name)
        for name, flt in after_filters.items():
            self.assertSameAnswer(self.read_all(s, flt, retry_until), expected_after[name],
                                  "%s, right after the crash" % name)
        self.assertEqual(self.psql_int("SELECT COUNT(*) FROM search_state"), 0,
                         "a sync round ran while its lock was held")
        self.assertEqual(self.psql_int("SELECT COUNT(*) FROM patient_search"), 0)
        release()

        # The next round (nudged by those reads, waiting for the lock) copies every person back.
        self.wait_caught_up("after the crash")
        self.assertEqual(self.psql_int("SELECT COUNT(*) FROM patient_search"), n)
        self.assertEqual(
            self.psql_int("SELECT search_version FROM search_state WHERE id = 1"), data_version)
        for name, flt in before_filters.items():
            self.assertSameAnswer(self.read_all(s, flt), before[name],
                                  "%s, after the index was rebuilt" % name)
        for name, flt in after_filters.items():
            self.assertSameAnswer(self.read_all(s, flt), expected_after[name],
                                  "%s, after the index was rebuilt" % name)

        self.assertTrue(s.running(), "intake exited after the PostgreSQL crash")
        s.stop()  # SIGTERM; asserts exit code 0
        log = s.log_text(tail=10 ** 9)
        for i, v in enumerate(("CR-" + tok, "Fn" + tok, "Ln" + tok, tok)):
            self.assertFalse(v in log, "log contains PHI value #%d" % i)  # never print it


def _wait(proc, timeout):
    try:
        return proc.wait(timeout=timeout)
    except subprocess.TimeoutExpired:
        return None


if __name__ == "__main__":
    unittest.main()
