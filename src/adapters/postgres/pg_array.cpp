#include "adapters/postgres/pg_array.hpp"

namespace intake::adapters::postgres {

void ArrayLiteral::Separator() {
  if (size_++ > 0) text_.push_back(',');
}

ArrayLiteral& ArrayLiteral::Add(std::string_view value) {
  Separator();
  text_.reserve(text_.size() + value.size() + 2);
  text_.push_back('"');
  for (char c : value) {
    if (c == '"' || c == '\\') text_.push_back('\\');
    text_.push_back(c);
  }
  text_.push_back('"');
  return *this;
}

ArrayLiteral& ArrayLiteral::Add(std::int64_t value) {
  Separator();
  text_ += std::to_string(value);
  return *this;
}

ArrayLiteral& ArrayLiteral::AddOptional(const std::optional<std::string>& value) {
  return value ? Add(std::string_view(*value)) : AddNull();
}

ArrayLiteral& ArrayLiteral::AddNull() {
  Separator();
  text_ += "NULL";
  return *this;
}

std::string ArrayLiteral::Take() {
  std::string out;
  out.swap(text_);
  out.push_back('}');
  text_.assign(1, '{');  // not `= "{"`: GCC 12 -O2 misreports -Wrestrict on that after a move
  size_ = 0;
  return out;
}

}  // namespace intake::adapters::postgres
