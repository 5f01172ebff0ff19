#!/usr/bin/env bash
# Installs what Intake needs to build and test, only what is missing:
#   Debian/Ubuntu packages (apt-get; sudo when not root), then the npm packages (the documentation
#   bundles and the test tools) into ./node_modules from package-lock.json. Safe to run repeatedly.
#   INTAKE_DEPS=build installs only what building needs (make build / make start).
set -euo pipefail
cd "$(dirname "$0")/.."

packages=(
  build-essential cmake pkg-config git
  libboost1.81-dev libboost-json1.81-dev libboost-url1.81-dev
  libsqlite3-dev libssl-dev libicu-dev libpq-dev libcurl4-openssl-dev libhiredis-dev
  libspdlog-dev libcli11-dev libsimdjson-dev
  libgtest-dev libgmock-dev
)
# Node.js and npm: the documentation pages' bundles (swagger-ui-dist, redoc) are npm packages
# embedded at build time, and s3rver is one. A machine with Node from elsewhere keeps it.
command -v node >/dev/null 2>&1 || packages+=(nodejs)
command -v npm >/dev/null 2>&1 || packages+=(npm)
if [ "${INTAKE_DEPS:-all}" != "build" ]; then
  # The integration tests' servers and clients, and wrk for `make bench`.
  packages+=(python3 sqlite3 clang-format curl postgresql postgresql-client redis-server awscli
             chromium wrk)
fi

missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
  sudo=""
  if [ "$(id -u)" -ne 0 ]; then sudo="sudo"; fi
  echo "Installing: ${missing[*]}"
  export DEBIAN_FRONTEND=noninteractive
  $sudo apt-get update -qq
  $sudo apt-get install -y -qq --no-install-recommends "${missing[@]}"
fi

if [ ! -x node_modules/.bin/s3rver ] || [ ! -f node_modules/redoc/bundles/redoc.standalone.js ] ||
   [ package-lock.json -nt node_modules/.package-lock.json ]; then
  echo "Installing npm packages (package-lock.json)"
  npm ci --no-audit --no-fund --loglevel=error
fi
