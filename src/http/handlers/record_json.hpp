// JSON array body → VisitRecords plus the structural problems FastAPI would report (missing field,
// not a string, element not an object). Parsing uses simdjson; values never reach a message.
#pragma once

#include <cstddef>
#include <string_view>
#include <variant>
#include <vector>

#include "app/ingest_service.hpp"
#include "domain/visit_record.hpp"
#include "http/message.hpp"

namespace intake::http {

struct ParsedRecords {
  std::vector<domain::VisitRecord> records;    // one per array element (empty when not an object)
  std::vector<app::RecordProblem> structural;  // record order, then field order
};

// Pydantic's messages for the structural problem types.
inline constexpr std::string_view kMissingMsg = "Field required";
inline constexpr std::string_view kStringTypeMsg = "Input should be a valid string";
inline constexpr std::string_view kModelTypeMsg =
    "Input should be a valid dictionary or object to extract fields from";

// Parses `body`. Answers instead (a Response) when it is malformed JSON or invalid UTF-8
// (422 json_invalid), not an array (422 list_type), an empty array (422 too_short), or holds more
// than `max_records` elements (413 telling the client to split the batch).
std::variant<ParsedRecords, Response> ParseRecordArray(std::string_view body,
                                                       std::size_t max_records);

// {"type", "loc": ["body", index, field?], "msg"} items for problems, in the given order.
Response RecordProblemsResponse(const std::vector<app::RecordProblem>& problems);

}  // namespace intake::http
