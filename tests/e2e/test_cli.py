"""Command line and configuration (SPEC §2, §6)."""

import json
import os
import re
import shutil
import signal
import socket
import sqlite3
import sys
import tempfile
import time
import unittest

import backends

from intake_harness import (IntakeProcess, ProcessTestCase, ServerTestCase, csv_bytes, diff_rows,
                            free_port, make_record, make_records, ndjson_bytes, record_view,
                            require_binary, run_cli, unique)

UUID_ANY = re.compile(r"[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}")


def lines(*texts):
    out = []
    for t in texts:
        if isinstance(t, bytes):
            t = t.decode("utf-8", errors="replace")
        out.extend(l for l in t.splitlines() if l.strip())
    return out


def port_answers(port):
    s = socket.socket()
    s.settimeout(0.5)
    try:
        s.connect(("127.0.0.1", port))
        return True
    except OSError:
        return False
    finally:
        s.close()


TempDirTestCase = ProcessTestCase


class VersionHelpMigrateTest(TempDirTestCase):
    def test_version_prints_a_version(self):
        r = run_cli(["version"], cwd=self.tmp, timeout=30)
        self.assertEqual(r.returncode, 0, r.stderr[-500:])
        self.assertRegex(r.stdout.decode(), r"\d+\.\d+")

    def test_help_exits_zero_and_lists_commands(self):
        r = run_cli(["--help"], cwd=self.tmp, timeout=30)
        self.assertEqual(r.returncode, 0, r.stderr[-500:])
        text = (r.stdout + r.stderr).decode()
        for cmd in ("serve", "worker", "migrate", "ingest", "version"):
            self.assertIn(cmd, text)

    def test_unknown_command_fails(self):
        r = run_cli(["frobnicate"], cwd=self.tmp, timeout=30)
        self.assertNotEqual(r.returncode, 0)

    def test_migrate_creates_the_database_with_the_seed_tables(self):
        data = os.path.join(self.tmp, "data")
        r = run_cli(["migrate"], env={"DATA_DIR": data, "LOG_LEVEL": "warning"}, cwd=self.tmp,
                    timeout=60)
        self.assertEqual(r.returncode, 0, r.stderr[-1000:])
        db = os.path.join(data, "intake.db")
        self.assertTrue(os.path.isfile(db), "DATA_DIR/intake.db not created")
        con = sqlite3.connect(db)
        try:
            def cols(t):
                return {row[1] for row in con.execute("PRAGMA table_info(%s)" % t)}
            self.assertLessEqual({"id", "mrn", "created_at"}, cols("patients"))
            self.assertLessEqual({"id", "first_name", "last_name", "birth_date"}, cols("persons"))
            self.assertLessEqual({"id", "visit_account_number", "patient_id", "visit_date",
                                  "reason"}, cols("visits"))
        finally:
            con.close()
        r2 = run_cli(["migrate"], env={"DATA_DIR": data, "LOG_LEVEL": "warning"}, cwd=self.tmp,
                     timeout=60)
        self.assertEqual(r2.returncode, 0, "second migrate failed: " + r2.stderr[-500:].decode())

    def test_migrate_honours_database_url(self):
        db = os.path.join(self.tmp, "elsewhere.db")
        r = run_cli(["migrate"], env={"DATABASE_URL": "sqlite:///" + db,
                                      "DATA_DIR": os.path.join(self.tmp, "d")},
                    cwd=self.tmp, timeout=60)
        self.assertEqual(r.returncode, 0, r.stderr[-1000:])
        self.assertTrue(os.path.isfile(db))


