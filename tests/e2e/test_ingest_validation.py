"""POST /ingest validation (SPEC §3): every field rule, FastAPI's 422 shape, no PHI echo,
nothing stored on a rejected batch, request limits."""

import datetime
import json
import unittest

from intake_harness import (FIELDS, ServerTestCase, make_record, make_records, today_utc,
                            unique)

SECRET = "PHI-SECRET-"  # prefix of distinctive submitted values that must never come back


def secret():
    return unique(SECRET)


class FieldRulesTest(ServerTestCase):
    SERVER_ENV = {"WORKER_CONCURRENCY": "2"}

    # -- helpers
    def reject(self, field, value, index=1, what=None):
        """Sends [good, bad?, good] with `value` in record `index`; expects 422 at that loc and
        that no distinctive part of the batch comes back; checks nothing was stored."""
        recs = make_records(3)
        mrns = [rec["mrn"] for rec in recs]  # distinctive values, before the bad one goes in
        echoes = mrns + [rec["visit_account_number"] for rec in recs]
        recs[index][field] = value
        if isinstance(value, str) and len(value.strip()) >= 4:
            echoes.append(value)
        before = self.server.tasks_total()
        r = self.server.ingest_json(recs)
        self.assertValidationError(r, index, field, what or field)
        self.assertNoPhiEcho(r, *echoes)
        self.assertEqual(self.server.tasks_total(), before, "a rejected batch created a task")
        for mrn in mrns:
            self.assertEqual(self.server.patients(mrn=mrn)["total"], 0,
                             "a record of a rejected batch was stored")
        return r

    def accept(self, **fields):
        rec = make_record(**fields)
        _, task = self.server.ingest_and_wait([rec])
        res = task["result"]
        self.assertEqual(res["error_count"], 0, "row rejected by the worker: %s"
                         % [(e.get("field"), e.get("message")) for e in res["errors"]])
        pats = [p for p in self.server.patients(mrn=rec["mrn"], page_size=100)["patients"]
                if p["mrn"] == rec["mrn"]]
        self.assertEqual(len(pats), 1, "patient not found by its exact MRN")
        return rec, pats[0]

    # -- FastAPI shape and PHI
    def test_missing_field_gives_fastapi_missing_error(self):
        for field in FIELDS:
            with self.subTest(field=field):
                recs = make_records(2)
                del recs[1][field]
                r = self.server.ingest_json(recs)
                d = self.assertValidationError(r, 1, field)
                item = [x for x in d if x["loc"] == ["body", 1, field]][0]
                self.assertEqual(item["type"], "missing")
                self.assertEqual(item["msg"], "Field required")

    def test_missing_field_example_from_spec(self):
        rec = make_record()
        del rec["mrn"]
        r = self.server.ingest_json([rec])
        d = self.assertValidationError(r, 0, "mrn")
        self.assertIn({"type": "missing", "loc": ["body", 0, "mrn"], "msg": "Field required"},
                      [{k: x[k] for k in ("type", "loc", "msg")} for x in d])

    def test_non_string_values_are_rejected(self):
        for field, value in [("mrn", 12345), ("first_name", None), ("last_name", ["x"]),
                             ("birth_date", 19900214), ("visit_account_number", 1.5),
                             ("visit_date", {"y": 2024}), ("reason", True)]:
            with self.subTest(field=field):
                self.reject(field, value)

    def test_rejected_values_are_never_echoed(self):
        for field in ("mrn", "first_name", "last_name", "visit_account_number", "reason"):
            with self.subTest(field=field):
                value = secret() + "\x01"
                r = self.reject(field, value)
                self.assertNotIn(SECRET.encode(), r.raw)

    def test_bad_dates_are_not_echoed(self):
        r = self.reject("birth_date", "1990-02-30")
        self.assertNotIn(b"1990-02-30", r.raw)

    # -- empty / whitespace / length
    def test_empty_required_fields_are_rejected(self):
        for field in ("mrn", "first_name", "last_name", "visit_account_number", "birth_date",
                      "visit_date"):
            with self.subTest(field=field):
                self.reject(field, "")

    def test_whitespace_only_fields_are_rejected(self):
        for field in ("mrn", "first_name", "last_name", "visit_account_number"):
            for value in (" ", "   "):
                with self.subTest(field=field, value=len(value)):
                    self.reject(field, value)

    def test_unicode_whitespace_only_name_is_rejected(self):
        self.reject("first_name", "\u00a0\u2003")

    def test_empty_reason_is_allowed(self):
        rec, p = self.accept(reason="")
        self.assertTrue(p["visits"][0]["reason"] == "", "empty reason not stored as empty")

    def test_mrn_of_65_characters_is_rejected(self):
        self.reject("mrn", "M" * 65)

    def test_mrn_of_64_characters_is_allowed(self):
        rec, p = self.accept(mrn=unique("L")[:20].ljust(64, "7"))
        self.assertEqual(len(p["mrn"]), 64)

    def test_multibyte_characters_count_as_one(self):
        mrn = (unique("É") + "-").ljust(64, "é")  # 64 code points, more than 64 bytes
        self.assertGreater(len(mrn.encode("utf-8")), 64)
        rec, p = self.accept(mrn=mrn)
        self.assertTrue(p["mrn"] == mrn, "multibyte MRN not stored exactly")
        self.reject("mrn", "é" * 65)

    def test_visit_account_number_limits(self):
        self.reject("visit_account_number", "V" * 65)
        self.accept(visit_account_number=unique("V").ljust(64, "v"))

    def test_name_limits_are_100_characters(self):
        for field in ("first_name", "last_name"):
            with self.subTest(field=field):
                self.accept(**{field: "ü" * 100})
                self.reject(field, "ü" * 101)

    def test_reason_limit_is_1000_characters(self):
        self.accept(reason="ř" * 1000)
        self.reject("reason", "r" * 1001)

    # -- control characters
    def test_control_characters_are_rejected_in_identifiers_and_names(self):
        for field in ("mrn", "first_name", "last_name", "visit_account_number"):
            for ch in ("\x00", "\x01", "\t", "\n", "\r", "\x1f", "\x7f", "\x85", "\x9f"):
                with self.subTest(field=field, ch=hex(ord(ch))):
                    self.reject(field, "Ab" + ch + "cd")

    def test_reason_allows_tab_lf_and_cr(self):
        reason = "line one\n\tline two\r\nend\r"
        rec, p = self.accept(reason=reason)
        self.assertTrue(p["visits"][0]["reason"] == reason, "reason not stored exactly")

    def test_reason_rejects_other_control_characters(self):
        for ch in ("\x00", "\x07", "\x1b", "\x7f", "\x85"):
            with self.subTest(ch=hex(ord(ch))):
                self.reject("reason", "pain" + ch + "left")

    # -- dates
    def test_invalid_calendar_dates_are_rejected(self):
        for field in ("birth_date", "visit_date"):
            for value in ("2023-02-29", "2024-13-01", "2024-04-31", "2024-00-10", "2024-1-05",
                          "20240105", "2024/01/05", "2024-01-05T00:00:00", "05-01-2024",
                          " 2024-01-05", "abcd-ef-gh"):
                with self.subTest(field=field, value=value):
                    self.reject(field, value)

    def test_leap_day_is_a_date(self):
        self.accept(birth_date="2000-02-29", visit_date="2024-02-29")

    def test_birth_date_tomorrow_is_rejected(self):
        tomorrow = (today_utc() + datetime.timedelta(days=1)).isoformat()
        self.reject("birth_date", tomorrow)

    def test_birth_date_today_is_allowed(self):
        today = today_utc().isoformat()
        rec = make_record(birth_date=today, visit_date=today)
        r = self.server.ingest_json([rec])
        if today_utc().isoformat() != today:
            self.skipTest("UTC midnight passed during the test")
        self.assertStatus(r, 200, "birth_date today")
        task = self.server.wait_task(r.json["task_id"])
        self.assertEqual(task["result"]["error_count"], 0, "worker rejected birth_date today")

    def test_visit_before_birth_is_rejected(self):
        recs = make_records(2)
        recs[0]["birth_date"] = "2000-05-10"
        recs[0]["visit_date"] = "2000-05-09"
        before = self.server.tasks_total()
        r = self.server.ingest_json(recs)
        self.assertValidationError(r, 0, "visit_date")
        self.assertEqual(self.server.tasks_total(), before)

    def test_visit_on_birth_day_is_allowed(self):
        self.accept(birth_date="2000-05-10", visit_date="2000-05-10")

    def test_future_visit_date_is_allowed(self):
        future = (today_utc() + datetime.timedelta(days=400)).isoformat()
        rec, p = self.accept(visit_date=future)
        self.assertTrue(p["visits"][0]["visit_date"] == future, "future visit_date not stored")

    # -- values kept exactly
    def test_na_and_null_are_names(self):
        rec, p = self.accept(first_name="Null", last_name="NA")
        self.assertTrue(p["person"]["first_name"] == "Null" and p["person"]["last_name"] == "NA",
                        "NA/Null names not stored as sent")

    def test_mrn_leading_zeros_are_kept(self):
        mrn = "00123"  # fresh database per test class: unique here
        rec, p = self.accept(mrn=mrn)
        self.assertTrue(p["mrn"] == mrn, "MRN with leading zeros changed")

    def test_values_are_not_trimmed(self):
        rec, p = self.accept(first_name=" Ann ", last_name="O'Neil-Smith, Jr.", reason="  x  ")
        self.assertTrue(p["person"]["first_name"] == " Ann ", "first_name trimmed or changed")
        self.assertTrue(p["person"]["last_name"] == "O'Neil-Smith, Jr.", "last_name changed")
        self.assertTrue(p["visits"][0]["reason"] == "  x  ", "reason trimmed or changed")

    def test_names_of_any_script_are_allowed(self):
        rec, p = self.accept(first_name="李", last_name="Núñez-Müller Ωμέγα")
        self.assertTrue(p["person"]["last_name"] == "Núñez-Müller Ωμέγα")

    def test_unknown_fields_are_ignored(self):
        rec = make_record()
        sent = dict(rec, ssn="123-45-6789", extra={"nested": [1, 2]})
        _, task = self.server.ingest_and_wait([sent])
        self.assertEqual(task["result"]["error_count"], 0)
        p = self.server.patients(mrn=rec["mrn"])["patients"][0]
        self.assertNotIn("123-45-6789", json.dumps(p))

    # -- body structure
    def test_malformed_json_is_422(self):
        before = self.server.tasks_total()
        for body in (b'[{"mrn": "x",', b"not json", b'[{"mrn": "a"}]]', b""):
            with self.subTest(n=len(body)):
                r = self.server.request("POST", "/ingest", body=body,
                                        headers={"Content-Type": "application/json"})
                self.assertStatus(r, 422)
                self.assertIn("detail", r.json)
        self.assertEqual(self.server.tasks_total(), before)

    def test_non_array_body_is_422(self):
        for body in (make_record(), "a string", 42, None, {"records": [make_record()]}):
            with self.subTest(kind=type(body).__name__):
                r = self.server.request("POST", "/ingest", body=json.dumps(body).encode(),
                                        headers={"Content-Type": "application/json"})
                self.assertStatus(r, 422)
                self.assertIn("detail", r.json)

    def test_array_of_non_objects_is_422(self):
        r = self.server.ingest_json([make_record(), 1, "x"])
        self.assertValidationError(r)
        locs = [x["loc"] for x in r.json["detail"]]
        self.assertTrue(any(l[:2] == ["body", 1] for l in locs), "no problem for record 1")

    def test_empty_array_is_422(self):
        r = self.server.ingest_json([])
        self.assertStatus(r, 422)
        self.assertIn("detail", r.json)

    def test_wrong_content_type_is_415_or_422(self):
        before = self.server.tasks_total()
        body = json.dumps([make_record()]).encode()
        for ctype in ("text/plain", "application/xml", "multipart/form-data; boundary=x"):
            with self.subTest(ctype=ctype):
                r = self.server.request("POST", "/ingest", body=body,
                                        headers={"Content-Type": ctype})
                self.assertStatus(r, (415, 422))
                self.assertIn("detail", r.json)
        self.assertEqual(self.server.tasks_total(), before)

    def test_json_content_type_with_charset_is_accepted(self):
        r = self.server.request("POST", "/ingest", body=json.dumps([make_record()]).encode(),
                                headers={"Content-Type": "application/json; charset=utf-8"})
        self.assertStatus(r, 200)

    def test_media_type_is_case_insensitive(self):
        r = self.server.request("POST", "/ingest", body=json.dumps([make_record()]).encode(),
                                headers={"Content-Type": "Application/JSON"})
        self.assertStatus(r, 200)

    def test_chunked_json_body_is_accepted(self):
        raw = json.dumps(make_records(3)).encode()
        r = self.server.request("POST", "/ingest", chunked=True,
                                body=iter([raw[:40], raw[40:200], raw[200:]]),
                                headers={"Content-Type": "application/json"})
        self.assertStatus(r, 200)
        self.assertEqual(r.json["records_received"], 3)

    def test_invalid_utf8_is_422_and_nothing_stored(self):
        rec = make_record()
        raw = json.dumps([rec]).encode().replace(b'"John"', b'"Jo\xff\xfehn"')
        self.assertIn(b"\xff", raw)
        before = self.server.tasks_total()
        r = self.server.request("POST", "/ingest", body=raw,
                                headers={"Content-Type": "application/json"})
        self.assertStatus(r, 422)
        self.assertEqual(self.server.tasks_total(), before)
        self.assertEqual(self.server.patients(mrn=rec["mrn"])["total"], 0)

    def test_overlong_utf8_and_surrogates_are_422(self):
        for bad in (b"\xc0\xaf", b"\xed\xa0\x80", b"\xf4\x90\x80\x80"):
            with self.subTest(bad=bad.hex()):
                raw = json.dumps([make_record()]).encode().replace(b'"Doe"', b'"D' + bad + b'e"')
                r = self.server.request("POST", "/ingest", body=raw,
                                        headers={"Content-Type": "application/json"})
                self.assertStatus(r, 422)

    def test_escaped_lone_surrogate_is_422(self):
        raw = json.dumps([make_record()]).encode().replace(b'"Doe"', b'"D\\ud800e"')
        r = self.server.request("POST", "/ingest", body=raw,
                                headers={"Content-Type": "application/json"})
        self.assertStatus(r, 422)

    def test_escaped_control_character_in_json_is_rejected(self):
        raw = json.dumps([make_record()]).encode().replace(b'"Doe"', b'"D\\u0085e"')
        r = self.server.request("POST", "/ingest", body=raw,
                                headers={"Content-Type": "application/json"})
        self.assertValidationError(r, 0, "last_name")

    def test_only_first_100_problems_are_listed_in_record_order(self):
        recs = make_records(150)
        for rec in recs:
            rec["birth_date"] = "2023-02-29"
        r = self.server.ingest_json(recs)
        d = self.assertValidationError(r)
        self.assertEqual(len(d), 100)
        idx = [x["loc"][1] for x in d]
        self.assertEqual(idx, list(range(100)))

    def test_problems_of_all_bad_fields_are_listed(self):
        rec = make_record(mrn="", birth_date="x", reason="\x00")
        r = self.server.ingest_json([rec])
        d = self.assertValidationError(r)
        locs = [x["loc"] for x in d]
        for f in ("mrn", "birth_date", "reason"):
            self.assertIn(["body", 0, f], locs)

    def test_one_bad_record_stores_nothing(self):
        recs = make_records(20)
        recs[13]["visit_date"] = "2024-02-30"
        before_tasks = self.server.tasks_total()
        before_objects = self.server.object_count()
        r = self.server.ingest_json(recs)
        self.assertValidationError(r, 13, "visit_date")
        self.assertEqual(self.server.tasks_total(), before_tasks)
        self.assertEqual(self.server.object_count(), before_objects, "a CSV object was written")
        for rec in recs:
            self.assertEqual(self.server.patients(mrn=rec["mrn"])["total"], 0)


