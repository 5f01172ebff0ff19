// Query and path parameter parsing with FastAPI-shaped 422 errors (values are never echoed).
#pragma once

#include <cstdint>
#include <optional>
#include <string_view>
#include <variant>

#include "http/errors.hpp"
#include "http/message.hpp"

namespace intake::http {

enum class IntParse { kOk, kNotInteger, kOutOfRange };

// Strict decimal integer: optional sign, then 1+ ASCII digits (nothing else, no spaces).
// kOutOfRange when it is an integer that does not fit in 64 bits.
IntParse ParseInt64(std::string_view text, std::int64_t& out);

struct Paging {
  std::int64_t page = 1;        // >= 1, default 1
  std::int64_t page_size = 10;  // 1..100, default 10
};

// Reads ?page=&page_size= (FastAPI rules). All problems are listed in one 422.
std::variant<Paging, Response> ParsePaging(const Request& request);

}  // namespace intake::http
