"""PostgreSQL for the bench: one server started with scripts/test-servers.sh (PostgreSQL only),
a fresh database per measurement, and psql to run the plain-SQL reference."""

import glob
import os
import shutil
import urllib.parse

from .util import BenchError, progress, run


def psql_binary():
    found = sorted(glob.glob("/usr/lib/postgresql/*/bin/psql"),
                   key=lambda p: int(p.split("/")[4]) if p.split("/")[4].isdigit() else 0)
    if found:
        return found[-1]
    path = shutil.which("psql")
    if not path:
        raise BenchError("psql not found (apt-get install postgresql-client)")
    return path


class Postgres:
    """The bench's PostgreSQL server; use as a context manager so it is always stopped."""

    def __init__(self, repo, servers_dir, log):
        self.script = os.path.join(repo, "scripts", "test-servers.sh")
        self.dir, self.log, self.url, self.psql = servers_dir, log, None, psql_binary()
        self.started = False

    def __enter__(self):
        progress("postgres: starting (scripts/test-servers.sh … postgres)")
        self.started = True
        try:
            run([self.script, "start", self.dir, "postgres"], "starting PostgreSQL", timeout=180,
                log=self.log)
            self.url = self._read_url()
        except BaseException:
            self.stop()
            raise
        return self

    def _read_url(self):
        with open(os.path.join(self.dir, "env"), encoding="utf-8") as f:
            for line in f:
                key, _, val = line.strip().partition("=")
                if key == "INTAKE_TEST_POSTGRES_URL":
                    return val
        raise BenchError("scripts/test-servers.sh wrote no INTAKE_TEST_POSTGRES_URL")

    def __exit__(self, *exc):
        self.stop()

    def stop(self):
        if self.started:
            self.started = False
            progress("postgres: stopping")
            try:
                run([self.script, "stop", self.dir], "stopping PostgreSQL", timeout=120,
                    log=self.log)
            except BenchError as e:
                progress(f"warning: {e}")

    def db_url(self, name):
        """The server's URL with another database name."""
        u = urllib.parse.urlsplit(self.url)
        return urllib.parse.urlunsplit((u.scheme, u.netloc, "/" + name, u.query, u.fragment))

    def sql(self, sql, db="intake"):
        return run([self.psql, self.db_url(db), "-v", "ON_ERROR_STOP=1", "-qAtc", sql],
                   f"psql: {sql}", timeout=300, log=self.log)[1].strip()

    def create_db(self, name):
        """A fresh, empty database owned by intake; returns its URL."""
        self.sql(f"DROP DATABASE IF EXISTS {name}")
        self.sql(f"CREATE DATABASE {name} OWNER intake")
        return self.db_url(name)

    def drop_db(self, name):
        try:
            self.sql(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")
        except BenchError as e:
            progress(f"warning: {e}")

    def version(self):
        return self.sql("SHOW server_version")

    def run_file(self, db, path, what, stdin_path=None, timeout=7200):
        """Runs psql -f path (stdin from stdin_path); returns the wall-clock seconds."""
        cmd = [self.psql, self.db_url(db), "-v", "ON_ERROR_STOP=1", "-q", "-f", path]
        if stdin_path is None:
            return run(cmd, what, timeout=timeout, log=self.log)[0]
        with open(stdin_path, "rb") as stdin:
            return run(cmd, what, timeout=timeout, log=self.log, stdin=stdin)[0]
