// Text-format PostgreSQL array literals ("{...}"), for passing whole columns of a batch as one
// parameter ($1::text[], $2::bigint[]) to set-based statements (unnest). Every text element is
// double-quoted with `"` and `\` backslash-escaped, so commas, braces, spaces, quotes, the word
// NULL and any UTF-8 survive exactly; NULL elements are the bare word NULL.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace intake::adapters::postgres {

class ArrayLiteral {
 public:
  ArrayLiteral() : text_("{") {}
  ArrayLiteral& Add(std::string_view value);
  ArrayLiteral& Add(std::int64_t value);
  ArrayLiteral& AddOptional(const std::optional<std::string>& value);  // nullopt → NULL
  ArrayLiteral& AddNull();
  std::size_t size() const { return size_; }
  // The literal, e.g. {"a","b \"c\"",NULL}. The builder is left empty.
  std::string Take();

 private:
  void Separator();

  std::string text_;
  std::size_t size_ = 0;
};

}  // namespace intake::adapters::postgres
