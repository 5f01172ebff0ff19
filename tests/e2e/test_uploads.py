"""Bulk uploads on POST /ingest: text/csv and application/x-ndjson (SPEC §3 "Bulk files")."""

import csv
import io
import json
import os
import unittest

from intake_harness import (CSV_NAME_RE, FIELDS, ServerTestCase, csv_bytes, diff_rows,
                            make_record, make_records, ndjson_bytes, record_view, unique)

UPLOAD_LIMIT = 65536


class UploadsTest(ServerTestCase):
    # MAX_RECORDS_PER_REQUEST limits JSON arrays only; uploads are limited by MAX_UPLOAD_BYTES.
    SERVER_ENV = {"MAX_UPLOAD_BYTES": str(UPLOAD_LIMIT), "MAX_RECORDS_PER_REQUEST": "5",
                  "WORKER_CONCURRENCY": "2"}

    def stored(self, prefix):
        pats = self.server.patients_by_mrn_prefix(prefix)
        return sorted((record_view(p, v) for p in pats for v in p["visits"]),
                      key=lambda r: r["visit_account_number"])

    def upload_ok(self, data, ctype="text/csv", rows=None, chunked=False):
        r = self.server.upload(data, ctype, chunked=chunked)
        self.assertStatus(r, 200, "upload")
        self.assertEqual(r.json["message"], "Data ingestion started successfully")
        self.assertRegex(r.json["csv_filename"], CSV_NAME_RE)
        if rows is not None:
            self.assertEqual(r.json["records_received"], rows)
        task = self.server.wait_task(r.json["task_id"])
        self.assertEqual(task["status"], "SUCCESS")
        self.assertCountersAddUp(task["result"])
        return r.json, task["result"]

    def assertRejectedUpload(self, data, ctype, status=422):
        tasks = self.server.tasks_total()
        objects = self.server.object_count()
        r = self.server.upload(data, ctype)
        self.assertStatus(r, status)
        self.assertIn("detail", r.json)
        self.assertEqual(self.server.tasks_total(), tasks, "rejected upload created a task")
        self.assertEqual(self.server.object_count(), objects, "rejected upload left an object")
        return r

    def test_csv_upload_is_loaded(self):
        prefix = unique("UP")
        recs = make_records(20, mrn_prefix=prefix)  # more than MAX_RECORDS_PER_REQUEST
        _, res = self.upload_ok(csv_bytes(recs), rows=20)
        self.assertEqual((res["processed_records"], res["error_count"], res["patients_created"]),
                         (20, 0, 20))
        got = self.stored(prefix)
        want = sorted(recs, key=lambda r: r["visit_account_number"])
        self.assertTrue(got == want, diff_rows(want, got))

    def test_csv_columns_in_any_order_extra_column_bom_crlf_and_quoting(self):
        prefix = unique("UQ")
        recs = [make_record(mrn=prefix + "-1", first_name="Smith, Jr.", last_name='O"Brien',
                            reason='multi\r\nline, "quoted"\nreason'),
                make_record(mrn=prefix + "-2", first_name="Zoë", last_name="NA", reason=""),
                make_record(mrn=prefix + "-0042", last_name="Null", reason=" padded ")]
        cols = ["reason", "visit_date", "extra", "mrn", "last_name", "birth_date",
                "visit_account_number", "first_name"]
        data = csv_bytes([dict(r, extra="ignored, \"x\"") for r in recs], columns=cols,
                         line_end="\r\n", bom=True)
        _, res = self.upload_ok(data, rows=3)
        self.assertEqual(res["error_count"], 0)
        got = self.stored(prefix)
        want = sorted(recs, key=lambda r: r["visit_account_number"])
        self.assertTrue(got == want, diff_rows(want, got))

    def test_csv_with_lf_line_endings_and_no_final_newline(self):
        prefix = unique("LF")
        recs = make_records(3, mrn_prefix=prefix)
        data = csv_bytes(recs, line_end="\n").rstrip(b"\n")
        _, res = self.upload_ok(data, rows=3)
        self.assertEqual(res["patients_created"], 3)

    def test_csv_content_type_with_charset(self):
        recs = make_records(2)
        self.upload_ok(csv_bytes(recs), ctype="text/csv; charset=utf-8", rows=2)

    def test_csv_keeps_leading_zeros_and_na(self):
        mrn = "000" + unique("9").replace("-", "")
        rec = make_record(mrn=mrn, first_name="NA", last_name="Null")
        self.upload_ok(csv_bytes([rec]), rows=1)
        p = [p for p in self.server.patients(mrn=mrn)["patients"] if p["mrn"] == mrn]
        self.assertEqual(len(p), 1, "MRN with leading zeros not found as sent")
        self.assertTrue(p[0]["person"]["first_name"] == "NA" and
                        p[0]["person"]["last_name"] == "Null")

    def test_bad_row_is_reported_with_row_and_field_and_others_load(self):
        prefix = unique("BR")
        recs = make_records(5, mrn_prefix=prefix)
        recs[1]["birth_date"] = "2023-02-29"
        recs[3]["mrn"] = ""
        recs[3]["visit_date"] = "2024-13-01"
        _, res = self.upload_ok(csv_bytes(recs), rows=5)
        self.assertEqual(res["total_records"], 5)
        self.assertEqual(res["processed_records"], 5)
        self.assertEqual(res["error_count"], 2)
        self.assertEqual(res["patients_created"], 3)
        errs = sorted((e["row"], e["field"]) for e in res["errors"])
        self.assertEqual(errs, [(2, "birth_date"), (4, "mrn"), (4, "visit_date")])
        for e in res["errors"]:
            self.assertIsInstance(e["message"], str)
        self.assertNotIn("2023-02-29", json.dumps(res))
        got = self.stored(prefix)
        self.assertEqual(len(got), 3)

    def test_control_characters_and_long_values_rejected_by_worker(self):
        prefix = unique("CC")
        recs = make_records(4, mrn_prefix=prefix)
        recs[0]["first_name"] = "A\x01B"
        recs[2]["reason"] = "r" * 1001
        _, res = self.upload_ok(csv_bytes(recs), rows=4)
        self.assertEqual(res["error_count"], 2)
        self.assertEqual(sorted((e["row"], e["field"]) for e in res["errors"]),
                         [(1, "first_name"), (3, "reason")])

    def test_invalid_utf8_row_is_reported_and_others_load(self):
        prefix = unique("U8")
        recs = make_records(3, mrn_prefix=prefix)
        recs[1]["first_name"] = "BADUTF8MARK"
        data = csv_bytes(recs).replace(b"BADUTF8MARK", b"Ba\xff\xfed")
        _, res = self.upload_ok(data, rows=3)
        self.assertEqual(res["error_count"], 1)
        self.assertEqual([e["row"] for e in res["errors"]], [2])
        self.assertEqual(len(self.stored(prefix)), 2)

    def test_visit_conflict_in_upload_is_a_row_error(self):
        owner = make_record()
        self.upload_ok(csv_bytes([owner]), rows=1)
        other = make_record(visit_account_number=owner["visit_account_number"])
        _, res = self.upload_ok(csv_bytes([make_record(), other]), rows=2)
        self.assertEqual(res["errors"][0]["row"], 2)
        self.assertIsNone(res["errors"][0]["field"])

    def test_missing_column_is_422_and_stores_nothing(self):
        recs = make_records(3)
        cols = [c for c in FIELDS if c != "visit_date"]
        self.assertRejectedUpload(csv_bytes(recs, columns=cols), "text/csv")

    def test_header_only_is_422(self):
        self.assertRejectedUpload(csv_bytes([]), "text/csv")

    def test_empty_csv_is_422(self):
        self.assertRejectedUpload(b"", "text/csv")

    def test_csv_ending_inside_a_quoted_field_is_422_naming_the_line_not_the_value(self):
        recs = make_records(3)
        data = csv_bytes(recs) + b'PHI-OPEN,A,B,1990-01-01,V-OPEN,2024-01-01,"never closed\nmore'
        r = self.assertRejectedUpload(data, "text/csv")
        self.assertIn("ends inside a quoted field", json.dumps(r.json["detail"]))
        self.assertIn("line 5", json.dumps(r.json["detail"]))
        self.assertNotIn("PHI-OPEN", r.text)

    def test_ndjson_upload_is_loaded(self):
        prefix = unique("ND")
        recs = make_records(12, mrn_prefix=prefix)
        recs[4]["reason"] = 'comma, "quote"\nnewline'
        recs[5]["first_name"] = "Zoë"
        body, res = self.upload_ok(ndjson_bytes(recs), ctype="application/x-ndjson", rows=12)
        self.assertEqual(res["error_count"], 0)
        got = self.stored(prefix)
        want = sorted(recs, key=lambda r: r["visit_account_number"])
        self.assertTrue(got == want, diff_rows(want, got))

    def test_ndjson_with_crlf_and_unknown_fields(self):
        prefix = unique("NC")
        recs = make_records(2, mrn_prefix=prefix)
        data = b"".join(json.dumps(dict(r, extra=1)).encode() + b"\r\n" for r in recs)
        self.upload_ok(data, ctype="application/x-ndjson", rows=2)
        self.assertEqual(len(self.stored(prefix)), 2)

    def test_ndjson_bad_field_is_a_row_error(self):
        prefix = unique("NB")
        recs = make_records(3, mrn_prefix=prefix)
        recs[2]["visit_date"] = "1900-01-01"  # before birth
        _, res = self.upload_ok(ndjson_bytes(recs), ctype="application/x-ndjson", rows=3)
        self.assertEqual([(e["row"], e["field"]) for e in res["errors"]], [(3, "visit_date")])

    def test_ndjson_line_that_is_not_an_object_is_422(self):
        recs = make_records(2)
        for bad in (b"[1, 2]", b'"text"', b"42", b"{broken"):
            with self.subTest(line=bad.decode()):
                data = ndjson_bytes(recs[:1]) + bad + b"\n" + ndjson_bytes(recs[1:])
                self.assertRejectedUpload(data, "application/x-ndjson")

    def test_ndjson_without_lines_is_422(self):
        self.assertRejectedUpload(b"", "application/x-ndjson")

    def test_upload_over_max_upload_bytes_is_413(self):
        recs = make_records(120, reason="x" * 600)
        data = csv_bytes(recs)
        self.assertGreater(len(data), UPLOAD_LIMIT)
        self.assertRejectedUpload(data, "text/csv", status=413)

    def test_ndjson_over_max_upload_bytes_is_413(self):
        data = ndjson_bytes(make_records(120, reason="y" * 600))
        self.assertGreater(len(data), UPLOAD_LIMIT)
        self.assertRejectedUpload(data, "application/x-ndjson", status=413)

    def test_chunked_csv_upload_works(self):
        prefix = unique("CH")
        recs = make_records(40, mrn_prefix=prefix)
        data = csv_bytes(recs)

        def chunks():
            for i in range(0, len(data), 777):
                yield data[i:i + 777]
        _, res = self.upload_ok(chunks(), rows=40, chunked=True)
        self.assertEqual(res["patients_created"], 40)
        self.assertEqual(len(self.stored(prefix)), 40)

    def test_chunked_upload_over_limit_is_413(self):
        data = csv_bytes(make_records(120, reason="z" * 600))
        tasks = self.server.tasks_total()

        def chunks():
            for i in range(0, len(data), 4096):
                yield data[i:i + 4096]
        r = self.server.upload(chunks(), chunked=True)
        self.assertStatus(r, 413)
        self.assertEqual(self.server.tasks_total(), tasks)

    def test_upload_object_is_csv_with_all_rows(self):
        recs = make_records(4)
        body, _ = self.upload_ok(ndjson_bytes(recs), ctype="application/x-ndjson", rows=4)
        raw = self.server.object_bytes(body["csv_filename"])
        self.assertIsNotNone(raw, "no CSV object")
        rows = list(csv.reader(io.StringIO(raw.decode("utf-8-sig"), newline=""), strict=True))
        self.assertEqual(len(rows), 5)
        self.assertEqual(sorted(rows[0]), sorted(FIELDS))


    def test_only_first_1000_errors_are_listed_but_all_are_counted(self):
        rows = ["mrn,first_name,last_name,birth_date,visit_account_number,visit_date,reason"]
        rows += ["M%d,F,L,1990-02-30,V%d,2024-01-01," % (i, i) for i in range(1200)]
        data = ("\n".join(rows) + "\n").encode()
        self.assertLess(len(data), UPLOAD_LIMIT)
        _, res = self.upload_ok(data, rows=1200)
        self.assertEqual(res["error_count"], 1200)
        self.assertEqual(len(res["errors"]), 1000)
        self.assertEqual([e["row"] for e in res["errors"]], list(range(1, 1001)))
        self.assertTrue(all(e["field"] == "birth_date" for e in res["errors"]))

    def test_row_with_missing_fields_is_a_row_error(self):
        prefix = unique("SR")
        recs = make_records(3, mrn_prefix=prefix)
        data = csv_bytes(recs).split(b"\r\n")
        data[2] = b"only,three,fields"
        _, res = self.upload_ok(b"\r\n".join(data), rows=3)
        self.assertEqual(res["error_count"], 1)
        self.assertEqual([e["row"] for e in res["errors"]], [2])
        self.assertEqual(len(self.stored(prefix)), 2)


    def test_row_numbers_count_records_not_physical_lines(self):
        prefix = unique("RN")
        recs = make_records(3, mrn_prefix=prefix)
        recs[0]["reason"] = "line 1\nline 2\r\nline 3"
        recs[1]["birth_date"] = "1990-02-30"
        _, res = self.upload_ok(csv_bytes(recs), rows=3)
        self.assertEqual([(e["row"], e["field"]) for e in res["errors"]], [(2, "birth_date")])

    def test_ndjson_line_missing_a_field_is_a_row_error(self):
        prefix = unique("NM")
        recs = make_records(3, mrn_prefix=prefix)
        del recs[1]["visit_date"]
        _, res = self.upload_ok(ndjson_bytes(recs), ctype="application/x-ndjson", rows=3)
        self.assertEqual([(e["row"], e["field"]) for e in res["errors"]], [(2, "visit_date")])
        self.assertEqual(len(self.stored(prefix)), 2)

    def test_ndjson_non_string_value_is_a_row_error(self):
        # Every field is a JSON string (SPEC §3); a JSON array with a number is a 422, so an
        # NDJSON line with one must not load either (no type coercion: 1.50 would become "1.5").
        prefix = unique("NS")
        recs = make_records(4, mrn_prefix=prefix)
        recs[1]["first_name"] = 12345
        recs[2]["reason"] = 1.50
        recs[3]["last_name"] = None
        _, res = self.upload_ok(ndjson_bytes(recs), ctype="application/x-ndjson", rows=4)
        self.assertEqual(sorted((e["row"], e["field"]) for e in res["errors"]),
                         [(2, "first_name"), (3, "reason"), (4, "last_name")])
        self.assertEqual(len(self.stored(prefix)), 1)


if __name__ == "__main__":
    unittest.main()
