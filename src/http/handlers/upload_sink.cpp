#include "http/handlers/upload_sink.hpp"

#include <boost/json/object.hpp>
#include <variant>

#include "http/errors.hpp"
#include "http/handlers/ingest_handler.hpp"

namespace intake::http {

Response ReceiptResponse(const app::IngestReceipt& receipt) {
  return JsonResponse(200, boost::json::object{
                               {"message", "Data ingestion started successfully"},
                               {"records_received", receipt.records_received},
                               {"csv_filename", receipt.csv_filename},
                               {"task_id", receipt.task_id},
                           });
}

UploadSink::UploadSink(app::IngestService& ingest, app::IdempotencyGate& idempotency,
                       app::UploadFormat format, std::optional<std::string> idempotency_key,
                       std::size_t max_upload_bytes)
    : ingest_(ingest),
      idempotency_(idempotency),
      format_(format),
      key_(std::move(idempotency_key)),
      max_upload_bytes_(max_upload_bytes) {}

std::optional<Response> UploadSink::Begin() {
  auto opened = IdempotencyScope::Open(idempotency_, key_);
  if (auto* early = std::get_if<Response>(&opened)) return std::move(*early);
  scope_ = std::move(std::get<std::unique_ptr<IdempotencyScope>>(opened));
  if (scope_->is_repeat()) return std::nullopt;
  Result<std::unique_ptr<app::UploadSession>> session = ingest_.BeginUpload(format_);
  if (!session) return Fail(session.error());
  session_ = std::move(*session);
  return std::nullopt;
}

std::optional<Response> UploadSink::Feed(std::string_view bytes) {
  received_ += bytes.size();
  if (received_ > max_upload_bytes_) {
    session_.reset();
    return scope_->Settle(BodyTooLargeResponse(max_upload_bytes_));
  }
  scope_->Update(bytes);
  if (!session_) return std::nullopt;
  Status fed = session_->Feed(bytes);
  if (!fed) return Fail(fed.error());
  return std::nullopt;
}

Response UploadSink::Finish() {
  if (scope_->is_repeat()) return scope_->Replay();
  Result<app::IngestReceipt> receipt = session_->Finish();
  if (!receipt) return Fail(receipt.error());
  session_.reset();
  return scope_->Settle(ReceiptResponse(*receipt));
}

void UploadSink::Abort() {
  session_.reset();
  scope_.reset();  // abandons a held key
}

Response UploadSink::Fail(const Error& error) {
  session_.reset();
  Response response =
      error.code == ErrorCode::kInvalidArgument
          ? ValidationResponse(ValidationItem{"value_error", {"body"}, error.message})
          : ErrorResponse(error);
  return scope_ ? scope_->Settle(std::move(response)) : response;
}

}  // namespace intake::http
