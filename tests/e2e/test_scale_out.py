"""Scale-out (SPEC §1, §6): an API-only node (`serve --no-worker`) and two `intake worker` processes
share the tasks of one set of backends; one worker is SIGKILLed while it holds a task. Every task
ends SUCCESS, each exactly once in the counters, and the tables equal an independent oracle that
applies the tasks in acceptance order (the (task, row) position rule makes the result independent
of which worker ran what, and when).

Runs on every backend combination (INTAKE_E2E_BACKEND; see backends.py)."""

import csv
import io
import random
import re
import time
import unittest

from intake_harness import ProcessTestCase, big_data_scale

TASKS = 8
ROWS_PER_TASK = max(2000, int(8000 * big_data_scale()))
MRN_POOL = int(TASKS * ROWS_PER_TASK * 0.4)
ENV = {"TASK_LEASE_SECONDS": "2", "BATCH_ROWS": "500", "WORKER_CONCURRENCY": "1",
       "LOG_LEVEL": "info"}
TIMEOUT = 600.0


def make_batches(seed=20261124):
    """TASKS CSV bodies; MRNs repeat across tasks with changing names, visit numbers never do."""
    rnd = random.Random(seed)
    firsts = ["Ann", "Zoë", "José", "李", "Smith, Jr."]
    lasts = ["Doe", "Núñez", 'O"Brien', "NA", "Null"]
    batches, v = [], 0
    for _ in range(TASKS):
        out = io.StringIO(newline="")
        w = csv.writer(out, lineterminator="\r\n")
        w.writerow(["mrn", "first_name", "last_name", "birth_date", "visit_account_number",
                    "visit_date", "reason"])
        for _ in range(ROWS_PER_TASK):
            v += 1
            w.writerow(["SCALE-%07d" % rnd.randrange(MRN_POOL), rnd.choice(firsts),
                        rnd.choice(lasts), "19%02d-%02d-%02d" % (rnd.randint(30, 99),
                                                                 rnd.randint(1, 12),
                                                                 rnd.randint(1, 28)),
                        "SV-%09d" % v, "2024-%02d-%02d" % (rnd.randint(1, 12), rnd.randint(1, 28)),
                        rnd.choice(["Checkup", "Flu\nSymptoms", ""])])
        batches.append(out.getvalue().encode("utf-8"))
    return batches


def oracle(batches):
    """Final patient and visit rows when the tasks apply in order."""
    people, visits = {}, {}
    for body in batches:
        for row in csv.DictReader(io.StringIO(body.decode("utf-8"), newline="")):
            people[row["mrn"]] = (row["first_name"], row["last_name"], row["birth_date"])
            visits[row["visit_account_number"]] = (row["mrn"], row["visit_date"], row["reason"])
    return (sorted((m,) + d for m, d in people.items()),
            sorted((k,) + d for k, d in visits.items()))


class ScaleOutTest(ProcessTestCase):
    def start(self, args, data_dir=None):
        return self.proc(env=ENV, args=args, data_dir=data_dir)

    def statuses(self, api, ids):
        return [api.task(t)["status"] for t in ids]

    def test_two_workers_share_tasks_and_a_killed_one_loses_and_duplicates_nothing(self):
        batches = make_batches()
        api = self.start(("serve", "--no-worker"))
        api.start()
        ids = []
        for body in batches:
            r = api.upload(body)
            self.assertEqual(r.status, 200, r.summary())
            ids.append(r.json["task_id"])
        self.assertEqual(self.statuses(api, ids), ["PENDING"] * TASKS,
                         "an API-only node ran a task")

        w1 = self.start(("worker",), data_dir=api.data_dir)
        w2 = self.start(("worker",), data_dir=api.data_dir)
        w1.start(wait=False)
        w2.start(wait=False)

        # Kill w1 while it holds a task mid-load: its log names the task it started.
        deadline = time.monotonic() + TIMEOUT
        victim = None
        while victim is None and time.monotonic() < deadline:
            started = re.findall(r"\[WORKFLOW START\].*?([0-9a-f-]{36})", w1.log_text(tail=100000))
            for tid in started:
                t = api.task(tid)
                if t["status"] in ("STARTED", "PROGRESS"):
                    victim = tid
                    break
            if victim is None:
                if all(s == "SUCCESS" for s in self.statuses(api, ids)):
                    self.skipTest("the load finished before a worker could be killed mid-task")
                time.sleep(0.02)
        self.assertIsNotNone(victim, "worker 1 never started a task")
        w1.kill()

        while time.monotonic() < deadline:
            st = self.statuses(api, ids)
            if all(s in ("SUCCESS", "FAILURE") for s in st):
                break
            self.assertTrue(w2.running(), "worker 2 died")
            time.sleep(0.1)
        results = [api.task(t) for t in ids]
        self.assertEqual([r["status"] for r in results], ["SUCCESS"] * TASKS)

        # Exactly once: every task's rows counted once, every visit created once, every MRN
        # created by exactly one row of one task.
        res = [r["result"] for r in results]
        for r in res:
            self.assertEqual(r["processed_records"], ROWS_PER_TASK)
            self.assertEqual(r["total_records"], ROWS_PER_TASK)
            self.assertEqual(r["error_count"], 0)
        want_pats, want_vis = oracle(batches)
        self.assertEqual(sum(r["visits_created"] for r in res), TASKS * ROWS_PER_TASK)
        self.assertEqual(sum(r["patients_created"] for r in res), len(want_pats))

        pats = sorted(api.query("SELECT pa.mrn, pe.first_name, pe.last_name, pe.birth_date "
                                "FROM patients pa JOIN persons pe ON pe.id = pa.id"))
        vis = sorted(api.query("SELECT v.visit_account_number, pa.mrn, v.visit_date, v.reason "
                               "FROM visits v JOIN patients pa ON pa.id = v.patient_id"))
        self.assertTrue(pats == want_pats, "patients differ from the oracle (%d vs %d rows)"
                        % (len(pats), len(want_pats)))
        self.assertTrue(vis == want_vis, "visits differ from the oracle (%d vs %d rows)"
                        % (len(vis), len(want_vis)))

        # The survivor finished the victim's task (after the lease ran out).
        self.assertIn(victim, w2.log_text(tail=1000000))
        w2.stop()
        api.stop()


if __name__ == "__main__":
    unittest.main()
