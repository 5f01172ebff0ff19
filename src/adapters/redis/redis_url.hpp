// Parsing of broker URLs of the form redis://[[user]:password@]host[:port][/db].
//
// Pure function, no I/O: the queue adapter and configuration validation share it. Error messages
// never contain the password (they are logged and shown at start-up).
#pragma once

#include <string>
#include <string_view>

#include "domain/result.hpp"

namespace intake::adapters::redis {

struct RedisEndpoint {
  std::string host;      // name or address; IPv6 literals come without their brackets
  int port = 6379;       // default Redis port when the URL names none
  std::string username;  // empty: the default user (AUTH with the password only)
  std::string password;  // empty: no AUTH; percent-decoded
  int db = 0;            // logical database (SELECT); default 0

  // "host:port" (IPv6 in brackets), for messages. Never contains credentials.
  std::string Address() const;
};

// kInvalidArgument (one line, no password) for another scheme, a missing host, a port outside
// 1..65535, a db that is not a non-negative integer, or anything after the db (query, fragment).
Result<RedisEndpoint> ParseRedisUrl(std::string_view url);

}  // namespace intake::adapters::redis