class BadConfigTest(TempDirTestCase):
    def assertFailsNaming(self, var, value, args=("serve",)):
        env = {"DATA_DIR": os.path.join(self.tmp, "data"), "HOST": "127.0.0.1",
               "PORT": str(free_port()), var: value}
        try:
            r = run_cli(list(args), env=env, cwd=self.tmp, timeout=20)
        except Exception as e:  # subprocess.TimeoutExpired: it started anyway (and was killed)
            self.fail("intake %s with %s=%r did not fail at start-up (%s)"
                      % (" ".join(args), var, value, type(e).__name__))
        self.assertNotEqual(r.returncode, 0, "%s=%r accepted" % (var, value))
        out = lines(r.stderr, r.stdout)
        self.assertTrue(any(var in l for l in out), "no line names %s: %r" % (var, out[:5]))
        self.assertEqual(len(out), 1, "expected a one-line message, got %d lines: %r"
                         % (len(out), out[:5]))

    def test_non_numeric_port_fails_naming_port(self):
        self.assertFailsNaming("PORT", "abc")

    def test_out_of_range_port_fails_naming_port(self):
        self.assertFailsNaming("PORT", "70000")

    def test_zero_worker_concurrency_fails(self):
        self.assertFailsNaming("WORKER_CONCURRENCY", "0")

    def test_non_numeric_worker_concurrency_fails(self):
        self.assertFailsNaming("WORKER_CONCURRENCY", "many")

    def test_unknown_database_url_scheme_fails(self):
        self.assertFailsNaming("DATABASE_URL", "foo://x")

    def test_unknown_broker_url_scheme_fails(self):
        self.assertFailsNaming("BROKER_URL", "foo://x")

    def test_non_numeric_limit_fails(self):
        self.assertFailsNaming("MAX_RECORDS_PER_REQUEST", "lots")

    def test_bad_config_fails_for_worker_too(self):
        self.assertFailsNaming("WORKER_CONCURRENCY", "0", args=("worker",))


class ConfigSourcesTest(TempDirTestCase):
    def write_env(self, text):
        with open(os.path.join(self.tmp, ".env"), "w") as f:
            f.write(text)

    def test_dotenv_in_working_directory_is_read(self):
        port = free_port()
        data = os.path.join(self.tmp, "from-dotenv")
        self.write_env("# settings\n\nexport PORT=%d\nDATA_DIR='%s'\nLOG_LEVEL=\"warning\"\n"
                       % (port, data))
        s = self.proc(port=port, cwd=self.tmp, set_port_env=False, set_data_dir_env=False)
        s.start()  # answers on the PORT from .env
        if backends.is_embedded():  # elsewhere nothing is stored under DATA_DIR
            self.assertTrue(os.path.isdir(data), "DATA_DIR from .env not used")
        s.stop()

    def test_real_environment_wins_over_dotenv(self):
        p_env, p_file = free_port(), free_port()
        self.write_env("PORT=%d\n" % p_file)
        s = self.proc(port=p_env, cwd=self.tmp)  # PORT=p_env in the real environment
        s.start()
        self.assertFalse(port_answers(p_file), "listening on the .env port")
        s.stop()

    def test_port_flag_wins_over_environment(self):
        p_env, p_flag = free_port(), free_port()
        s = self.proc(port=p_flag, env={"PORT": str(p_env)},
                      args=("serve", "--port", str(p_flag)))
        s.start()
        self.assertFalse(port_answers(p_env), "listening on the PORT from the environment")
        s.stop()

    @backends.embedded_only("checks where the SQLite file is created")
    def test_data_dir_flag_wins_over_environment(self):
        flag_dir = os.path.join(self.tmp, "flag-data")
        s = self.proc(args=("serve", "--data-dir", flag_dir))
        s.start()
        s.ingest_and_wait([make_record()])
        s.stop()
        self.assertTrue(os.path.isfile(os.path.join(flag_dir, "intake.db")))
        self.assertFalse(os.path.exists(os.path.join(s.data_dir, "intake.db")))

    def test_data_and_idempotency_keys_survive_a_restart(self):
        s = self.proc()
        s.start()
        rec = make_record()
        key = unique("restart-key")
        first, _ = s.ingest_and_wait([rec], headers={"Idempotency-Key": key})
        s.stop()
        s.restart()
        self.assertEqual(s.patients(mrn=rec["mrn"])["total"], 1)
        self.assertEqual(s.task(first["task_id"])["status"], "SUCCESS")
        r = s.ingest_json([rec], headers={"Idempotency-Key": key})
        self.assertEqual(r.status, 200, r.summary())
        self.assertEqual(r.json["task_id"], first["task_id"])
        self.assertEqual(s.tasks_total(), 1)
        s.stop()

    def test_database_url_flag_wins_over_environment(self):
        env_db = os.path.join(self.tmp, "env.db")
        flag_db = os.path.join(self.tmp, "flag.db")
        s = self.proc(env={"DATABASE_URL": "sqlite:///" + env_db},
                      args=("serve", "--database-url", "sqlite:///" + flag_db, "--workers", "1",
                            "--log-level", "warning", "--host", "127.0.0.1"))
        s.start()
        s.ingest_and_wait([make_record()])
        s.stop()
        self.assertTrue(os.path.isfile(flag_db))
        self.assertFalse(os.path.exists(env_db))

    def test_sigint_drains_and_exits_zero(self):
        s = self.proc()
        s.start()
        s.ingest_and_wait([make_record()])
        os.kill(s.proc.pid, signal.SIGINT)
        self.assertEqual(s.wait_exit(30), 0)

    def test_logs_carry_no_phi_by_default(self):
        s = self.proc(env={"LOG_LEVEL": "debug"})
        s.start()
        mrn, first, last = unique("LOGMRN"), unique("Firstname"), unique("Lastname")
        reason = unique("Reason")
        good = make_record(mrn=mrn, first_name=first, last_name=last, reason=reason,
                           birth_date="1961-07-19")
        owner = make_record()
        s.ingest_and_wait([owner])
        conflict = make_record(mrn=unique("LOGMRN"),
                               visit_account_number=owner["visit_account_number"])
        s.ingest_and_wait([good, conflict])
        s.upload(csv_bytes([make_record(mrn=unique("LOGMRN"), birth_date="2023-02-29")]))
        s.ingest_json([make_record(mrn=unique("LOGMRN"), first_name="\x01")])
        s.stop()
        log = s.log_text(tail=10 ** 9)
        for i, v in enumerate((mrn, first, last, reason, "1961-07-19", "LOGMRN")):
            self.assertNotIn(v, log, "log contains PHI value #%d" % i)

    def test_json_log_format_is_one_object_per_line(self):
        s = self.proc(env={"LOG_LEVEL": "info", "LOG_FORMAT": "json"})
        s.start()
        s.ingest_and_wait([make_record()])
        s.stop()
        with open(s.log_path, encoding="utf-8") as f:
            out = [l for l in f.read().splitlines() if l.strip()]
        self.assertTrue(out, "no log lines at info level")
        for n, l in enumerate(out):
            try:
                self.assertIsInstance(json.loads(l), dict)
            except ValueError:
                self.fail("log line %d is not JSON" % (n + 1))


