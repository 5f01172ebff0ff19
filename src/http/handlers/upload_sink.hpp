// Streamed POST /ingest bodies (text/csv, application/x-ndjson): each chunk goes to an
// app::UploadSession as it arrives, so memory stays bounded whatever the upload's size.
#pragma once

#include <cstddef>
#include <memory>
#include <optional>
#include <string>

#include "app/idempotency.hpp"
#include "app/ingest_service.hpp"
#include "http/handlers/idempotency_scope.hpp"
#include "http/router.hpp"

namespace intake::http {

// 200 {"message": "Data ingestion started successfully", "records_received", "csv_filename",
// "task_id"}.
Response ReceiptResponse(const app::IngestReceipt& receipt);

// A sink that answers at Begin with a fixed response (415, 413 by Content-Length, ...).
class FixedAnswerSink : public BodySink {
 public:
  explicit FixedAnswerSink(Response answer) : answer_(std::move(answer)) {}
  std::optional<Response> Begin() override { return answer_; }
  std::optional<Response> Feed(std::string_view) override { return answer_; }
  Response Finish() override { return answer_; }
  void Abort() override {}

 private:
  Response answer_;
};

// One upload. Begin opens the idempotency scope and the upload session; Feed enforces
// max_upload_bytes (413) and forwards chunks; Finish answers 200 with the receipt. Structural
// problems → 422 [{"type": "value_error", "loc": ["body"], "msg": <value-free message>}].
class UploadSink : public BodySink {
 public:
  UploadSink(app::IngestService& ingest, app::IdempotencyGate& idempotency,
             app::UploadFormat format, std::optional<std::string> idempotency_key,
             std::size_t max_upload_bytes);

  std::optional<Response> Begin() override;
  std::optional<Response> Feed(std::string_view bytes) override;
  Response Finish() override;
  void Abort() override;

 private:
  // Maps a session error; the scope forgets the key.
  Response Fail(const Error& error);

  app::IngestService& ingest_;
  app::IdempotencyGate& idempotency_;
  app::UploadFormat format_;
  std::optional<std::string> key_;
  std::size_t max_upload_bytes_;
  std::size_t received_ = 0;
  std::unique_ptr<IdempotencyScope> scope_;
  std::unique_ptr<app::UploadSession> session_;  // null for a repeat (body only hashed)
};

}  // namespace intake::http
