"""Ingest → CSV object → task → database → read API (SPEC §3, §4), replays, idempotency."""

import csv
import io
import json
import os
import threading
import unittest

from intake_harness import (CSV_NAME_RE, FIELDS, UUID_RE, ServerTestCase,
                            csv_bytes, diff_rows, make_record, record_view, unique)


class IngestFlowTest(ServerTestCase):
    SERVER_ENV = {"WORKER_CONCURRENCY": "2"}

    def snapshot(self, prefix):
        """Everything the read API shows for patients whose MRN contains `prefix`."""
        return self.server.patients_by_mrn_prefix(prefix)

    def one_patient(self, mrn):
        pats = [p for p in self.server.patients(mrn=mrn, page_size=100)["patients"]
                if p["mrn"] == mrn]
        self.assertEqual(len(pats), 1, "expected exactly one patient for the MRN, got %d"
                         % len(pats))
        return pats[0]

    def assertResult(self, task, **expected):
        res = task["result"]
        self.assertCountersAddUp(res)
        got = {k: res.get(k) for k in expected}
        self.assertEqual(got, expected, "task counters")

    # -- seed README test case 1
    def test_case1_valid_batch_is_accepted_loaded_and_readable(self):
        prefix = unique("C1")
        a = make_record(mrn=prefix + "-A", first_name="John", last_name="Doe",
                        birth_date="1990-02-14", visit_date="2024-11-01")
        b = make_record(mrn=prefix + "-B", first_name="Jane", last_name="Roe",
                        birth_date="1985-07-30", visit_date="2024-10-15", reason="Flu Symptoms")
        a2 = make_record(mrn=prefix + "-A", first_name="John", last_name="Doe",
                         birth_date="1990-02-14", visit_date="2023-05-05", reason="Follow-up")
        r = self.server.ingest_json([a, b, a2])
        self.assertStatus(r, 200)
        body = r.json
        self.assertEqual(set(body), {"message", "records_received", "csv_filename", "task_id"})
        self.assertEqual(body["message"], "Data ingestion started successfully")
        self.assertEqual(body["records_received"], 3)
        self.assertRegex(body["csv_filename"], CSV_NAME_RE)
        self.assertRegex(body["task_id"], UUID_RE)

        task = self.server.wait_task(body["task_id"])
        self.assertEqual(task["task_id"], body["task_id"])
        self.assertEqual(task["status"], "SUCCESS")
        res = task["result"]
        self.assertEqual(res["status"], "completed")
        self.assertEqual(res["csv_filename"], body["csv_filename"])
        self.assertEqual(res["errors"], [])
        self.assertResult(task, total_records=3, processed_records=3, error_count=0,
                          patients_created=2, patients_updated=0, patients_unchanged=1,
                          visits_created=3, visits_updated=0, visits_unchanged=0)

        pats = self.snapshot(prefix)
        self.assertSameValues(sorted(p["mrn"] for p in pats), [prefix + "-A", prefix + "-B"])
        pa = [p for p in pats if p["mrn"] == prefix + "-A"][0]
        self.assertEqual(set(pa), {"id", "mrn", "person", "visits"})
        self.assertEqual(set(pa["person"]), {"first_name", "last_name", "birth_date"})
        self.assertIsInstance(pa["id"], int)
        self.assertEqual(len(pa["visits"]), 2)
        for v in pa["visits"]:
            self.assertEqual(set(v), {"id", "visit_account_number", "visit_date", "reason"})
            self.assertIsInstance(v["id"], int)
        # visits ordered by visit_date: a2 (2023) before a (2024)
        self.assertSameValues([v["visit_account_number"] for v in pa["visits"]],
                         [a2["visit_account_number"], a["visit_account_number"]])
        stored = sorted((record_view(p, v) for p in pats for v in p["visits"]),
                        key=lambda x: x["visit_account_number"])
        sent = sorted([a, b, a2], key=lambda x: x["visit_account_number"])
        self.assertTrue(stored == sent, diff_rows(sent, stored))
        # GET /patients/{id} gives the same patient
        one = self.server.get_json("/patients/%d" % pa["id"])
        self.assertTrue(one == pa, "GET /patients/{id} differs from the list entry")

    # -- seed README test case 2
    def test_case2_same_mrn_with_changed_last_name_updates_and_deduplicates(self):
        first = make_record(last_name="Before")
        self.server.ingest_and_wait([first])
        again = make_record(mrn=first["mrn"], last_name="After")
        _, task = self.server.ingest_and_wait([again])
        self.assertResult(task, processed_records=1, error_count=0, patients_created=0,
                          patients_updated=1, patients_unchanged=0, visits_created=1,
                          visits_updated=0, visits_unchanged=0)
        p = self.one_patient(first["mrn"])
        self.assertTrue(p["person"]["last_name"] == "After", "last_name not updated")
        self.assertSameValues(sorted(v["visit_account_number"] for v in p["visits"]),
                         sorted([first["visit_account_number"], again["visit_account_number"]]))

    # -- seed README test case 3
    def test_case3_same_visit_with_changed_reason_updates_the_visit(self):
        first = make_record(reason="Annual Checkup")
        self.server.ingest_and_wait([first])
        again = dict(first, reason="Chest Pain")
        _, task = self.server.ingest_and_wait([again])
        self.assertResult(task, processed_records=1, error_count=0, patients_created=0,
                          patients_updated=0, patients_unchanged=1, visits_created=0,
                          visits_updated=1, visits_unchanged=0)
        p = self.one_patient(first["mrn"])
        self.assertEqual(len(p["visits"]), 1)
        self.assertTrue(p["visits"][0]["reason"] == "Chest Pain", "reason not updated")

    def test_same_batch_twice_in_new_requests_is_unchanged(self):
        recs = [make_record(), make_record()]
        self.server.ingest_and_wait(recs)
        _, task = self.server.ingest_and_wait(recs)
        self.assertResult(task, processed_records=2, patients_created=0, patients_updated=0,
                          patients_unchanged=2, visits_created=0, visits_updated=0,
                          visits_unchanged=2)

    def test_visit_date_change_counts_as_visit_update(self):
        first = make_record(visit_date="2024-01-01")
        self.server.ingest_and_wait([first])
        _, task = self.server.ingest_and_wait([dict(first, visit_date="2024-01-02")])
        self.assertResult(task, visits_updated=1, visits_created=0, patients_unchanged=1)

    def test_birth_date_change_counts_as_patient_update(self):
        first = make_record(birth_date="1970-01-01", visit_date="2020-01-01")
        self.server.ingest_and_wait([first])
        _, task = self.server.ingest_and_wait([make_record(mrn=first["mrn"],
                                                           birth_date="1970-01-02",
                                                           visit_date="2020-01-01")])
        self.assertResult(task, patients_updated=1, visits_created=1)
        p = self.one_patient(first["mrn"])
        self.assertTrue(p["person"]["birth_date"] == "1970-01-02", "birth_date not updated")

    def test_rows_apply_in_order_within_a_batch(self):
        mrn = unique("ORD")
        rows = [make_record(mrn=mrn, last_name="One"), make_record(mrn=mrn, last_name="Two"),
                make_record(mrn=mrn, last_name="Three")]
        _, task = self.server.ingest_and_wait(rows)
        self.assertResult(task, patients_created=1, patients_updated=2, visits_created=3)
        self.assertTrue(self.one_patient(mrn)["person"]["last_name"] == "Three",
                        "last row of the batch did not win")

    def test_visit_conflict_inside_one_batch_rejects_the_later_row(self):
        first = make_record()
        second = make_record(visit_account_number=first["visit_account_number"])
        _, task = self.server.ingest_and_wait([first, second])
        res = task["result"]
        self.assertResult(task, processed_records=2, error_count=1, patients_created=1,
                          visits_created=1)
        self.assertEqual([(e["row"], e["field"]) for e in res["errors"]], [(2, None)])
        self.assertEqual(self.server.patients(mrn=second["mrn"])["total"], 0)
        self.assertEqual(len(self.one_patient(first["mrn"])["visits"]), 1)


    def test_later_tasks_win_even_when_workers_run_them_concurrently(self):
        mrn = unique("SEQ")
        shared_visit = unique("VSEQ")
        ids = []
        for i in range(8):
            contested = make_record(mrn=mrn, last_name="Name%d" % i,
                                    visit_account_number=shared_visit, reason="Reason%d" % i)
            r = self.server.ingest_json([contested] + [make_record() for _ in range(300)])
            self.assertStatus(r, 200)
            ids.append(r.json["task_id"])
        for tid in ids:
            self.assertEqual(self.server.wait_task(tid)["status"], "SUCCESS")
        p = self.one_patient(mrn)
        self.assertTrue(p["person"]["last_name"] == "Name7", "an earlier task overwrote a later one")
        self.assertTrue(p["visits"][0]["reason"] == "Reason7",
                        "an earlier task overwrote a later visit")


    def test_repeated_visit_inside_one_batch_counts_each_row(self):
        a = make_record(reason="X")
        rows = [a, dict(a, reason="Y"), make_record(visit_account_number=a["visit_account_number"]),
                dict(a, reason="X"), dict(a, reason="X")]
        _, task = self.server.ingest_and_wait(rows)
        res = task["result"]
        self.assertResult(task, processed_records=5, error_count=1, patients_created=1,
                          patients_unchanged=3, visits_created=1, visits_updated=2,
                          visits_unchanged=1)
        self.assertEqual([(e["row"], e["field"]) for e in res["errors"]], [(3, None)])
        p = self.one_patient(a["mrn"])
        self.assertTrue(p["visits"][0]["reason"] == "X", "last row of the batch did not win")

    def test_replay_reports_the_same_row_errors(self):
        owner = make_record()
        self.server.ingest_and_wait([owner])
        rows = [make_record(), make_record(visit_account_number=owner["visit_account_number"]),
                make_record(birth_date="2024-02-30")]
        r = self.server.ingest_json(rows)
        # the JSON path rejects the bad date up front, so send it as CSV
        self.assertStatus(r, 422)
        r = self.server.upload(csv_bytes(rows))
        self.assertStatus(r, 200)
        first = self.server.wait_task(r.json["task_id"])["result"]
        self.assertStatus(self.server.request("POST", "/tasks/%s/replay" % r.json["task_id"]),
                          202)
        again = self.server.wait_task(r.json["task_id"])["result"]
        self.assertEqual(again["errors"], first["errors"])
        self.assertEqual(again["error_count"], 2)
        self.assertEqual(sorted((e["row"], e["field"]) for e in again["errors"]),
                         [(2, None), (3, "birth_date")])


    # -- raw zone
    def test_requests_in_the_same_second_get_distinct_csv_files(self):
        n = 12
        batches = [[make_record()] for _ in range(n)]
        results = [None] * n

        def send(i):
            results[i] = self.server.ingest_json(batches[i])
        threads = [threading.Thread(target=send, args=(i,)) for i in range(n)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        for r in results:
            self.assertStatus(r, 200)
        names = [r.json["csv_filename"] for r in results]
        self.assertEqual(len(set(names)), n, "two requests shared a csv_filename")
        self.assertEqual(len(set(r.json["task_id"] for r in results)), n)
        for name in names:
            self.assertRegex(name, CSV_NAME_RE)
            self.assertIsNotNone(self.server.object_bytes(name), "CSV object missing")
        for r, batch in zip(results, batches):
            self.server.wait_task(r.json["task_id"])
            self.one_patient(batch[0]["mrn"])

    def test_csv_object_is_rfc4180_and_holds_what_was_sent(self):
        recs = [
            make_record(mrn="00" + unique("7"), first_name="Smith, Jr.", last_name='O"Brien',
                        reason='Says "ouch", twice\nthen\r\nleft'),
            make_record(first_name=" Ann ", last_name="NA", reason=""),
            make_record(first_name="Zoë", last_name="李", reason="tab\there"),
        ]
        r = self.server.ingest_json(recs)
        self.assertStatus(r, 200)
        raw = self.server.object_bytes(r.json["csv_filename"])
        self.assertIsNotNone(raw, "no object at <bucket>/<csv_filename>")
        text = raw.decode("utf-8")  # must be UTF-8
        if text.startswith("\ufeff"):
            text = text[1:]
        rows = list(csv.reader(io.StringIO(text, newline=""), strict=True))
        self.assertEqual(sorted(rows[0]), sorted(FIELDS), "CSV header columns")
        got = [dict(zip(rows[0], row)) for row in rows[1:]]
        self.assertEqual(len(got), len(recs), "CSV data row count")
        self.assertTrue(got == recs, diff_rows(recs, got))
        self.server.wait_task(r.json["task_id"])

    # -- counters and errors
    def test_visit_owned_by_another_patient_is_rejected_and_changes_nothing(self):
        owner = make_record(reason="Original")
        self.server.ingest_and_wait([owner])
        before = self.one_patient(owner["mrn"])
        ok1 = make_record()
        thief = make_record(visit_account_number=owner["visit_account_number"],
                            reason="Hijacked", visit_date="2020-01-01")
        ok2 = make_record()
        _, task = self.server.ingest_and_wait([ok1, thief, ok2])
        res = task["result"]
        self.assertResult(task, total_records=3, processed_records=3, error_count=1,
                          patients_created=2, visits_created=2, visits_updated=0)
        self.assertEqual(len(res["errors"]), 1)
        err = res["errors"][0]
        self.assertEqual(set(err), {"row", "field", "message"})
        self.assertEqual(err["row"], 2)
        self.assertIsNone(err["field"])
        self.assertIsInstance(err["message"], str)
        self.assertTrue(err["message"].strip())
        dumped = json.dumps(task)
        for v in (thief["mrn"], thief["visit_account_number"]):
            self.assertNotIn(v, dumped, "task result echoes a value")
        self.assertTrue(self.one_patient(owner["mrn"]) == before, "owner's visit was changed")
        self.assertEqual(self.server.patients(mrn=thief["mrn"])["total"], 0,
                         "the rejected row created its patient")
        self.one_patient(ok1["mrn"])
        self.one_patient(ok2["mrn"])

    def test_task_result_shape(self):
        _, task = self.server.ingest_and_wait([make_record()])
        self.assertEqual(set(task), {"task_id", "status", "result"})
        for k in ["status", "csv_filename", "errors"] + [
                "total_records", "processed_records", "patients_created", "patients_updated",
                "visits_created", "visits_updated", "error_count"]:
            self.assertIn(k, task["result"])

    def test_unknown_task_is_404(self):
        for tid in ("00000000-0000-4000-8000-000000000000", "not-a-uuid"):
            with self.subTest(tid=tid):
                r = self.server.request("GET", "/tasks/" + tid)
                self.assertStatus(r, 404)
                self.assertIn("detail", r.json)

    def test_tasks_list_pages_newest_first(self):
        ids = []
        for _ in range(3):
            b, _ = self.server.ingest_and_wait([make_record()])
            ids.append(b["task_id"])
        listing = self.server.get_json("/tasks?page=1&page_size=3")
        self.assertEqual(listing["page"], 1)
        self.assertEqual(listing["page_size"], 3)
        self.assertGreaterEqual(listing["total"], 3)
        self.assertEqual([t["task_id"] for t in listing["tasks"]], list(reversed(ids)))
        for t in listing["tasks"]:
            self.assertEqual(set(t), {"task_id", "status", "csv_filename", "records_received",
                                      "created_at", "finished_at"})
            self.assertEqual(t["status"], "SUCCESS")
            self.assertEqual(t["records_received"], 1)
            self.assertRegex(t["csv_filename"], CSV_NAME_RE)
            self.assertIsInstance(t["created_at"], str)
            self.assertIsInstance(t["finished_at"], str)
            self.assertLessEqual(t["created_at"][:19], t["finished_at"][:19])
        page2 = self.server.get_json("/tasks?page=2&page_size=1")
        self.assertEqual(page2["tasks"][0]["task_id"], ids[1])

    def test_tasks_list_defaults_and_bad_paging(self):
        listing = self.server.get_json("/tasks")
        self.assertEqual((listing["page"], listing["page_size"]), (1, 10))
        for q in ("page=0", "page_size=0", "page_size=101", "page=x"):
            with self.subTest(q=q):
                r = self.server.request("GET", "/tasks?" + q)
                self.assertStatus(r, 422)

    # -- replay
    def test_replay_answers_202_pending_then_changes_nothing(self):
        prefix = unique("RP")
        recs = [make_record(mrn=prefix + "-1"), make_record(mrn=prefix + "-2"),
                make_record(mrn=prefix + "-1", last_name="Later")]
        body, first = self.server.ingest_and_wait(recs)
        before = self.snapshot(prefix)
        r = self.server.request("POST", "/tasks/%s/replay" % body["task_id"])
        self.assertStatus(r, 202)
        self.assertEqual(r.json["task_id"], body["task_id"])
        self.assertEqual(r.json["status"], "PENDING")
        task = self.server.wait_task(body["task_id"])
        self.assertEqual(task["status"], "SUCCESS")
        self.assertResult(task, processed_records=3, error_count=0, patients_created=0,
                          patients_updated=0, visits_created=0, visits_updated=0)
        self.assertTrue(self.snapshot(prefix) == before, "replay changed the tables")

    def test_replay_of_older_task_does_not_roll_back_newer_data(self):
        mrn = unique("RB")
        old = make_record(mrn=mrn, last_name="Old", reason="Old reason")
        old_body, _ = self.server.ingest_and_wait([old])
        new = dict(old, last_name="New", reason="New reason")
        self.server.ingest_and_wait([new])
        after_new = self.one_patient(mrn)
        r = self.server.request("POST", "/tasks/%s/replay" % old_body["task_id"])
        self.assertStatus(r, 202)
        task = self.server.wait_task(old_body["task_id"])
        self.assertEqual(task["status"], "SUCCESS")
        self.assertResult(task, processed_records=1, patients_updated=0, visits_updated=0,
                          patients_unchanged=1, visits_unchanged=1)
        p = self.one_patient(mrn)
        self.assertTrue(p["person"]["last_name"] == "New", "replay rolled last_name back")
        self.assertTrue(p["visits"][0]["reason"] == "New reason", "replay rolled reason back")
        self.assertTrue(p == after_new, "replay of an older task changed something")

    def test_old_data_in_a_new_request_applies(self):
        mrn = unique("ND")
        old = make_record(mrn=mrn, last_name="Old")
        self.server.ingest_and_wait([old])
        self.server.ingest_and_wait([dict(old, last_name="New")])
        _, task = self.server.ingest_and_wait([old])
        self.assertResult(task, patients_updated=1)
        self.assertTrue(self.one_patient(mrn)["person"]["last_name"] == "Old")

    def test_replay_of_unknown_task_is_404(self):
        r = self.server.request("POST", "/tasks/00000000-0000-4000-8000-000000000000/replay")
        self.assertStatus(r, 404)
        self.assertIn("detail", r.json)

    def test_replay_keeps_the_task_listed_once(self):
        body, _ = self.server.ingest_and_wait([make_record()])
        total = self.server.tasks_total()
        self.assertStatus(self.server.request("POST", "/tasks/%s/replay" % body["task_id"]), 202)
        self.server.wait_task(body["task_id"])
        self.assertEqual(self.server.tasks_total(), total)

    # -- idempotency
    def test_idempotency_key_repeat_returns_first_response_and_queues_nothing(self):
        key = unique("idem")
        recs = [make_record()]
        raw = json.dumps(recs).encode()
        hdr = {"Content-Type": "application/json", "Idempotency-Key": key}
        r1 = self.server.request("POST", "/ingest", body=raw, headers=hdr)
        self.assertStatus(r1, 200)
        self.server.wait_task(r1.json["task_id"])
        total = self.server.tasks_total()
        objects = self.server.object_count()
        r2 = self.server.request("POST", "/ingest", body=raw, headers=hdr)
        self.assertStatus(r2, 200)
        self.assertEqual(r2.json, r1.json)
        self.assertEqual(self.server.tasks_total(), total, "a repeat queued a new task")
        self.assertEqual(self.server.object_count(), objects, "a repeat wrote a new CSV object")

    def test_idempotency_key_with_different_body_is_409(self):
        key = unique("idem")
        r1 = self.server.ingest_json([make_record()], headers={"Idempotency-Key": key})
        self.assertStatus(r1, 200)
        total = self.server.tasks_total()
        r2 = self.server.ingest_json([make_record()], headers={"Idempotency-Key": key})
        self.assertStatus(r2, 409)
        self.assertIn("detail", r2.json)
        self.assertEqual(self.server.tasks_total(), total)

    def test_concurrent_repeats_with_one_idempotency_key_queue_one_task(self):
        key = unique("race")
        raw = json.dumps([make_record() for _ in range(2000)]).encode()
        hdr = {"Content-Type": "application/json", "Idempotency-Key": key}
        total = self.server.tasks_total()
        results = [None] * 6

        def send(i):
            results[i] = self.server.request("POST", "/ingest", body=raw, headers=hdr)
        threads = [threading.Thread(target=send, args=(i,)) for i in range(len(results))]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        codes = sorted(r.status for r in results)
        self.assertTrue(all(c in (200, 409) for c in codes), "statuses %s" % codes)
        ok_ids = {r.json["task_id"] for r in results if r.status == 200}
        self.assertEqual(len(ok_ids), 1, "statuses %s, %d distinct task ids"
                         % (codes, len(ok_ids)))
        self.assertEqual(self.server.tasks_total(), total + 1)
        self.server.wait_task(ok_ids.pop())


    def test_idempotency_keys_are_independent(self):
        recs = [make_record()]
        r1 = self.server.ingest_json(recs, headers={"Idempotency-Key": unique("k")})
        r2 = self.server.ingest_json(recs, headers={"Idempotency-Key": unique("k")})
        self.assertStatus(r1, 200)
        self.assertStatus(r2, 200)
        self.assertNotEqual(r1.json["task_id"], r2.json["task_id"])

    def test_failed_request_is_not_remembered(self):
        key = unique("idem")
        bad = [make_record(birth_date="2023-02-29")]
        self.assertStatus(self.server.ingest_json(bad, headers={"Idempotency-Key": key}), 422)
        good = self.server.ingest_json([make_record()], headers={"Idempotency-Key": key})
        self.assertStatus(good, 200)

    def test_idempotency_key_of_200_printable_characters_is_accepted(self):
        key = ("k" + unique("x"))[:30].ljust(200, "~")
        r = self.server.ingest_json([make_record()], headers={"Idempotency-Key": key})
        self.assertStatus(r, 200)

    def test_invalid_idempotency_key_is_422(self):
        # A control character makes the header itself malformed HTTP (RFC 9110 field-value):
        # an HTTP-level 400 is as good as the 422 there.
        for name, key, codes in (("201 chars", "a" * 201, 422),
                                 ("control char", "abc\x01def", (400, 422)),
                                 ("DEL", "abc\x7fdef", (400, 422)),
                                 ("non-ASCII", "abcédef", 422)):
            with self.subTest(key=name):
                total = self.server.tasks_total()
                r = self.server.ingest_json([make_record()], headers={"Idempotency-Key": key})
                self.assertStatus(r, codes)
                self.assertEqual(self.server.tasks_total(), total)


if __name__ == "__main__":
    unittest.main()