class RequestLimitsTest(ServerTestCase):
    SERVER_ENV = {"MAX_RECORDS_PER_REQUEST": "5", "MAX_BODY_BYTES": "8192",
                  "WORKER_CONCURRENCY": "1"}

    def test_max_records_is_accepted(self):
        r = self.server.ingest_json(make_records(5))
        self.assertStatus(r, 200)
        self.assertEqual(r.json["records_received"], 5)

    def test_more_than_max_records_is_413_telling_to_split(self):
        before = self.server.tasks_total()
        r = self.server.ingest_json(make_records(6))
        self.assertStatus(r, 413)
        self.assertIsInstance(r.json.get("detail"), str)
        self.assertIn("split", r.json["detail"].lower())
        self.assertEqual(self.server.tasks_total(), before)

    def test_body_over_max_body_bytes_is_413(self):
        recs = make_records(3, reason="x" * 900)
        recs[0]["first_name"] = "y" * 100
        body = json.dumps(recs).encode() + b" " * 6000
        self.assertGreater(len(body), 8192)
        before = self.server.tasks_total()
        r = self.server.request("POST", "/ingest", body=body,
                                headers={"Content-Type": "application/json"})
        self.assertStatus(r, 413)
        self.assertIn("detail", r.json)
        self.assertEqual(self.server.tasks_total(), before)

    def test_chunked_body_over_max_body_bytes_is_413(self):
        body = json.dumps(make_records(2)).encode() + b" " * 9000

        def chunks():
            for i in range(0, len(body), 1000):
                yield body[i:i + 1000]
        r = self.server.request("POST", "/ingest", body=chunks(), chunked=True,
                                headers={"Content-Type": "application/json"})
        self.assertStatus(r, 413)

    def test_server_still_serves_after_413(self):
        self.server.ingest_json(make_records(7))
        r = self.server.request("GET", "/health")
        self.assertStatus(r, 200)


class DefaultLimitsTest(ServerTestCase):
    # No worker: the 50,000 accepted records are not loaded, which keeps this cheap.
    SERVER_ARGS = ("serve", "--no-worker")

    def test_default_limit_is_50000_records(self):
        recs = [make_record() for _ in range(50001)]
        before = self.server.tasks_total()
        r = self.server.ingest_json(recs)
        self.assertStatus(r, 413, "50001 records")
        self.assertIn("split", r.json["detail"].lower())
        self.assertEqual(self.server.tasks_total(), before)
        r = self.server.ingest_json(recs[:50000])
        self.assertStatus(r, 200, "50000 records")
        self.assertEqual(r.json["records_received"], 50000)


if __name__ == "__main__":
    unittest.main()
