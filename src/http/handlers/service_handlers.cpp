#include "http/handlers/service_handlers.hpp"

#include <boost/json/object.hpp>

namespace intake::http {

namespace json = boost::json;

Response RootResponse() {
  return JsonResponse(200, json::object{{"message", "Healthcare Data Ingestion API"},
                                        {"status", "running"},
                                        {"docs", "/docs"}});
}

Response HealthResponse() { return JsonResponse(200, json::object{{"status", "healthy"}}); }

Response ReadyResponse(app::ReadinessCheck& readiness) {
  app::Readiness result = readiness.Run();
  json::object checks;
  for (const auto& [name, state] : result.checks) checks[name] = state;
  Response r = JsonResponse(result.ready ? 200 : 503,
                            json::object{{"status", result.ready ? "ready" : "unavailable"},
                                         {"checks", std::move(checks)}});
  if (!result.ready) r.headers.emplace_back("Retry-After", "5");
  return r;
}

Response MetricsResponse(const HttpMetrics& http, const app::RecordMetrics& records,
                         app::TaskQuery& tasks) {
  PipelineGauges gauges;
  gauges.accepted = records.accepted.load(std::memory_order_relaxed);
  gauges.loaded = records.loaded.load(std::memory_order_relaxed);
  gauges.rejected = records.rejected.load(std::memory_order_relaxed);
  if (auto counts = tasks.CountByState()) gauges.tasks = std::move(*counts);
  if (auto depth = tasks.QueueDepth()) gauges.queue_depth = *depth;
  Response r;
  r.content_type = std::string(kPrometheusType);
  r.body = http.Render() + RenderPipeline(gauges);
  return r;
}

}  // namespace intake::http
