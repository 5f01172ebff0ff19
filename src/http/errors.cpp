#include "http/errors.hpp"

#include <spdlog/spdlog.h>

#include <boost/json/object.hpp>

namespace intake::http {

Response ErrorResponse(const Error& error) {
  switch (error.code) {
    case ErrorCode::kInvalidArgument:
      return DetailResponse(422, error.message);
    case ErrorCode::kNotFound:
      return DetailResponse(404, error.message);
    case ErrorCode::kConflict:
      return DetailResponse(409, error.message);
    case ErrorCode::kUnavailable: {
      spdlog::warn("backend unavailable: {}", error.message);
      Response r =
          DetailResponse(503, "Service Unavailable: a backend is not answering, retry later");
      r.headers.emplace_back("Retry-After", "5");
      return r;
    }
    case ErrorCode::kInternal:
      break;
  }
  spdlog::error("internal error: {}", error.message);
  return InternalErrorResponse();
}

Response ValidationResponse(const std::vector<ValidationItem>& items) {
  boost::json::array detail;
  detail.reserve(items.size());
  for (const ValidationItem& item : items) {
    detail.push_back(
        boost::json::object{{"type", item.type}, {"loc", item.loc}, {"msg", item.msg}});
  }
  return JsonResponse(422, boost::json::object{{"detail", std::move(detail)}});
}

Response ValidationResponse(ValidationItem item) {
  return ValidationResponse(std::vector<ValidationItem>{std::move(item)});
}

Response NotFoundResponse() { return DetailResponse(404, "Not Found"); }

Response InternalErrorResponse() { return DetailResponse(500, "Internal Server Error"); }

Response PayloadTooLargeResponse(std::string_view detail) { return DetailResponse(413, detail); }

}  // namespace intake::http
