// The route table of SPEC §3: every endpoint, its handler and its route label. Beast-free, so the
// whole API can be exercised as request → response in tests. To add an endpoint (e.g.
// /openapi.json, /docs), add one entry in Api::Api (api.cpp).
#pragma once

#include "http/handlers/ingest_handler.hpp"
#include "http/handlers/patient_handlers.hpp"
#include "http/handlers/task_handlers.hpp"
#include "http/metrics.hpp"
#include "http/router.hpp"
#include "http/server.hpp"

namespace intake::http {

class Api {
 public:
  // `services` must outlive the Api.
  Api(ApiServices services, IngestLimits limits);
  Api(const Api&) = delete;
  Api& operator=(const Api&) = delete;

  const Router& router() const { return router_; }
  // Request counters and latencies the server records and /metrics renders.
  HttpMetrics& metrics() { return metrics_; }

 private:
  ApiServices services_;
  HttpMetrics metrics_;
  IngestHandler ingest_;
  TaskHandlers tasks_;
  PatientHandlers patients_;
  Router router_;
};

}  // namespace intake::http
