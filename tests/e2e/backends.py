"""Which backends the black-box suite runs Intake on, and how the tests look inside them.

INTAKE_E2E_BACKEND picks the combination (SPEC §1):
  embedded      SQLite file + object folder + queue table (the default; no servers)
  pg_s3         PostgreSQL + S3 + the queue in PostgreSQL
  pg_s3_redis   PostgreSQL + S3 + Redis Streams
The servers come from INTAKE_TEST_POSTGRES_URL, INTAKE_TEST_S3_URL and INTAKE_TEST_REDIS_URL
(scripts/test-servers.sh starts them); when a needed one is unset the module is skipped, unless
INTAKE_REQUIRE_SERVERS=1 (set by scripts/with-test-servers.sh, so `make test` never skips them).

Every DATA_DIR gets its own storage, so processes sharing a DATA_DIR (a restart, an API node and
its workers) share data, and nothing else does: a fresh PostgreSQL database, S3 bucket and Redis
database number per DATA_DIR.

Standard library only: PostgreSQL is read through `psql`, S3 through SigV4-signed HTTP requests.
"""

import datetime
import hashlib
import hmac
import http.client
import os
import re
import socket
import subprocess
import unittest
import urllib.parse
import uuid

BACKEND = os.environ.get("INTAKE_E2E_BACKEND", "embedded")
PG_URL = os.environ.get("INTAKE_TEST_POSTGRES_URL", "")
S3_URL = os.environ.get("INTAKE_TEST_S3_URL", "")
REDIS_URL = os.environ.get("INTAKE_TEST_REDIS_URL", "")
S3_KEY = os.environ.get("INTAKE_TEST_S3_KEY", "S3RVER")
S3_SECRET = os.environ.get("INTAKE_TEST_S3_SECRET", "S3RVER")
S3_REGION = "us-east-1"
BUCKET = "patient-intake"

_NEEDS = {"embedded": [], "pg_s3": ["INTAKE_TEST_POSTGRES_URL", "INTAKE_TEST_S3_URL"],
          "pg_s3_redis": ["INTAKE_TEST_POSTGRES_URL", "INTAKE_TEST_S3_URL",
                          "INTAKE_TEST_REDIS_URL"]}
_RUN = uuid.uuid4().hex[:8]
_allocated = {}  # data_dir -> env


def is_embedded():
    return BACKEND == "embedded"


def require_backend():
    """Raises unittest.SkipTest when the chosen combination's servers are not configured."""
    if BACKEND not in _NEEDS:
        raise unittest.SkipTest("unknown INTAKE_E2E_BACKEND %r" % BACKEND)
    missing = [v for v in _NEEDS[BACKEND] if not os.environ.get(v)]
    if missing and os.environ.get("INTAKE_REQUIRE_SERVERS") == "1":
        raise AssertionError("INTAKE_REQUIRE_SERVERS=1 but %s unset" % ", ".join(missing))
    if missing:
        raise unittest.SkipTest("%s needs %s (scripts/test-servers.sh)" % (BACKEND,
                                                                            ", ".join(missing)))


def env_for(data_dir):
    """The configuration that points Intake at this DATA_DIR's storage (created on first use)."""
    if is_embedded():
        return {}
    if data_dir not in _allocated:
        n = len(_allocated) + 1
        env = {"DATABASE_URL": _create_database("e2e_%s_%d_%d" % (_RUN, os.getpid(), n)),
               "S3_ENDPOINT_URL": S3_URL, "AWS_ACCESS_KEY_ID": S3_KEY,
               "AWS_SECRET_ACCESS_KEY": S3_SECRET, "AWS_REGION": S3_REGION,
               "S3_BUCKET_NAME": "e2e-%s-%d-%d" % (_RUN, os.getpid(), n)}
        if BACKEND == "pg_s3_redis":
            env["BROKER_URL"] = _redis_database_url()
        _allocated[data_dir] = env
    return dict(_allocated[data_dir])


# ---- PostgreSQL ---------------------------------------------------------------------------------

def _pg_url_with_db(db):
    u = urllib.parse.urlsplit(PG_URL)
    return urllib.parse.urlunsplit((u.scheme, u.netloc, "/" + db, u.query, u.fragment))


def psql(url, sql):
    out = subprocess.run(["psql", url, "-v", "ON_ERROR_STOP=1", "-qAt", "-F", "\x1f", "-c", sql],
                         stdout=subprocess.PIPE, stderr=subprocess.PIPE, timeout=120)
    if out.returncode != 0:
        raise AssertionError("psql failed: %s" % out.stderr.decode("utf-8", "replace")[-500:])
    return out.stdout.decode("utf-8")


def _create_database(name):
    psql(PG_URL, 'CREATE DATABASE "%s"' % name)
    return _pg_url_with_db(name)


def query_rows(data_dir, sql):
    """Rows of `sql` in this DATA_DIR's database, every value as text (NULL as None)."""
    if is_embedded():
        import sqlite3
        con = sqlite3.connect("file:%s?mode=ro" % os.path.join(data_dir, "intake.db"), uri=True)
        try:
            return [tuple(None if x is None else str(x) for x in r) for r in con.execute(sql)]
        finally:
            con.close()
    # Values may hold newlines, so each row comes back as one JSON object on one line (its keys in
    # column order; the queries name distinct columns).
    import json
    wrapped = "SELECT row_to_json(q)::text FROM (%s) q" % sql
    text = psql(env_for(data_dir)["DATABASE_URL"], wrapped)
    return [tuple(None if x is None else str(x) for x in json.loads(line).values())
            for line in text.splitlines() if line]


# ---- Redis ----------------------------------------------------------------------------------------

