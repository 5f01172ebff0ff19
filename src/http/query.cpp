#include "http/query.hpp"

#include <charconv>
#include <limits>
#include <string>
#include <vector>

namespace intake::http {
namespace {

constexpr std::int64_t kMaxPageSize = 100;
// FastAPI has no upper bound on page; ours keeps (page - 1) * page_size inside 64 bits.
constexpr std::int64_t kMaxPage = std::numeric_limits<std::int64_t>::max() / kMaxPageSize;

ValidationItem QueryItem(std::string_view name, std::string type, std::string msg) {
  return ValidationItem{std::move(type), boost::json::array{"query", name}, std::move(msg)};
}

// Adds a problem to `items` unless `name` is absent (then `value` keeps its default).
void ReadBounded(const Request& request, std::string_view name, std::int64_t min, std::int64_t max,
                 std::int64_t& value, std::vector<ValidationItem>& items) {
  std::optional<std::string_view> text = request.Query(name);
  if (!text) return;
  std::int64_t parsed = 0;
  IntParse status = ParseInt64(*text, parsed);
  if (status == IntParse::kNotInteger) {
    items.push_back(QueryItem(name, "int_parsing",
                              "Input should be a valid integer, unable to parse string as an "
                              "integer"));
  } else if (status == IntParse::kOutOfRange ? text->front() == '-' : parsed < min) {
    items.push_back(QueryItem(name, "greater_than_equal",
                              "Input should be greater than or equal to " + std::to_string(min)));
  } else if (status == IntParse::kOutOfRange || parsed > max) {
    items.push_back(QueryItem(name, "less_than_equal",
                              "Input should be less than or equal to " + std::to_string(max)));
  } else {
    value = parsed;
  }
}

}  // namespace

IntParse ParseInt64(std::string_view text, std::int64_t& out) {
  std::string_view digits = text;
  if (!digits.empty() && (digits.front() == '-' || digits.front() == '+')) digits.remove_prefix(1);
  if (digits.empty()) return IntParse::kNotInteger;
  for (char c : digits) {
    if (c < '0' || c > '9') return IntParse::kNotInteger;
  }
  // from_chars accepts a leading '-' but not '+'.
  std::string_view number = text.front() == '+' ? digits : text;
  auto [ptr, ec] = std::from_chars(number.data(), number.data() + number.size(), out);
  if (ec == std::errc::result_out_of_range) return IntParse::kOutOfRange;
  if (ec != std::errc() || ptr != number.data() + number.size()) return IntParse::kNotInteger;
  return IntParse::kOk;
}

std::variant<Paging, Response> ParsePaging(const Request& request) {
  Paging paging;
  std::vector<ValidationItem> items;
  ReadBounded(request, "page", 1, kMaxPage, paging.page, items);
  ReadBounded(request, "page_size", 1, kMaxPageSize, paging.page_size, items);
  if (!items.empty()) return ValidationResponse(items);
  return paging;
}

}  // namespace intake::http
