"""SigV4 as AWS computes it. s3rver (the S3 server of the integration tests) checks only that the
access key exists, not the signature, so this test points `intake serve` at a recording S3
endpoint, lets it ensure its bucket, store a small CSV (one PUT) and stream a large upload
(multipart: ?uploads, ?partNumber=&uploadId=, ?uploadId=), and re-signs every recorded request
with botocore's S3SigV4Auth — AWS's own implementation, shipped inside Debian's awscli — over the
same headers, date and payload hash. Every signature must match.

Runs once, on the embedded configuration (the S3 endpoint is this test's own server)."""

import hashlib
import http.server
import json
import os
import re
import subprocess
import threading
import unittest

import backends
from intake_harness import IntakeProcess, csv_bytes, make_records, require_binary

KEY_ID = "AKIDINTAKETEST"
SECRET = "intake/secret+KEY/for-signing-test"
REGION = "eu-central-1"
SYSTEM_PYTHON = "/usr/bin/python3"  # where Debian's awscli (and its botocore) lives

# Re-signs the requests on stdin (JSON) with botocore; prints one signature per request.
ORACLE = r"""
import json, sys
import awscli.botocore as vendored
sys.modules.setdefault("botocore", vendored)
from botocore.auth import S3SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials
job = json.load(sys.stdin)
auth = S3SigV4Auth(Credentials(job["key"], job["secret"]), "s3", job["region"])
out = []
for r in job["requests"]:
    req = AWSRequest(method=r["method"], url=job["base"] + r["path"], headers=r["headers"])
    req.context["timestamp"] = r["headers"]["x-amz-date"]
    canonical = auth.canonical_request(req)
    out.append(auth.signature(auth.string_to_sign(req, canonical), req))
print(json.dumps(out))
"""


class RecordingS3(http.server.BaseHTTPRequestHandler):
    """Just enough S3 for EnsureBucket, PUT and a multipart upload; records every request."""
    protocol_version = "HTTP/1.1"
    requests = []
    lock = threading.Lock()

    def log_message(self, *args):
        pass

    def record(self):
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length) if length else b""
        with self.lock:
            self.requests.append({"method": self.command, "path": self.path,
                                  "headers": {k.lower(): v for k, v in self.headers.items()},
                                  "body_sha256": hashlib.sha256(body).hexdigest()})

    def answer(self, status=200, body=b"", headers=None):
        self.send_response(status)
        for k, v in (headers or {}).items():
            self.send_header(k, v)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(body)

    def do_HEAD(self):
        self.record()
        self.answer()

    def do_PUT(self):
        self.record()
        self.answer(headers={"ETag": '"etag-%d"' % len(self.requests)})

    def do_POST(self):
        self.record()
        if self.path.endswith("?uploads") or "uploads=" in self.path:
            xml = ("<InitiateMultipartUploadResult><Bucket>b</Bucket><Key>k</Key>"
                   "<UploadId>upload-1</UploadId></InitiateMultipartUploadResult>")
        else:
            xml = "<CompleteMultipartUploadResult><ETag>\"done\"</ETag></CompleteMultipartUploadResult>"
        self.answer(body=xml.encode(), headers={"Content-Type": "application/xml"})

    def do_GET(self):
        self.record()
        self.answer(404, b"<Error><Code>NoSuchKey</Code></Error>")

    def do_DELETE(self):
        self.record()
        self.answer(204)


@backends.embedded_only("the S3 endpoint is this test's own recording server")
class S3SigningTest(unittest.TestCase):
    def setUp(self):
        require_binary()
        if not os.path.exists(SYSTEM_PYTHON):
            self.fail("%s not found (Debian's awscli provides botocore)" % SYSTEM_PYTHON)
        RecordingS3.requests = []
        self.httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), RecordingS3)
        threading.Thread(target=self.httpd.serve_forever, daemon=True).start()
        self.addCleanup(self.httpd.server_close)
        self.addCleanup(self.httpd.shutdown)
        self.base = "http://127.0.0.1:%d" % self.httpd.server_address[1]

    def test_every_request_carries_the_signature_aws_computes(self):
        s = IntakeProcess(args=("serve", "--no-worker"), env={
            "S3_ENDPOINT_URL": self.base, "AWS_ACCESS_KEY_ID": KEY_ID,
            "AWS_SECRET_ACCESS_KEY": SECRET, "AWS_REGION": REGION,
            "S3_BUCKET_NAME": "signing-test"})
        self.addCleanup(s.cleanup)
        s.start()
        r = s.ingest_json(make_records(3))
        self.assertEqual(r.status, 200, r.summary())
        # > 8 MiB (the default part size): the upload goes multipart.
        big = csv_bytes(make_records(1, reason="x" * 900) * 12000)
        self.assertGreater(len(big), 9 * 1024 * 1024)
        r = s.upload(big)
        self.assertEqual(r.status, 200, r.summary())
        s.stop()

        reqs = list(RecordingS3.requests)
        kinds = {(q["method"], re.sub(r"=[^&]*", "=", q["path"].split("?", 1)[1])
                  if "?" in q["path"] else "") for q in reqs}
        for want in [("HEAD", ""), ("PUT", ""), ("POST", "uploads="),
                     ("PUT", "partNumber=&uploadId="), ("POST", "uploadId=")]:
            self.assertIn(want, kinds, "no %s request with query %r was made" % want)

        job = {"key": KEY_ID, "secret": SECRET, "region": REGION, "base": self.base,
               "requests": []}
        got = []
        for q in reqs:
            auth = q["headers"].get("authorization", "")
            m = re.match(r"AWS4-HMAC-SHA256 Credential=([^,]+), ?SignedHeaders=([^,]+), ?"
                         r"Signature=([0-9a-f]{64})$", auth)
            self.assertIsNotNone(m, "%s %s is not SigV4-signed" % (q["method"], q["path"]))
            self.assertTrue(m.group(1).startswith(KEY_ID + "/"), "credential scope")
            self.assertTrue(m.group(1).endswith("/%s/s3/aws4_request" % REGION),
                            "credential scope names the region and service")
            self.assertEqual(q["headers"].get("x-amz-content-sha256"), q["body_sha256"],
                             "%s %s: x-amz-content-sha256 is not the body's" % (q["method"],
                                                                                q["path"]))
            signed = m.group(2).split(";")
            self.assertIn("host", signed)
            self.assertIn("x-amz-date", signed)
            self.assertIn("x-amz-content-sha256", signed)
            job["requests"].append({"method": q["method"], "path": q["path"],
                                    "headers": {h: q["headers"].get(h, "") for h in signed}})
            got.append(m.group(3))
        out = subprocess.run([SYSTEM_PYTHON, "-c", ORACLE], input=json.dumps(job).encode(),
                             stdout=subprocess.PIPE, stderr=subprocess.PIPE, timeout=120)
        self.assertEqual(out.returncode, 0, out.stderr.decode(errors="replace")[-2000:])
        want = json.loads(out.stdout)
        for q, g, w in zip(reqs, got, want):
            self.assertEqual(g, w, "%s %s: signature differs from botocore's"
                             % (q["method"], q["path"]))


if __name__ == "__main__":
    unittest.main()
