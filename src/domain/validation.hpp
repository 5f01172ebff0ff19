// Field rules of SPEC §3 for one record. Pure: no I/O, no clock (today is passed in).
//
// Problems never contain the submitted values (they are PHI): only the field and a fixed message.
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "domain/visit_record.hpp"

namespace intake::domain {

struct Problem {
  std::optional<Field> field;  // nullopt: a problem with the row as a whole
  // Pydantic-style error type for the HTTP 422 body, e.g. "missing", "string_type",
  // "string_too_short", "string_too_long", "string_pattern_mismatch", "date_from_datetime_parsing",
  // "value_error", "string_unicode", "row_shape".
  std::string type;
  std::string message;  // short, human-readable, value-free: "not a calendar date"
};

// Appends to `out` every problem of `record`, in field order (a record with two bad fields gives
// two problems). `today` is the current UTC date (birth_date may not be after it).
void ValidateRecord(const VisitRecord& record, const Date& today, std::vector<Problem>& out);

// Lower-level checks, exposed for tests and for the CSV/NDJSON paths.
// True when `text` is valid UTF-8 (no overlongs, no surrogates, <= U+10FFFF).
bool IsValidUtf8(std::string_view text);
// Number of code points in valid UTF-8 `text`.
std::size_t CodePointCount(std::string_view text);

}  // namespace intake::domain
