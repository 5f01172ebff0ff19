"""Service endpoints (SPEC §3 "Service endpoints" and "Anything else")."""

import re
import sys
import unittest

import backends

from intake_harness import (IntakeProcess, ServerTestCase, csv_bytes, free_port, make_records,
                            require_binary)


def metric_lines(text, name):
    return [l for l in text.splitlines() if re.match(r"^%s(\{|\s)" % re.escape(name), l)]


class ServiceEndpointsTest(ServerTestCase):
    SERVER_ENV = {"WORKER_CONCURRENCY": "1"}

    def test_root_describes_the_api(self):
        r = self.server.request("GET", "/")
        self.assertStatus(r, 200)
        self.assertEqual(r.json, {"message": "Healthcare Data Ingestion API", "status": "running",
                                  "docs": "/docs"})

    def test_root_is_json(self):
        r = self.server.request("GET", "/")
        self.assertIn("application/json", r.headers.get("content-type", ""))

    def test_health_is_healthy(self):
        r = self.server.request("GET", "/health")
        self.assertStatus(r, 200)
        self.assertEqual(r.json, {"status": "healthy"})

    def test_ready_reports_every_check_ok(self):
        r = self.server.request("GET", "/ready")
        self.assertStatus(r, 200)
        self.assertEqual(r.json, {"status": "ready", "checks": {"database": "ok",
                                                                "object_store": "ok",
                                                                "queue": "ok"}})

    def test_unknown_path_is_404_not_found(self):
        r = self.server.request("GET", "/no/such/path")
        self.assertStatus(r, 404)
        self.assertEqual(r.json, {"detail": "Not Found"})

    def test_unknown_path_with_post_is_404(self):
        r = self.server.request("POST", "/nothing-here", body=[])
        self.assertStatus(r, 404)
        self.assertEqual(r.json, {"detail": "Not Found"})

    def test_wrong_method_on_health_is_405(self):
        r = self.server.request("DELETE", "/health")
        self.assertStatus(r, 405)
        self.assertEqual(r.json, {"detail": "Method Not Allowed"})

    def test_get_ingest_is_405(self):
        r = self.server.request("GET", "/ingest")
        self.assertStatus(r, 405)
        self.assertEqual(r.json, {"detail": "Method Not Allowed"})

    def test_post_patients_is_405(self):
        r = self.server.request("POST", "/patients", body=[])
        self.assertStatus(r, 405)
        self.assertEqual(r.json, {"detail": "Method Not Allowed"})

    def test_metrics_is_prometheus_text(self):
        r = self.server.request("GET", "/metrics")
        self.assertStatus(r, 200)
        self.assertIn("text/plain", r.headers.get("content-type", ""))
        for name in ("intake_http_requests_total", "intake_http_request_duration_seconds_bucket",
                     "intake_queue_depth"):
            self.assertTrue(metric_lines(r.text, name), "metric %s missing" % name)

    def test_metrics_counts_requests_by_route_template(self):
        self.server.request("GET", "/patients/1")
        self.server.request("GET", "/health")
        text = self.server.request("GET", "/metrics").text
        lines = metric_lines(text, "intake_http_requests_total")
        self.assertTrue(any('route="/patients/{' in l and 'method="GET"' in l for l in lines),
                        "no intake_http_requests_total line for the /patients/{id} template")
        self.assertFalse(any('route="/patients/1"' in l for l in lines),
                         "route label must be the template, not the concrete path")
        self.assertTrue(any('route="/health"' in l and 'status="200"' in l for l in lines))

    def test_metrics_has_duration_histogram_by_route(self):
        self.server.request("GET", "/health")
        text = self.server.request("GET", "/metrics").text
        buckets = metric_lines(text, "intake_http_request_duration_seconds_bucket")
        self.assertTrue(any('route="/health"' in l and 'le="+Inf"' in l for l in buckets))
        self.assertTrue(metric_lines(text, "intake_http_request_duration_seconds_count"))
        self.assertTrue(metric_lines(text, "intake_http_request_duration_seconds_sum"))

    def test_metrics_counts_records_by_outcome(self):
        _, task = self.server.ingest_and_wait(make_records(2))
        bad = make_records(2)
        bad[0]["birth_date"] = "2023-02-29"
        r = self.server.upload(csv_bytes(bad))
        self.assertStatus(r, 200, "CSV upload")
        self.server.wait_task(r.json["task_id"])
        text = self.server.request("GET", "/metrics").text
        lines = metric_lines(text, "intake_records_total")
        for outcome in ("accepted", "loaded"):
            vals = [float(l.split()[-1]) for l in lines if 'outcome="%s"' % outcome in l]
            self.assertTrue(vals, "intake_records_total{outcome=%s} missing" % outcome)
            self.assertGreaterEqual(vals[0], 2)
        self.assertTrue(any('outcome="rejected"' in l for l in lines),
                        "intake_records_total{outcome=rejected} missing")

    def test_metrics_has_tasks_by_status(self):
        self.server.ingest_and_wait(make_records(1))
        text = self.server.request("GET", "/metrics").text
        lines = metric_lines(text, "intake_tasks")
        self.assertTrue(any(re.search(r'status="[A-Za-z_]+"', l) for l in lines),
                        "intake_tasks{status} missing")

    def test_paths_below_known_routes_are_404(self):
        for path in ("/patients/1/visits", "/tasks/x/replay/again", "/health/extra"):
            with self.subTest(path=path):
                r = self.server.request("GET", path)
                self.assertStatus(r, 404, path)
                self.assertEqual(r.json, {"detail": "Not Found"})

    def test_wrong_methods_on_task_routes_are_405(self):
        for method, path in (("GET", "/tasks/00000000-0000-4000-8000-000000000000/replay"),
                             ("POST", "/tasks"), ("DELETE", "/patients/1"),
                             ("PUT", "/tasks/00000000-0000-4000-8000-000000000000")):
            with self.subTest(method=method, path=path):
                r = self.server.request(method, path)
                self.assertStatus(r, 405, "%s %s" % (method, path))
                self.assertEqual(r.json, {"detail": "Method Not Allowed"})


    def test_keep_alive_serves_several_requests_on_one_connection(self):
        import http.client
        conn = http.client.HTTPConnection("127.0.0.1", self.server.port, timeout=30)
        try:
            for path in ("/health", "/", "/ready", "/no-such", "/health"):
                conn.request("GET", path)
                resp = conn.getresponse()
                resp.read()
                self.assertIn(resp.status, (200, 404), path)
        finally:
            conn.close()


