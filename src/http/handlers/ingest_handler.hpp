// POST /ingest. Three bodies:
//   application/json (charset allowed; also no Content-Type, as FastAPI) → buffered, HandleJson;
//   text/csv, application/x-ndjson → streamed through an UploadSink (OpenUpload);
//   anything else → 415 before the body is read.
// Thread-safe: per-request state lives in the handler call or the sink.
#pragma once

#include <cstddef>
#include <memory>

#include "app/idempotency.hpp"
#include "app/ingest_service.hpp"
#include "http/message.hpp"
#include "http/router.hpp"

namespace intake::http {

struct IngestLimits {
  std::size_t max_body_bytes = 67108864;        // JSON bodies
  std::size_t max_upload_bytes = 1073741824;    // CSV / NDJSON bodies
  std::size_t max_records_per_request = 50000;  // JSON array length
};

class IngestHandler {
 public:
  IngestHandler(app::IngestService& ingest, app::IdempotencyGate& idempotency, IngestLimits limits)
      : ingest_(ingest), idempotency_(idempotency), limits_(limits) {}

  // The route's Handler: a buffered JSON body.
  Response HandleJson(Request& request);
  // The route's SinkFactory: a sink for uploads and for unsupported types (it answers 415 at
  // Begin), nullptr for JSON.
  std::unique_ptr<BodySink> OpenUpload(const Request& head);

 private:
  Response IngestParsed(std::string_view body);

  app::IngestService& ingest_;
  app::IdempotencyGate& idempotency_;
  IngestLimits limits_;
};

// Media type classification of a POST /ingest Content-Type.
enum class IngestBody { kJson, kCsv, kNdjson, kUnsupported };
IngestBody ClassifyIngestBody(const Request& head);

Response UnsupportedMediaTypeResponse();           // 415
Response BodyTooLargeResponse(std::size_t limit);  // 413 naming the limit

}  // namespace intake::http