def _redis_database_url():
    """A Redis database number no other test process uses (INCR on database 0)."""
    u = urllib.parse.urlsplit(REDIS_URL)
    with socket.create_connection((u.hostname, u.port or 6379), timeout=10) as s:
        s.sendall(b"*2\r\n$4\r\nINCR\r\n$16\r\nintake:e2e:nextdb\r\n")
        reply = s.recv(64).decode()
    if not reply.startswith(":"):
        raise AssertionError("redis INCR failed: %r" % reply)
    n = int(reply[1:].strip())
    return "redis://%s:%d/%d" % (u.hostname, u.port or 6379, n)


# ---- S3 (SigV4) -----------------------------------------------------------------------------------

def _sign(key, msg):
    return hmac.new(key, msg.encode("utf-8"), hashlib.sha256).digest()


def _s3_request(method, path, query="", body=b""):
    """A SigV4-signed request to the test S3 server; returns (status, body bytes)."""
    u = urllib.parse.urlsplit(S3_URL)
    host = u.netloc
    now = datetime.datetime.now(datetime.timezone.utc)
    amz_date = now.strftime("%Y%m%dT%H%M%SZ")
    day = now.strftime("%Y%m%d")
    payload = hashlib.sha256(body).hexdigest()
    canonical_query = "&".join(sorted(p for p in query.split("&") if p))
    headers = {"host": host, "x-amz-content-sha256": payload, "x-amz-date": amz_date}
    signed = ";".join(sorted(headers))
    canonical = "\n".join([method, path, canonical_query,
                           "".join("%s:%s\n" % (k, headers[k]) for k in sorted(headers)),
                           signed, payload])
    scope = "%s/%s/s3/aws4_request" % (day, S3_REGION)
    to_sign = "\n".join(["AWS4-HMAC-SHA256", amz_date, scope,
                         hashlib.sha256(canonical.encode()).hexdigest()])
    k = _sign(("AWS4" + S3_SECRET).encode(), day)
    for part in (S3_REGION, "s3", "aws4_request"):
        k = _sign(k, part)
    signature = hmac.new(k, to_sign.encode(), hashlib.sha256).hexdigest()
    headers["Authorization"] = ("AWS4-HMAC-SHA256 Credential=%s/%s, SignedHeaders=%s, "
                                "Signature=%s" % (S3_KEY, scope, signed, signature))
    conn = http.client.HTTPConnection(u.hostname, u.port, timeout=60)
    try:
        conn.request(method, path + ("?" + canonical_query if canonical_query else ""),
                     body=body if body else None, headers=headers)
        resp = conn.getresponse()
        return resp.status, resp.read()
    finally:
        conn.close()


def _bucket(data_dir, bucket=None):
    return bucket or env_for(data_dir).get("S3_BUCKET_NAME", BUCKET)


def object_bytes(data_dir, key, bucket=None):
    """The stored CSV object, or None when there is none."""
    if is_embedded():
        path = os.path.join(data_dir, "objects", bucket or BUCKET, key)
        if not os.path.isfile(path):
            return None
        with open(path, "rb") as f:
            return f.read()
    status, body = _s3_request("GET", "/%s/%s" % (_bucket(data_dir, bucket),
                                                   urllib.parse.quote(key, safe="/-_.~")))
    if status == 404:
        return None
    if status != 200:
        raise AssertionError("S3 GET answered %d" % status)
    return body


def object_keys(data_dir, bucket=None):
    """Every object key in the bucket."""
    if is_embedded():
        d = os.path.join(data_dir, "objects", bucket or BUCKET)
        out = []
        for root, _, files in os.walk(d):
            out.extend(os.path.relpath(os.path.join(root, f), d) for f in files)
        return out
    keys, token = [], None
    while True:
        query = "list-type=2" + ("&continuation-token=" + urllib.parse.quote(token, safe="")
                                 if token else "")
        status, body = _s3_request("GET", "/%s" % _bucket(data_dir, bucket), query)
        if status == 404:
            return keys
        if status != 200:
            raise AssertionError("S3 list answered %d" % status)
        text = body.decode("utf-8")
        keys.extend(re.findall(r"<Key>([^<]*)</Key>", text))
        m = re.search(r"<NextContinuationToken>([^<]*)</NextContinuationToken>", text)
        if "<IsTruncated>true</IsTruncated>" not in text or not m:
            return keys
        token = m.group(1)


def put_object(data_dir, key, data, bucket=None):
    """Replaces (or creates) an object with `data`."""
    if is_embedded():
        path = os.path.join(data_dir, "objects", bucket or BUCKET, key)
        tmp = path + ".e2e-tmp"
        with open(tmp, "wb") as f:
            f.write(data)
        os.replace(tmp, path)
        return
    status, _ = _s3_request("PUT", "/%s/%s" % (_bucket(data_dir, bucket),
                                                urllib.parse.quote(key, safe="/-_.~")), body=data)
    if status != 200:
        raise AssertionError("S3 PUT answered %d" % status)


def delete_object(data_dir, key, bucket=None):
    if is_embedded():
        os.remove(os.path.join(data_dir, "objects", bucket or BUCKET, key))
        return
    status, _ = _s3_request("DELETE", "/%s/%s" % (_bucket(data_dir, bucket),
                                                   urllib.parse.quote(key, safe="/-_.~")))
    if status not in (200, 204):
        raise AssertionError("S3 DELETE answered %d" % status)


def embedded_only(reason):
    """Decorator: the test looks inside the embedded backends (the SQLite file, the folder)."""
    return unittest.skipUnless(is_embedded(), "embedded backends only: " + reason)
