#!/usr/bin/env bash
# Runs a command with real PostgreSQL, Redis and S3 (s3rver) servers on loopback, then stops them:
#   scripts/with-test-servers.sh COMMAND [ARGS...]
# The servers live in a fresh temporary folder (scripts/test-servers.sh); COMMAND sees
# INTAKE_TEST_POSTGRES_URL, INTAKE_TEST_REDIS_URL and INTAKE_TEST_S3_URL, and
# INTAKE_REQUIRE_SERVERS=1 (a server-backed test then fails instead of skipping without them).
# Whatever COMMAND does, every server started here is stopped by process id and the folder
# removed. Exit status: COMMAND's.
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
dir="$(mktemp -d /tmp/intake-test-servers.XXXXXX)"
chmod 755 "$dir"
trap '"$root/scripts/test-servers.sh" stop "$dir"' EXIT
"$root/scripts/test-servers.sh" start "$dir" >/dev/null
set -a
# shellcheck disable=SC1091
source "$dir/env"
set +a
export INTAKE_REQUIRE_SERVERS=1  # the server-backed tests must run, not skip
echo "test servers: $(tr '\n' ' ' <"$dir/env")"
"$@"
