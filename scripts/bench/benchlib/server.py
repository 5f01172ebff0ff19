"""One `intake serve` child process on a free loopback port with a fresh DATA_DIR, and a small
keep-alive HTTP client for it. Every server is stopped by its process id."""

import http.client
import json
import os
import signal
import subprocess
import time

from .util import BenchError, ensure_dir, free_port, progress, read_proc_status, tail

# Configuration Intake reads; never inherited from the caller's environment.
_CONFIG_VARS = ["HOST", "PORT", "DATA_DIR", "DATABASE_URL", "S3_ENDPOINT_URL", "OBJECT_STORE",
                "S3_BUCKET_NAME", "AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_REGION",
                "BROKER_URL", "CELERY_BROKER_URL", "WORKER_CONCURRENCY",
                "MAX_RECORDS_PER_REQUEST", "MAX_BODY_BYTES", "MAX_UPLOAD_BYTES", "LOG_LEVEL",
                "LOG_FORMAT", "LOG_PHI", "TASK_LEASE_SECONDS", "BATCH_ROWS"]

LIVE = {}   # pid -> Server, so bench.py can stop every server on any exit path


class Server:
    """`<binary> serve [--no-worker]`; use as a context manager so it is always stopped."""

    def __init__(self, binary, work, name, database_url=None, no_worker=False, env=None):
        self.binary, self.name, self.database_url, self.no_worker = binary, name, database_url, no_worker
        self.extra_env = env or {}
        self.dir = ensure_dir(os.path.join(work, "servers-intake", name))
        self.data_dir = ensure_dir(os.path.join(self.dir, "data"))
        self.log = os.path.join(self.dir, "intake.log")
        self.port, self.proc, self.samples = free_port(), None, {}

    def __enter__(self):
        env = {k: v for k, v in os.environ.items() if k not in _CONFIG_VARS}
        env.update(HOST="127.0.0.1", PORT=str(self.port), DATA_DIR=self.data_dir, LOG_LEVEL="warn")
        if self.database_url:
            env["DATABASE_URL"] = self.database_url
        env.update(self.extra_env)
        cmd = [self.binary, "serve"] + (["--no-worker"] if self.no_worker else [])
        progress(f"intake[{self.name}]: starting {' '.join(cmd[1:])} on port {self.port}")
        try:   # cwd: the server's own folder, so no stray .env is read
            with open(self.log, "ab") as log:
                self.proc = subprocess.Popen(cmd, env=env, cwd=self.dir, stdout=log, stderr=log,
                                             stdin=subprocess.DEVNULL, start_new_session=True)
        except OSError as e:
            raise BenchError(f"intake[{self.name}]: cannot start {self.binary}: {e}") from None
        LIVE[self.proc.pid] = self
        self.wait_ready()
        return self

    def __exit__(self, *exc):
        self.stop()

    def fail(self, reason):
        tail(self.log)
        raise BenchError(f"intake[{self.name}]: {reason} (log: {self.log})")

    def wait_ready(self, timeout=120):
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                self.fail(f"exited with status {self.proc.returncode} before /ready")
            try:
                status, _ = self.client(timeout=5).get("/ready")
                if status == 200:
                    return
            except (OSError, http.client.HTTPException):
                pass
            time.sleep(0.1)
        self.fail(f"GET /ready did not answer 200 within {timeout} s")

    def client(self, timeout=600):
        return Client(self, timeout)

    def rss(self, label=None):
        """{'VmRSS', 'VmHWM'} in kiB now; remembered under `label` when given."""
        s = read_proc_status(self.proc.pid) if self.proc else {}
        if label:
            self.samples[label] = s
        return s

    def alive(self):
        return self.proc is not None and self.proc.poll() is None

    def stop(self, grace=60):
        """SIGTERM, wait up to `grace` seconds, then SIGKILL (by pid)."""
        if self.proc is None or self.proc.pid not in LIVE:
            return
        if self.proc.poll() is None:
            self.rss("at stop")
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(grace)
            except subprocess.TimeoutExpired:
                progress(f"intake[{self.name}]: no exit {grace} s after SIGTERM; SIGKILL")
                self.proc.kill()
                self.proc.wait()
        LIVE.pop(self.proc.pid, None)
        progress(f"intake[{self.name}]: stopped (exit status {self.proc.returncode})")


class Client:
    """A keep-alive HTTP/1.1 connection to one server; reconnects once if the server closed it."""

    def __init__(self, server, timeout):
        self.server = server
        self.conn = http.client.HTTPConnection("127.0.0.1", server.port, timeout=timeout,
                                               blocksize=1 << 20)

    def request(self, method, path, body=None, headers=None):
        for attempt in (0, 1):
            try:
                self.conn.request(method, path, body=body, headers=headers or {})
                resp = self.conn.getresponse()
                return resp.status, resp.read()
            except (ConnectionResetError, BrokenPipeError, http.client.RemoteDisconnected):
                self.conn.close()
                if attempt or (body is not None and hasattr(body, "read")):
                    raise

    def get(self, path):
        return self.request("GET", path)

    def get_json(self, path):
        status, body = self.get(path)
        if status != 200:
            self.server.fail(f"GET {path.split('?')[0]} answered {status}")
        return json.loads(body)

    def close(self):
        self.conn.close()


def stop_all():
    for server in list(LIVE.values()):
        server.stop(grace=30)
