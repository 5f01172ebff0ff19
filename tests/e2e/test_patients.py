"""GET /patients and GET /patients/{id} (SPEC §3): paging, ordering, filters, shapes, 404/422."""

import unittest

from intake_harness import ServerTestCase, make_record, unique


class PatientsTest(ServerTestCase):
    SERVER_ENV = {"WORKER_CONCURRENCY": "2"}

    def load(self, records):
        self.server.ingest_and_wait(records)

    def mrns(self, body):
        return [p["mrn"] for p in body["patients"]]

    # -- paging
    def test_default_paging_is_page_1_of_10(self):
        prefix = unique("PG")
        self.load([make_record(mrn="%s-%02d" % (prefix, i)) for i in range(12)])
        b = self.server.patients(mrn=prefix)
        self.assertEqual((b["total"], b["page"], b["page_size"]), (12, 1, 10))
        self.assertEqual(len(b["patients"]), 10)
        self.assertEqual(set(b), {"total", "page", "page_size", "patients"})

    def test_second_page_holds_the_rest_in_id_order(self):
        prefix = unique("PG")
        self.load([make_record(mrn="%s-%02d" % (prefix, i)) for i in range(12)])
        p1 = self.server.patients(mrn=prefix)
        p2 = self.server.patients(mrn=prefix, page=2)
        self.assertEqual(len(p2["patients"]), 2)
        ids = [p["id"] for p in p1["patients"] + p2["patients"]]
        self.assertEqual(ids, sorted(ids))
        self.assertEqual(len(set(ids)), 12)
        self.assertEqual(sorted(self.mrns(p1) + self.mrns(p2)),
                         ["%s-%02d" % (prefix, i) for i in range(12)])

    def test_ids_follow_first_appearance_in_the_batch(self):
        prefix = unique("FA")
        order = ["%s-%s" % (prefix, k) for k in ("q", "c", "x", "a")]
        self.load([make_record(mrn=m) for m in order] + [make_record(mrn=order[1])])
        self.assertSameValues(self.mrns(self.server.patients(mrn=prefix)), order)

    def test_page_beyond_the_end_is_empty_with_total(self):
        prefix = unique("PE")
        self.load([make_record(mrn=prefix)])
        b = self.server.patients(mrn=prefix, page=5, page_size=100)
        self.assertEqual((b["total"], b["patients"]), (1, []))

    def test_page_size_bounds(self):
        b = self.server.patients(page_size=100)
        self.assertEqual(b["page_size"], 100)
        b = self.server.patients(page_size=1)
        self.assertLessEqual(len(b["patients"]), 1)

    def test_out_of_range_paging_is_422_with_query_loc(self):
        for q, name in (("page_size=101", "page_size"), ("page_size=0", "page_size"),
                        ("page=0", "page"), ("page=-1", "page"), ("page=abc", "page"),
                        ("page_size=1.5", "page_size"), ("page=", "page")):
            with self.subTest(q=q):
                r = self.server.request("GET", "/patients?" + q)
                d = self.assertValidationError(r, what=q)
                self.assertIn(["query", name], [x["loc"] for x in d])

    # -- ordering
    def test_patients_ordered_by_id_across_batches(self):
        prefix = unique("OR")
        self.load([make_record(mrn=prefix + "-b")])
        self.load([make_record(mrn=prefix + "-a")])
        self.load([make_record(mrn=prefix + "-c")])
        b = self.server.patients(mrn=prefix)
        self.assertSameValues(self.mrns(b), [prefix + "-b", prefix + "-a", prefix + "-c"])
        ids = [p["id"] for p in b["patients"]]
        self.assertEqual(ids, sorted(ids))

    def test_visits_ordered_by_visit_date_then_id(self):
        mrn = unique("VO")
        v = [make_record(mrn=mrn, visit_date=d) for d in
             ("2024-03-01", "2023-01-01", "2024-03-01", "2022-12-31")]
        self.load(v)
        p = self.server.patients(mrn=mrn)["patients"][0]
        got = [x["visit_account_number"] for x in p["visits"]]
        want = [v[3]["visit_account_number"], v[1]["visit_account_number"],
                v[0]["visit_account_number"], v[2]["visit_account_number"]]
        self.assertSameValues(got, want, "visit order")
        ids = [x["id"] for x in p["visits"]]
        self.assertLess(ids[2], ids[3], "same-date visits not ordered by id")

    # -- filters
    def test_mrn_filter_is_case_insensitive_substring(self):
        token = unique("Mx").replace("-", "")
        self.load([make_record(mrn="AA" + token.upper() + "ZZ"), make_record()])
        b = self.server.patients(mrn=token.lower())
        self.assertEqual(b["total"], 1)
        self.assertEqual(self.server.patients(mrn=token.upper()[3:9])["total"] >= 1, True)

    def test_name_filters_are_case_insensitive_substrings(self):
        token = unique("Nm").replace("-", "")
        self.load([make_record(first_name="Ab" + token + "Cd", last_name="Q" + token),
                   make_record(first_name="Other", last_name="Other")])
        self.assertEqual(self.server.patients(first_name=token.upper())["total"], 1)
        self.assertEqual(self.server.patients(last_name=token.lower())["total"], 1)
        self.assertEqual(self.server.patients(first_name="b" + token.lower() + "c")["total"], 1)

    def test_filters_combine(self):
        prefix = unique("CB")
        self.load([make_record(mrn=prefix + "-1", last_name="Alpha"),
                   make_record(mrn=prefix + "-2", last_name="Beta")])
        b = self.server.patients(mrn=prefix, last_name="alph")
        self.assertSameValues(self.mrns(b), [prefix + "-1"])
        self.assertEqual(self.server.patients(mrn=prefix, first_name="nobody-here")["total"], 0)

    def test_unicode_case_folding_zoe(self):
        prefix = unique("ZO")
        self.load([make_record(mrn=prefix + "-1", first_name="ZOË", last_name="ÅNGSTRÖM"),
                   make_record(mrn=prefix + "-2", first_name="Zoe", last_name="Angstrom")])
        b = self.server.patients(mrn=prefix, first_name="zoë")
        self.assertSameValues(self.mrns(b), [prefix + "-1"])
        b = self.server.patients(mrn=prefix, last_name="ångström")
        self.assertSameValues(self.mrns(b), [prefix + "-1"])
        b = self.server.patients(mrn=prefix, first_name="ZOË")
        self.assertSameValues(self.mrns(b), [prefix + "-1"])

    def test_greek_and_cyrillic_case_folding(self):
        prefix = unique("GR")
        self.load([make_record(mrn=prefix + "-1", last_name="ΣΩΚΡΆΤΗΣ"),
                   make_record(mrn=prefix + "-2", last_name="ДОСТОЕВСКИЙ")])
        self.assertSameValues(self.mrns(self.server.patients(mrn=prefix, last_name="ωκρ")),
                         [prefix + "-1"])
        self.assertSameValues(self.mrns(self.server.patients(mrn=prefix, last_name="достоев")),
                         [prefix + "-2"])

    def test_percent_underscore_and_backslash_match_literally(self):
        prefix = unique("LT")
        names = {"pct": "A%B", "und": "A_B", "bsl": "A\\B", "plain": "AxB"}
        self.load([make_record(mrn="%s-%s" % (prefix, k), last_name=v) for k, v in names.items()])
        for query, want in (("%", "pct"), ("_", "und"), ("\\", "bsl"), ("A%B", "pct"),
                            ("a_b", "und"), ("A\\B", "bsl"), ("%%", None), ("\\%", None)):
            with self.subTest(query=query):
                b = self.server.patients(mrn=prefix, last_name=query)
                self.assertSameValues(self.mrns(b), ["%s-%s" % (prefix, want)] if want else [])
        b = self.server.patients(mrn=prefix, last_name="axb")
        self.assertSameValues(self.mrns(b), ["%s-plain" % prefix])

    def test_percent_in_mrn_filter_is_literal(self):
        prefix = unique("MP")
        self.load([make_record(mrn=prefix + "%1"), make_record(mrn=prefix + "x1")])
        b = self.server.patients(mrn=prefix + "%")
        self.assertSameValues(self.mrns(b), [prefix + "%1"])

    def test_empty_filter_matches_everything(self):
        total = self.server.patients()["total"]
        self.assertEqual(self.server.patients(last_name="")["total"], total)

    def test_final_sigma_matches_by_case_folding(self):
        prefix = unique("SG")
        self.load([make_record(mrn=prefix + "-1", last_name="ΟΔΥΣΣΕΥΣ")])
        # lower-casing gives "οδυσσευσ"; simple case folding maps both σ and ς to σ
        self.assertSameValues(self.mrns(self.server.patients(mrn=prefix, last_name="οδυσσευς")),
                         [prefix + "-1"])

    def test_plus_in_query_string_is_a_space(self):
        prefix = unique("SP")
        self.load([make_record(mrn=prefix + "-1", first_name="Mary Ann"),
                   make_record(mrn=prefix + "-2", first_name="Mary+Ann")])
        b = self.server.get_json("/patients?mrn=%s&first_name=mary+ann" % prefix)
        self.assertSameValues(self.mrns(b), [prefix + "-1"])
        b = self.server.get_json("/patients?mrn=%s&first_name=mary%%2Bann" % prefix)
        self.assertSameValues(self.mrns(b), [prefix + "-2"])

    def test_unknown_query_parameters_are_ignored(self):
        b = self.server.get_json("/patients?foo=bar&page_size=2")
        self.assertEqual(b["page_size"], 2)


    # -- one patient
    def test_get_patient_by_id_has_the_list_shape(self):
        rec = make_record(first_name="John", last_name="Doe", birth_date="1990-02-14",
                          visit_date="2024-11-01", reason="Annual Checkup")
        self.load([rec])
        listed = self.server.patients(mrn=rec["mrn"])["patients"][0]
        one = self.server.get_json("/patients/%d" % listed["id"])
        self.assertTrue(one == listed, "GET /patients/{id} differs from the list entry")
        self.assertEqual(set(one), {"id", "mrn", "person", "visits"})
        self.assertEqual(set(one["person"]), {"first_name", "last_name", "birth_date"})
        self.assertEqual(set(one["visits"][0]), {"id", "visit_account_number", "visit_date",
                                                 "reason"})
        self.assertTrue(one["mrn"] == rec["mrn"] and one["person"]["birth_date"] == "1990-02-14")

    def test_unknown_patient_is_404_with_message(self):
        r = self.server.request("GET", "/patients/999999")
        self.assertStatus(r, 404)
        self.assertEqual(r.json, {"detail": "Patient with ID 999999 not found"})

    def test_patient_id_beyond_64_bits_is_404(self):
        r = self.server.request("GET", "/patients/99999999999999999999999")
        self.assertStatus(r, 404)
        self.assertIn("not found", r.json["detail"])

    def test_negative_and_zero_patient_ids_are_404(self):
        for pid in ("-1", "0", "-99999999999999999999999"):
            with self.subTest(pid=pid):
                r = self.server.request("GET", "/patients/" + pid)
                self.assertStatus(r, 404)
                self.assertIn("not found", r.json["detail"])

    def test_non_integer_patient_id_is_422(self):
        for pid in ("abc", "1.5", "1e3", "%20"):
            with self.subTest(pid=pid):
                r = self.server.request("GET", "/patients/" + pid)
                d = self.assertValidationError(r, what=pid)
                self.assertEqual(d[0]["loc"][0], "path")


if __name__ == "__main__":
    unittest.main()