class IngestCommandTest(ServerTestCase):
    SERVER_ENV = {"WORKER_CONCURRENCY": "2"}

    def setUp(self):
        self.tmp = tempfile.mkdtemp(prefix="intake-e2e-ingest-")
        self.addCleanup(shutil.rmtree, self.tmp, True)

    def write(self, name, data):
        path = os.path.join(self.tmp, name)
        with open(path, "wb") as f:
            f.write(data)
        return path

    def ingest(self, *args, env=None):
        return run_cli(["ingest"] + list(args), cwd=self.tmp, env=env, timeout=120)

    def assertIngested(self, r, recs, n_tasks=1):
        out = r.stdout.decode("utf-8", errors="replace")
        self.assertEqual(r.returncode, 0, "intake ingest failed: %r"
                         % lines(r.stderr)[-3:])
        ids = sorted(set(UUID_ANY.findall(out)))
        self.assertEqual(len(ids), n_tasks, "expected %d task id(s) in the output" % n_tasks)
        for tid in ids:
            t = self.server.task(tid)
            self.assertEqual(t["status"], "SUCCESS", "--wait returned before the task ended")
        for rec in recs:
            self.assertEqual(self.server.patients(mrn=rec["mrn"])["total"], 1)
            self.assertNotIn(rec["mrn"], out + r.stderr.decode(errors="replace"),
                             "ingest output contains an MRN")
        return out

    def test_ingest_csv_wait_prints_task_id_and_counters(self):
        recs = make_records(5)
        path = self.write("batch.csv", csv_bytes(recs))
        r = self.ingest(path, "--wait", "--url", self.server.url)
        out = self.assertIngested(r, recs)
        self.assertRegex(out.lower(), r"created")
        self.assertIn("5", out)

    def test_ingest_json_array_file(self):
        recs = make_records(3)
        path = self.write("batch.json", json.dumps(recs).encode())
        self.assertIngested(self.ingest(path, "--wait", "--url", self.server.url), recs)

    def test_ingest_ndjson_file(self):
        recs = make_records(3)
        path = self.write("batch.ndjson", ndjson_bytes(recs))
        self.assertIngested(self.ingest(path, "--wait", "--url", self.server.url), recs)

    def test_ingest_several_files(self):
        a, b = make_records(2), make_records(2)
        pa = self.write("a.csv", csv_bytes(a))
        pb = self.write("b.ndjson", ndjson_bytes(b))
        self.assertIngested(self.ingest(pa, pb, "--wait", "--url", self.server.url), a + b,
                            n_tasks=2)

    def test_ingest_default_url_uses_host_and_port(self):
        recs = make_records(1)
        path = self.write("one.csv", csv_bytes(recs))
        r = self.ingest(path, "--wait", env={"HOST": "127.0.0.1", "PORT": str(self.server.port)})
        self.assertIngested(r, recs)

    def test_ingest_without_wait_prints_task_id(self):
        recs = make_records(1)
        path = self.write("nowait.csv", csv_bytes(recs))
        r = self.ingest(path, "--url", self.server.url)
        self.assertEqual(r.returncode, 0, "%r" % lines(r.stderr)[-3:])
        ids = UUID_ANY.findall(r.stdout.decode())
        self.assertEqual(len(set(ids)), 1)
        self.server.wait_task(ids[0])

    def test_ingest_missing_column_fails_with_one_line(self):
        recs = make_records(2)
        path = self.write("bad.csv", csv_bytes(recs, columns=["mrn", "first_name", "last_name",
                                                              "birth_date", "visit_date",
                                                              "reason"]))
        total = self.server.tasks_total()
        r = self.ingest(path, "--wait", "--url", self.server.url)
        self.assertNotEqual(r.returncode, 0)
        err = lines(r.stderr)
        self.assertEqual(len(err), 1, "expected a one-line reason, got %d lines" % len(err))
        self.assertEqual(self.server.tasks_total(), total)

    def test_ingest_of_a_missing_file_fails(self):
        r = self.ingest(os.path.join(self.tmp, "nope.csv"), "--url", self.server.url)
        self.assertNotEqual(r.returncode, 0)
        self.assertEqual(len(lines(r.stderr)), 1)

    def test_ingest_to_a_closed_port_fails(self):
        path = self.write("x.csv", csv_bytes(make_records(1)))
        r = self.ingest(path, "--url", "http://127.0.0.1:%d" % free_port())
        self.assertNotEqual(r.returncode, 0)
        self.assertEqual(len(lines(r.stderr)), 1)

    def test_ingest_reports_row_errors_without_values(self):
        recs = make_records(3)
        recs[1]["birth_date"] = "2023-02-29"
        path = self.write("rowerr.csv", csv_bytes(recs))
        r = self.ingest(path, "--wait", "--url", self.server.url)
        text = (r.stdout + r.stderr).decode(errors="replace")
        self.assertNotIn("2023-02-29", text)
        for rec in recs:
            self.assertNotIn(rec["mrn"], text)


