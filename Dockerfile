# Intake: a multi-stage build. The build stage compiles the release binary with Debian 12's
# toolchain and libraries; the runtime stage carries only the binary and the shared libraries it
# links (no compiler, no headers), and runs as an unprivileged user.
#
#   docker build -t intake .
#   docker run -p 8000:8000 -e HOST=0.0.0.0 intake            # embedded defaults in /data
#   docker run intake worker                                   # a worker process
# Health: GET /health (liveness) and /ready (backends) on the API; docker-compose.yml wires them.
#
# ---- build ----------------------------------------------------------------------------------------
FROM debian:12-slim AS build
RUN apt-get update && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends \
      build-essential cmake pkg-config ca-certificates \
      libboost1.81-dev libboost-json1.81-dev libboost-url1.81-dev \
      libsqlite3-dev libssl-dev libicu-dev libpq-dev libcurl4-openssl-dev libhiredis-dev \
      libspdlog-dev libcli11-dev libsimdjson-dev libgtest-dev libgmock-dev nodejs npm \
    && rm -rf /var/lib/apt/lists/*
WORKDIR /src
# The documentation pages' bundles (swagger-ui-dist, redoc) are embedded at build time.
COPY package.json package-lock.json ./
RUN npm ci --omit=dev --no-audit --no-fund
COPY CMakeLists.txt ./
COPY cmake ./cmake
COPY migrations ./migrations
COPY src ./src
COPY tests ./tests
RUN cmake -S . -B build -DCMAKE_BUILD_TYPE=Release \
    && cmake --build build -j"$(nproc)" --target intake \
    && strip build/intake

# ---- runtime --------------------------------------------------------------------------------------
FROM debian:12-slim AS runtime
RUN apt-get update && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends \
      ca-certificates curl libsqlite3-0 libssl3 libicu72 libpq5 libcurl4 libhiredis0.14 \
      libspdlog1.10 libfmt9 libsimdjson14 libboost-json1.81.0 libboost-url1.81.0 \
    && rm -rf /var/lib/apt/lists/* \
    && useradd --system --uid 10001 --home-dir /data --create-home intake
COPY --from=build /src/build/intake /usr/local/bin/intake
USER intake
WORKDIR /data
ENV HOST=0.0.0.0 PORT=8000 DATA_DIR=/data
EXPOSE 8000
ENTRYPOINT ["intake"]
CMD ["serve"]
