#include "main/logging.hpp"

#include <gtest/gtest.h>
#include <spdlog/details/log_msg.h>

#include <algorithm>
#include <cctype>

#include "main/system_sources.hpp"

namespace intake::main_ {
namespace {

// `text` matches `pattern`, where in the pattern 'x' is any lower-case hex digit, 'd' any decimal
// digit, and every other character stands for itself. (No std::regex: GCC 12 warns inside it
// under the sanitizer build.)
bool Matches(std::string_view text, std::string_view pattern) {
  if (text.size() != pattern.size()) return false;
  for (std::size_t i = 0; i < text.size(); ++i) {
    const char c = text[i];
    const char p = pattern[i];
    if (p == 'x') {
      if (!std::isxdigit(static_cast<unsigned char>(c)) ||
          std::isupper(static_cast<unsigned char>(c))) {
        return false;
      }
    } else if (p == 'd') {
      if (!std::isdigit(static_cast<unsigned char>(c))) return false;
    } else if (c != p) {
      return false;
    }
  }
  return true;
}

std::string Format(std::string_view text, spdlog::level::level_enum level) {
  JsonFormatter formatter;
  spdlog::details::log_msg msg("intake", level, spdlog::string_view_t(text.data(), text.size()));
  spdlog::memory_buf_t out;
  formatter.format(msg, out);
  return std::string(out.data(), out.size());
}

TEST(JsonFormatter, WritesOneObjectPerLine) {
  const std::string line = Format("hello", spdlog::level::warn);
  EXPECT_TRUE(Matches(
      line, "{\"ts\":\"dddd-dd-ddTdd:dd:dd.dddZ\",\"level\":\"warning\",\"msg\":\"hello\"}\n"))
      << line;
}

TEST(JsonFormatter, EscapesQuotesBackslashesAndControlCharacters) {
  const std::string line = Format("a\"b\\c\nd\te\x01 é", spdlog::level::info);
  EXPECT_NE(line.find(R"("msg":"a\"b\\c\nd\te\u0001 é"})"), std::string::npos) << line;
  EXPECT_EQ(line.find('\n'), line.size() - 1);
}

TEST(RandomIdSource, MakesVersion4Uuids) {
  RandomIdSource ids;
  for (int i = 0; i < 100; ++i) {
    const std::string id = ids.NewTaskId();
    EXPECT_TRUE(Matches(id, "xxxxxxxx-xxxx-4xxx-xxxx-xxxxxxxxxxxx")) << id;
    EXPECT_NE(std::string_view("89ab").find(id[19]), std::string_view::npos) << id;
  }
  EXPECT_NE(ids.NewTaskId(), ids.NewTaskId());
}

TEST(RandomIdSource, MakesEightHexDigitSuffixes) {
  RandomIdSource ids;
  for (int i = 0; i < 100; ++i) {
    const std::string s = ids.NewSuffix();
    EXPECT_TRUE(Matches(s, "xxxxxxxx")) << s;
  }
}

}  // namespace
}  // namespace intake::main_