class SeparateWorkerTest(TempDirTestCase):
    def test_worker_process_loads_tasks_accepted_by_serve_no_worker(self):
        api = self.proc(args=("serve", "--no-worker"))
        api.start()
        ready = api.request("GET", "/ready")
        self.assertEqual(ready.status, 200, ready.summary())
        recs = [make_records(3), make_records(2)]
        ids = []
        for batch in recs:
            r = api.ingest_json(batch)
            self.assertEqual(r.status, 200, r.summary())
            ids.append(r.json["task_id"])
        time.sleep(1.0)
        for tid in ids:
            self.assertEqual(api.task(tid)["status"], "PENDING", "serve --no-worker ran a task")
        listing = api.get_json("/tasks")
        self.assertTrue(all(t["finished_at"] is None for t in listing["tasks"]),
                        "finished_at must be null until the task ends")
        r = api.request("POST", "/tasks/%s/replay" % ids[0])
        self.assertEqual(r.status, 409, "replay of an unfinished task: " + r.summary())
        metrics = api.request("GET", "/metrics").text
        depth = [l for l in metrics.splitlines() if l.startswith("intake_queue_depth")]
        self.assertTrue(depth, "intake_queue_depth missing")
        self.assertGreaterEqual(float(depth[0].split()[-1]), 2, "queue depth with 2 pending tasks")

        workers = []
        for _ in range(2):
            w = self.proc(args=("worker",), data_dir=api.data_dir,
                          env={"WORKER_CONCURRENCY": "1", "LOG_LEVEL": "info"})
            w.start(wait=False)
            workers.append(w)
        # The other worker may find no task left; it must still be up before the stop below
        # (a SIGTERM before start-up ends the process by the default action: status -15).
        for w in workers:
            w.wait_started()
        for tid, batch in zip(ids, recs):
            t = api.wait_task(tid, timeout=60)
            self.assertEqual(t["status"], "SUCCESS")
            self.assertEqual(t["result"]["patients_created"], len(batch))
        for batch in recs:
            for rec in batch:
                self.assertEqual(api.patients(mrn=rec["mrn"])["total"], 1)
        listing = api.get_json("/tasks")
        self.assertTrue(all(t["finished_at"] for t in listing["tasks"]))
        for w in workers:
            self.assertTrue(w.running(), "worker exited on its own")
            w.stop()
        api.stop()


    def test_object_read_before_it_is_whole_is_read_again_and_nothing_is_lost(self):
        # An S3 server may answer a PUT before all of the object is readable (s3rver does); a
        # worker that reads it then must neither load the cut-off row nor end the task short.
        api = self.proc(args=("serve", "--no-worker"))
        api.start()
        prefix = unique("CUT")
        recs = make_records(40, mrn_prefix=prefix)
        r = api.upload(csv_bytes(recs))
        self.assertEqual(r.status, 200, r.summary())
        name, tid = r.json["csv_filename"], r.json["task_id"]
        whole = api.object_bytes(name)
        cut = whole[:len(whole) // 2]
        self.assertFalse(cut.endswith(b"\n"), "the cut should fall inside a row")
        api.put_object(name, cut)
        w = self.proc(args=("worker",), data_dir=api.data_dir,
                      env={"WORKER_CONCURRENCY": "1", "LOG_LEVEL": "info", "BATCH_ROWS": "5"})
        w.start(wait=False)
        w.wait_log(r"task=%s transient failure \(1/\d+\): CSV object ends inside a row: "
                   r"it is incomplete; retrying" % re.escape(tid), timeout=60)
        running = api.task(tid)
        self.assertEqual(running["status"], "PROGRESS", "the whole batches before the cut load")
        self.assertTrue(0 < running["result"]["current"] < 20, running["result"])
        api.put_object(name, whole)
        t = api.wait_task(tid, timeout=60)
        self.assertEqual(t["status"], "SUCCESS")
        res = t["result"]
        self.assertEqual((res["total_records"], res["processed_records"], res["patients_created"],
                          res["visits_created"], res["error_count"]), (40, 40, 40, 40, 0))
        self.assertEqual(res["errors"], [])
        got = sorted((record_view(p, v) for p in api.patients_by_mrn_prefix(prefix)
                      for v in p["visits"]), key=lambda x: x["visit_account_number"])
        want = sorted(recs, key=lambda x: x["visit_account_number"])
        self.assertTrue(got == want, diff_rows(want, got))
        log = w.log_text(tail=100000)
        for rec in recs:
            self.assertNotIn(rec["mrn"], log)
        w.stop()
        api.stop()

    def test_task_whose_object_is_gone_fails_with_a_reason(self):
        api = self.proc(args=("serve", "--no-worker"))
        api.start()
        rec = make_record()
        r = api.ingest_json([rec])
        self.assertEqual(r.status, 200, r.summary())
        api.delete_object(r.json["csv_filename"])
        w = self.proc(args=("worker",), data_dir=api.data_dir, env={"WORKER_CONCURRENCY": "1"})
        w.start(wait=False)
        t = api.wait_task(r.json["task_id"], timeout=120, interval=0.2)
        self.assertEqual(t["status"], "FAILURE")
        res = t["result"]
        self.assertEqual(res.get("status"), "failed")
        self.assertEqual(res.get("csv_filename"), r.json["csv_filename"])
        self.assertIsInstance(res.get("error"), str)
        self.assertTrue(res["error"].strip())
        listed = [x for x in api.get_json("/tasks")["tasks"] if x["task_id"] == r.json["task_id"]]
        self.assertEqual(listed[0]["status"], "FAILURE")
        self.assertIsNotNone(listed[0]["finished_at"])
        self.assertEqual(api.patients(mrn=rec["mrn"])["total"], 0)
        w.stop()
        api.stop()


if __name__ == "__main__":
    unittest.main()
