#include "http/handlers/ingest_handler.hpp"

#include <boost/json/object.hpp>
#include <charconv>
#include <optional>
#include <string>
#include <variant>

#include "http/errors.hpp"
#include "http/handlers/idempotency_scope.hpp"
#include "http/handlers/record_json.hpp"
#include "http/handlers/upload_sink.hpp"

namespace intake::http {
namespace {

std::optional<std::size_t> ContentLength(const Request& request) {
  std::optional<std::string_view> text = request.Header("Content-Length");
  if (!text) return std::nullopt;
  std::size_t value = 0;
  auto [ptr, ec] = std::from_chars(text->data(), text->data() + text->size(), value);
  if (ec != std::errc() || ptr != text->data() + text->size()) return std::nullopt;
  return value;
}

}  // namespace

IngestBody ClassifyIngestBody(const Request& head) {
  std::optional<std::string_view> header = head.Header("Content-Type");
  if (!header) return IngestBody::kJson;
  std::string type = MediaType(*header);
  if (type == "application/json" || (type.starts_with("application/") && type.ends_with("+json"))) {
    return IngestBody::kJson;
  }
  if (type == "text/csv") return IngestBody::kCsv;
  if (type == "application/x-ndjson") return IngestBody::kNdjson;
  return IngestBody::kUnsupported;
}

Response UnsupportedMediaTypeResponse() {
  return DetailResponse(
      415, "Unsupported Media Type: use application/json, text/csv or application/x-ndjson");
}

Response BodyTooLargeResponse(std::size_t limit) {
  return PayloadTooLargeResponse("Request body too large: the limit is " + std::to_string(limit) +
                                 " bytes");
}

Response IngestHandler::HandleJson(Request& request) {
  if (ClassifyIngestBody(request) != IngestBody::kJson) return UnsupportedMediaTypeResponse();
  if (request.body.size() > limits_.max_body_bytes) {
    return BodyTooLargeResponse(limits_.max_body_bytes);
  }
  auto opened = IdempotencyScope::Open(idempotency_, request.Header(kIdempotencyHeader));
  if (auto* early = std::get_if<Response>(&opened)) return std::move(*early);
  IdempotencyScope& scope = *std::get<std::unique_ptr<IdempotencyScope>>(opened);
  scope.Update(request.body);
  if (scope.is_repeat()) return scope.Replay();
  return scope.Settle(IngestParsed(request.body));
}

Response IngestHandler::IngestParsed(std::string_view body) {
  auto parsed = ParseRecordArray(body, limits_.max_records_per_request);
  if (auto* early = std::get_if<Response>(&parsed)) return std::move(*early);
  ParsedRecords& batch = std::get<ParsedRecords>(parsed);
  std::vector<app::RecordProblem> problems;
  Result<app::IngestReceipt> receipt =
      ingest_.IngestRecords(batch.records, batch.structural, problems);
  if (!receipt) {
    if (receipt.error().code == ErrorCode::kInvalidArgument && !problems.empty()) {
      return RecordProblemsResponse(problems);
    }
    return ErrorResponse(receipt.error());
  }
  return ReceiptResponse(*receipt);
}

std::unique_ptr<BodySink> IngestHandler::OpenUpload(const Request& head) {
  IngestBody kind = ClassifyIngestBody(head);
  if (kind == IngestBody::kJson) return nullptr;
  if (kind == IngestBody::kUnsupported)
    return std::make_unique<FixedAnswerSink>(UnsupportedMediaTypeResponse());
  std::optional<std::size_t> length = ContentLength(head);
  if (length && *length > limits_.max_upload_bytes) {
    return std::make_unique<FixedAnswerSink>(BodyTooLargeResponse(limits_.max_upload_bytes));
  }
  std::optional<std::string_view> key = head.Header(kIdempotencyHeader);
  return std::make_unique<UploadSink>(
      ingest_, idempotency_,
      kind == IngestBody::kCsv ? app::UploadFormat::kCsv : app::UploadFormat::kNdjson,
      key ? std::optional<std::string>(*key) : std::nullopt, limits_.max_upload_bytes);
}

}  // namespace intake::http
