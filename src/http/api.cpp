#include "http/api.hpp"

#include "http/handlers/asset_handlers.hpp"
#include "http/handlers/service_handlers.hpp"

namespace intake::http {

Api::Api(ApiServices services, IngestLimits limits)
    : services_(services),
      ingest_(services.ingest, services.idempotency, limits),
      tasks_(services.tasks),
      patients_(services.patients) {
  auto simple = [](std::string method, std::string pattern, Handler handler) {
    return Route{std::move(method), std::move(pattern), std::move(handler), nullptr};
  };
  router_.Add(simple("GET", "/", [](Request&) { return RootResponse(); }));
  router_.Add(simple("GET", "/health", [](Request&) { return HealthResponse(); }));
  router_.Add(
      simple("GET", "/ready", [this](Request&) { return ReadyResponse(services_.readiness); }));
  router_.Add(simple("GET", "/metrics", [this](Request&) {
    return MetricsResponse(metrics_, services_.records, services_.tasks);
  }));
  router_.Add(Route{"POST", "/ingest", [this](Request& r) { return ingest_.HandleJson(r); },
                    [this](const Request& head) { return ingest_.OpenUpload(head); }});
  router_.Add(simple("GET", "/tasks", [this](Request& r) { return tasks_.List(r); }));
  router_.Add(simple("GET", "/tasks/{task_id}", [this](Request& r) { return tasks_.Get(r); }));
  router_.Add(
      simple("POST", "/tasks/{task_id}/replay", [this](Request& r) { return tasks_.Replay(r); }));
  router_.Add(simple("GET", "/patients", [this](Request& r) { return patients_.List(r); }));
  router_.Add(simple("GET", "/patients/{id}", [this](Request& r) { return patients_.Get(r); }));

  // Documentation and the dashboard: files embedded at build time (src/http/assets/, npm).
  auto page = [&](std::string pattern, std::string asset) {
    router_.Add(simple("GET", std::move(pattern),
                       [asset = std::move(asset)](Request&) { return AssetResponse(asset); }));
  };
  page("/openapi.json", "openapi.json");
  page("/docs", "docs.html");
  page("/redoc", "redoc.html");
  page("/dashboard", "dashboard.html");
  router_.Add(
      simple("GET", "/assets/{file}", [](Request& r) { return AssetResponse(r.Param("file")); }));
  router_.Add(simple("GET", "/assets/swagger-ui/{file}",
                     [](Request& r) { return AssetResponse("swagger-ui/" + r.Param("file")); }));
  router_.Add(simple("GET", "/assets/redoc/{file}",
                     [](Request& r) { return AssetResponse("redoc/" + r.Param("file")); }));
}

}  // namespace intake::http