class UnreachableBackendTest(unittest.TestCase):
    """SPEC §2: a well-formed but unreachable backend does not stop the start-up: /health answers,
    /ready and POST /ingest answer 503 (the latter with Retry-After), nothing is accepted."""

    def start(self, env):
        require_binary()
        s = IntakeProcess(env=env)
        self.addCleanup(s.cleanup)
        self._server = s
        s.start(wait=False)
        s.wait_healthy()
        return s

    def run(self, result=None):
        before = len(result.failures) + len(result.errors) if result is not None else 0
        out = super().run(result)
        s = getattr(self, "_server", None)
        if s is not None and result is not None and \
                len(result.failures) + len(result.errors) > before:
            sys.stderr.write("\n[server log]\n%s\n" % s.log_text())
        return out

    def check_unavailable(self, s, check):
        r = s.request("GET", "/health")
        self.assertEqual(r.status, 200, r.summary())
        r = s.request("GET", "/ready")
        self.assertEqual(r.status, 503, r.summary())
        self.assertEqual(r.json.get("status"), "unavailable")
        checks = r.json.get("checks", {})
        self.assertEqual(set(checks), {"database", "object_store", "queue"})
        self.assertNotEqual(checks[check], "ok")
        self.assertIsInstance(checks[check], str)
        r = s.ingest_json(make_records(1))
        self.assertEqual(r.status, 503, r.summary())
        self.assertIn("retry-after", r.headers)
        self.assertIn("detail", r.json)
        s.stop()

    def test_unreachable_object_store(self):
        s = self.start({"S3_ENDPOINT_URL": "http://127.0.0.1:%d" % free_port(),
                        "AWS_ACCESS_KEY_ID": "test", "AWS_SECRET_ACCESS_KEY": "test"})
        self.check_unavailable(s, "object_store")

    @unittest.skipUnless(backends.S3_URL, "needs INTAKE_TEST_S3_URL (scripts/test-servers.sh)")
    def test_rejected_s3_credentials_show_on_ready(self):
        s = self.start({"S3_ENDPOINT_URL": backends.S3_URL, "AWS_ACCESS_KEY_ID": "NOT-A-KEY",
                        "AWS_SECRET_ACCESS_KEY": "wrong-secret-value"})
        r = s.request("GET", "/ready")
        self.assertEqual(r.status, 503, r.summary())
        reason = r.json["checks"]["object_store"]
        self.assertIn("credentials", reason)
        self.assertNotIn("wrong-secret-value", r.text)
        self.assertNotIn("wrong-secret-value", s.log_text(tail=100000))
        self.check_unavailable(s, "object_store")

    def test_unreachable_broker(self):
        s = self.start({"BROKER_URL": "redis://127.0.0.1:%d/0" % free_port()})
        self.check_unavailable(s, "queue")

    def test_unreachable_database(self):
        s = self.start({"DATABASE_URL": "postgresql://intake:intake@127.0.0.1:%d/intake"
                        % free_port()})
        self.check_unavailable(s, "database")


if __name__ == "__main__":
    unittest.main()
