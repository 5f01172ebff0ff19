// GET /, GET /health, GET /ready, GET /metrics. Thread-safe.
#pragma once

#include "app/metrics.hpp"
#include "app/queries.hpp"
#include "http/message.hpp"
#include "http/metrics.hpp"

namespace intake::http {

Response RootResponse();    // {"message": "Healthcare Data Ingestion API", ...}
Response HealthResponse();  // {"status": "healthy"}

// 200 {"status": "ready", "checks": {...}} or 503 {"status": "unavailable", "checks": {...}}.
Response ReadyResponse(app::ReadinessCheck& readiness);

inline constexpr std::string_view kPrometheusType = "text/plain; version=0.0.4; charset=utf-8";

// Prometheus text: the HTTP series, then records, tasks and queue depth.
Response MetricsResponse(const HttpMetrics& http, const app::RecordMetrics& records,
                         app::TaskQuery& tasks);

}  // namespace intake::http
