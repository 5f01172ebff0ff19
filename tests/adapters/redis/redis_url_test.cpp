// ParseRedisUrl: a pure function, no server needed.
#include "adapters/redis/redis_url.hpp"

#include <gtest/gtest.h>

#include "adapters/contract/test_util.hpp"

namespace intake::adapters::redis {
namespace {

using testing::Describe;
using testing::ErrorFrom;

struct GoodUrl {
  std::string url;
  std::string host;
  int port;
  std::string username;
  std::string password;
  int db;
};

TEST(RedisUrl, ParsesWellFormedUrls) {
  const std::vector<GoodUrl> cases = {
      {"redis://localhost", "localhost", 6379, "", "", 0},
      {"redis://127.0.0.1:6380", "127.0.0.1", 6380, "", "", 0},
      {"redis://redis:6379/0", "redis", 6379, "", "", 0},
      {"redis://redis:6379/3", "redis", 6379, "", "", 3},
      {"redis://redis/2", "redis", 6379, "", "", 2},
      {"redis://redis:6379/", "redis", 6379, "", "", 0},
      {"redis://:s3cret@redis:6379/1", "redis", 6379, "", "s3cret", 1},
      {"redis://s3cret@redis", "redis", 6379, "", "s3cret", 0},
      {"redis://app:s3cret@redis:7000/4", "redis", 7000, "app", "s3cret", 4},
      {"redis://:p%40ss%3Aw0rd@h:1", "h", 1, "", "p@ss:w0rd", 0},
      {"redis://:p@ss@h", "h", 6379, "", "p@ss", 0},
      {"redis://[::1]:6390/5", "::1", 6390, "", "", 5},
      {"redis://[::1]", "::1", 6379, "", "", 0},
  };
  for (const auto& c : cases) {
    auto parsed = ParseRedisUrl(c.url);
    ASSERT_TRUE(parsed.has_value()) << c.url << ": " << Describe(parsed);
    EXPECT_EQ(parsed->host, c.host) << c.url;
    EXPECT_EQ(parsed->port, c.port) << c.url;
    EXPECT_EQ(parsed->username, c.username) << c.url;
    EXPECT_EQ(parsed->password, c.password) << c.url;
    EXPECT_EQ(parsed->db, c.db) << c.url;
  }
}

TEST(RedisUrl, RejectsMalformedUrlsWithoutEchoingThePassword) {
  const std::vector<std::string> cases = {
      "",
      "redis:/host",
      "rediss://:hunter2@host:6379",
      "http://:hunter2@host:6379",
      "unix:///tmp/redis.sock",
      "redis://",
      "redis://:hunter2@",
      "redis://:hunter2@:6379",
      "redis://:hunter2@host:",
      "redis://:hunter2@host:0",
      "redis://:hunter2@host:65536",
      "redis://:hunter2@host:port",
      "redis://:hunter2@host:6379/x",
      "redis://:hunter2@host:6379/-1",
      "redis://:hunter2@host:6379/1/2",
      "redis://:hunter2@host:6379/0?timeout=1",
      "redis://:hunter2%zz@host",
      "redis://:hunter2@[::1",
      "redis://:hunter2@[::1]x",
  };
  for (const auto& url : cases) {
    auto parsed = ParseRedisUrl(url);
    ASSERT_FALSE(parsed.has_value()) << "accepted: " << url;
    auto error = ErrorFrom(parsed);
    EXPECT_EQ(error.code, ErrorCode::kInvalidArgument) << url;
    EXPECT_EQ(error.message.find("hunter2"), std::string::npos) << error.message;
    EXPECT_EQ(error.message.find('\n'), std::string::npos) << error.message;
  }
}

TEST(RedisUrl, AddressHasNoCredentials) {
  auto parsed = ParseRedisUrl("redis://app:s3cret@cache.internal:6390/2");
  ASSERT_TRUE(parsed.has_value());
  EXPECT_EQ(parsed->Address(), "cache.internal:6390");
  auto v6 = ParseRedisUrl("redis://[fe80::1]:6390");
  ASSERT_TRUE(v6.has_value());
  EXPECT_EQ(v6->Address(), "[fe80::1]:6390");
}

}  // namespace
}  // namespace intake::adapters::redis
