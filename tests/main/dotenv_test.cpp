#include "main/dotenv.hpp"

#include <gtest/gtest.h>

namespace intake::main_ {
namespace {

EnvMap Parse(std::string_view text) {
  auto parsed = ParseDotenv(text);
  EXPECT_TRUE(parsed.has_value()) << text;
  return parsed ? *parsed : EnvMap{};
}

TEST(Dotenv, ReadsKeyValueLines) {
  const auto env = Parse("HOST=0.0.0.0\nPORT=9000\n");
  EXPECT_EQ(env.at("HOST"), "0.0.0.0");
  EXPECT_EQ(env.at("PORT"), "9000");
}

TEST(Dotenv, SkipsCommentsAndBlankLines) {
  const auto env = Parse("# a comment\n\n   \n  # indented comment\nPORT=1\r\n\n");
  EXPECT_EQ(env.size(), 1u);
  EXPECT_EQ(env.at("PORT"), "1");
}

TEST(Dotenv, AcceptsExportPrefix) {
  const auto env = Parse("export PORT=8080\nexport\tHOST=h\n");
  EXPECT_EQ(env.at("PORT"), "8080");
  EXPECT_EQ(env.at("HOST"), "h");
}

TEST(Dotenv, TrimsUnquotedValuesAndDropsInlineComments) {
  const auto env = Parse("A =  spaced value   # trailing comment\nB=x#not-a-comment\n");
  EXPECT_EQ(env.at("A"), "spaced value");
  EXPECT_EQ(env.at("B"), "x#not-a-comment");
}

TEST(Dotenv, SingleQuotesAreLiteral) {
  const auto env = Parse("A='  keep # all \\n '  # comment\n");
  EXPECT_EQ(env.at("A"), "  keep # all \\n ");
}

TEST(Dotenv, DoubleQuotesHandleEscapes) {
  const auto env = Parse(R"(A="line1\nline2 \"q\" \\ # kept")");
  EXPECT_EQ(env.at("A"), "line1\nline2 \"q\" \\ # kept");
}

TEST(Dotenv, DoubleQuotedValueMaySpanLines) {
  const auto env = Parse("A=\"one\ntwo\"\nB=3\n");
  EXPECT_EQ(env.at("A"), "one\ntwo");
  EXPECT_EQ(env.at("B"), "3");
}

TEST(Dotenv, EmptyValues) {
  const auto env = Parse("A=\nB=''\nC=\"\"\n");
  EXPECT_EQ(env.at("A"), "");
  EXPECT_EQ(env.at("B"), "");
  EXPECT_EQ(env.at("C"), "");
}

TEST(Dotenv, LaterLineWins) { EXPECT_EQ(Parse("A=1\nA=2\n").at("A"), "2"); }

TEST(Dotenv, KeepsEqualsSignsInValue) {
  EXPECT_EQ(Parse("URL=postgresql://u:p@h/db?x=1").at("URL"), "postgresql://u:p@h/db?x=1");
}

TEST(Dotenv, IgnoresByteOrderMark) { EXPECT_EQ(Parse("\xEF\xBB\xBFPORT=1\n").at("PORT"), "1"); }

TEST(Dotenv, EmptyTextIsEmpty) { EXPECT_TRUE(Parse("").empty()); }

TEST(Dotenv, MalformedLinesNameTheLineButNotTheText) {
  struct Case {
    std::string_view text;
    std::string_view message;
  };
  const Case cases[] = {
      {"A=1\nsecret-without-equals\n", ".env line 2: expected KEY=VALUE"},
      {"1A=x\n", ".env line 1: invalid variable name"},
      {"A='unterminated\n", ".env line 1: unterminated single quote"},
      {"A=\"unterminated\n", ".env line 1: unterminated double quote"},
      {"A='x' junk\n", ".env line 1: unterminated single quote"},
      {"A=\"x\ny\"\nbad\n", ".env line 3: expected KEY=VALUE"},
  };
  for (const auto& c : cases) {
    const auto parsed = ParseDotenv(c.text);
    ASSERT_FALSE(parsed.has_value()) << c.text;
    EXPECT_EQ(parsed.error().message, c.message) << c.text;
    EXPECT_EQ(parsed.error().message.find("secret"), std::string::npos);
  }
}

}  // namespace
}  // namespace intake::main_
