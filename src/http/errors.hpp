// Error → HTTP mapping, and FastAPI-shaped validation errors. Client text never carries PHI or a
// driver's message: only fixed details and value-free validation messages.
#pragma once

#include <boost/json/array.hpp>
#include <string>
#include <string_view>
#include <vector>

#include "domain/result.hpp"
#include "http/message.hpp"

namespace intake::http {

// The single mapping of an intake::Error to a response:
//   kInvalidArgument → 422 {"detail": message}     kNotFound → 404 {"detail": message}
//   kConflict → 409 {"detail": message}            kUnavailable → 503 + Retry-After: 5
//   kInternal → 500 {"detail": "Internal Server Error"}
// The messages of kUnavailable and kInternal are logged (warn/error), never sent.
Response ErrorResponse(const Error& error);

// One FastAPI validation item: {"type", "loc", "msg"}. `loc` holds strings and indexes.
struct ValidationItem {
  std::string type;
  boost::json::array loc;
  std::string msg;
};

// 422 {"detail": [items...]}.
Response ValidationResponse(const std::vector<ValidationItem>& items);
// 422 with one item.
Response ValidationResponse(ValidationItem item);

// Fixed bodies.
Response NotFoundResponse();       // 404 {"detail": "Not Found"}
Response InternalErrorResponse();  // 500 {"detail": "Internal Server Error"}
Response PayloadTooLargeResponse(std::string_view detail);  // 413 {"detail": detail}

}  // namespace intake::http
