// ArrayLiteral (text-format array parameters), ContainsPattern (literal LIKE needles) and the
// SQLSTATE → ErrorCode mapping: pure functions, no server needed.
#include "adapters/postgres/pg_array.hpp"

#include <gtest/gtest.h>

#include "adapters/postgres/pg_connection.hpp"
#include "adapters/postgres/pg_record_store.hpp"

namespace intake::adapters::testing {
namespace {

using postgres::ArrayLiteral;

struct TextCase {
  std::vector<std::optional<std::string>> values;
  std::string expected;
};

TEST(PgArrayLiteral, QuotesAndEscapesEveryTextElement) {
  const std::vector<TextCase> cases = {
      {{}, "{}"},
      {{"a"}, R"({"a"})"},
      {{"a", "b"}, R"({"a","b"})"},
      {{""}, R"({""})"},
      {{"say \"hi\""}, R"({"say \"hi\""})"},
      {{"back\\slash"}, R"({"back\\slash"})"},
      {{"a,b", "{c}", " d "}, R"({"a,b","{c}"," d "})"},
      {{"NULL", std::nullopt}, R"({"NULL",NULL})"},
      {{"ZOË", "ĳsbrand", "日本"}, R"({"ZOË","ĳsbrand","日本"})"},
      {{"line1\nline2\t\r"}, "{\"line1\nline2\t\r\"}"},
  };
  for (const auto& c : cases) {
    ArrayLiteral a;
    for (const auto& v : c.values) a.AddOptional(v);
    EXPECT_EQ(a.size(), c.values.size());
    EXPECT_EQ(a.Take(), c.expected);
  }
}

TEST(PgArrayLiteral, IntegersAreBare) {
  ArrayLiteral a;
  a.Add(std::int64_t{1}).Add(std::int64_t{-2}).Add(std::numeric_limits<std::int64_t>::max());
  EXPECT_EQ(a.Take(), "{1,-2,9223372036854775807}");
}

TEST(PgArrayLiteral, TakeLeavesAnEmptyBuilder) {
  ArrayLiteral a;
  a.Add("x");
  EXPECT_EQ(a.Take(), R"({"x"})");
  EXPECT_EQ(a.size(), 0u);
  a.Add("y");
  EXPECT_EQ(a.Take(), R"({"y"})");
}

TEST(PgContainsPattern, EscapesLikeMetacharacters) {
  EXPECT_EQ(postgres::ContainsPattern("abc"), "%abc%");
  EXPECT_EQ(postgres::ContainsPattern("100%"), "%100\\%%");
  EXPECT_EQ(postgres::ContainsPattern("x_1"), "%x\\_1%");
  EXPECT_EQ(postgres::ContainsPattern("a\\b"), "%a\\\\b%");
  EXPECT_EQ(postgres::ContainsPattern(""), "%%");
}

TEST(PgErrorMapping, SqlStatesMapToCodes) {
  using postgres::CodeForSqlState;
  EXPECT_EQ(CodeForSqlState("08006"), ErrorCode::kUnavailable);
  EXPECT_EQ(CodeForSqlState("08001"), ErrorCode::kUnavailable);
  EXPECT_EQ(CodeForSqlState("57P01"), ErrorCode::kUnavailable);
  EXPECT_EQ(CodeForSqlState("40001"), ErrorCode::kUnavailable);
  EXPECT_EQ(CodeForSqlState("40P01"), ErrorCode::kUnavailable);
  EXPECT_EQ(CodeForSqlState("53300"), ErrorCode::kUnavailable);
  EXPECT_EQ(CodeForSqlState("23505"), ErrorCode::kConflict);
  EXPECT_EQ(CodeForSqlState("23503"), ErrorCode::kInternal);
  EXPECT_EQ(CodeForSqlState("42P01"), ErrorCode::kInternal);
  EXPECT_EQ(CodeForSqlState("22P02"), ErrorCode::kInternal);
}

}  // namespace
}  // namespace intake::adapters::testing
