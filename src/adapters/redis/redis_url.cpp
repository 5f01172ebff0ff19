#include "adapters/redis/redis_url.hpp"

#include <charconv>
#include <limits>

namespace intake::adapters::redis {
namespace {

constexpr std::string_view kScheme = "redis://";

Result<int> ParseNumber(std::string_view text, int min, int max, std::string_view what) {
  int value = 0;
  auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
  if (text.empty() || ec != std::errc() || end != text.data() + text.size() || value < min ||
      value > max) {
    return InvalidArgument("redis URL: " + std::string(what) + " must be an integer in " +
                           std::to_string(min) + ".." + std::to_string(max));
  }
  return value;
}

int HexValue(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

// Percent-decoding of the user-info part; the error never echoes the text.
Result<std::string> Decode(std::string_view text, std::string_view what) {
  std::string out;
  for (std::size_t i = 0; i < text.size(); ++i) {
    if (text[i] != '%') {
      out.push_back(text[i]);
      continue;
    }
    int hi = i + 2 < text.size() ? HexValue(text[i + 1]) : -1;
    int lo = i + 2 < text.size() ? HexValue(text[i + 2]) : -1;
    if (hi < 0 || lo < 0) {
      return InvalidArgument("redis URL: bad percent-encoding in the " + std::string(what));
    }
    out.push_back(static_cast<char>(hi * 16 + lo));
    i += 2;
  }
  return out;
}

Status ParseUserInfo(std::string_view info, RedisEndpoint& endpoint) {
  auto colon = info.find(':');
  // A user-info without ':' is a bare password, as redis-cli and redis-py read it.
  std::string_view user =
      colon == std::string_view::npos ? std::string_view() : info.substr(0, colon);
  std::string_view pass = colon == std::string_view::npos ? info : info.substr(colon + 1);
  auto decoded_user = Decode(user, "user name");
  if (!decoded_user) return decoded_user.error();
  auto decoded_pass = Decode(pass, "password");
  if (!decoded_pass) return decoded_pass.error();
  endpoint.username = std::move(*decoded_user);
  endpoint.password = std::move(*decoded_pass);
  return {};
}

Status ParseHostPort(std::string_view authority, RedisEndpoint& endpoint) {
  std::string_view port;
  if (authority.starts_with('[')) {
    auto close = authority.find(']');
    if (close == std::string_view::npos) return InvalidArgument("redis URL: unclosed '[' in host");
    endpoint.host = std::string(authority.substr(1, close - 1));
    auto rest = authority.substr(close + 1);
    if (!rest.empty() && !rest.starts_with(':')) {
      return InvalidArgument("redis URL: unexpected text after the host");
    }
    if (!rest.empty()) port = rest.substr(1);
    if (rest == ":") return InvalidArgument("redis URL: empty port");
  } else {
    auto colon = authority.rfind(':');
    endpoint.host = std::string(authority.substr(0, colon));
    if (colon != std::string_view::npos) {
      port = authority.substr(colon + 1);
      if (port.empty()) return InvalidArgument("redis URL: empty port");
    }
  }
  if (endpoint.host.empty()) return InvalidArgument("redis URL: missing host");
  if (!port.empty()) {
    auto number = ParseNumber(port, 1, 65535, "port");
    if (!number) return number.error();
    endpoint.port = *number;
  }
  return {};
}

}  // namespace

std::string RedisEndpoint::Address() const {
  bool ipv6 = host.find(':') != std::string::npos;
  return (ipv6 ? "[" + host + "]" : host) + ":" + std::to_string(port);
}

Result<RedisEndpoint> ParseRedisUrl(std::string_view url) {
  if (!url.starts_with(kScheme)) {
    return InvalidArgument(
        "redis URL: must start with redis:// (rediss:// and sockets are not "
        "supported)");
  }
  std::string_view rest = url.substr(kScheme.size());
  if (rest.find_first_of("?#") != std::string_view::npos) {
    return InvalidArgument("redis URL: query strings and fragments are not supported");
  }
  auto slash = rest.find('/');
  std::string_view authority = rest.substr(0, slash);
  std::string_view path =
      slash == std::string_view::npos ? std::string_view() : rest.substr(slash + 1);

  RedisEndpoint endpoint;
  // The last '@' ends the user-info: a password may contain a raw '@'.
  auto at = authority.rfind('@');
  if (at != std::string_view::npos) {
    if (auto s = ParseUserInfo(authority.substr(0, at), endpoint); !s) return s.error();
    authority = authority.substr(at + 1);
  }
  if (auto s = ParseHostPort(authority, endpoint); !s) return s.error();
  if (!path.empty()) {
    auto db = ParseNumber(path, 0, std::numeric_limits<int>::max(), "database number");
    if (!db) return db.error();
    endpoint.db = *db;
  }
  return endpoint;
}

}  // namespace intake::adapters::redis
