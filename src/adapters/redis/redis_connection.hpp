// RedisConnection: one blocking hiredis connection, and RedisReply, an owned copy of a reply.
//
// Not thread-safe: one thread at a time (the queue keeps a pool, one connection per caller).
// Errors: a failed connect, a lost connection or a timeout → kUnavailable, after which the
// connection is broken() and must be dropped. A server error reply is not an Error but a reply
// of type kError; ReplyError() maps it. Messages name the server's host:port and the command,
// never arguments (they may carry the password) nor the server's free text.
#pragma once

#include <chrono>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "adapters/redis/redis_url.hpp"
#include "domain/result.hpp"

struct redisContext;

namespace intake::adapters::redis {

struct RedisReply {
  enum class Type { kNil, kString, kStatus, kInteger, kArray, kError };
  Type type = Type::kNil;
  std::string str;  // kString, kStatus, kError (the server's text)
  std::int64_t integer = 0;
  std::vector<RedisReply> elements;  // kArray

  bool IsNil() const { return type == Type::kNil; }
  bool IsArray() const { return type == Type::kArray; }
  bool IsText() const { return type == Type::kString || type == Type::kStatus; }
  bool IsError() const { return type == Type::kError; }
  // The first word of an error reply ("NOGROUP", "BUSYGROUP", …); empty for other replies.
  std::string_view ErrorCode() const;
};

class RedisConnection {
 public:
  // Connects (within `connect_timeout`), then AUTH and SELECT as the endpoint says. Commands
  // time out after `command_timeout` unless a call says otherwise.
  static Result<std::unique_ptr<RedisConnection>> Connect(
      const RedisEndpoint& endpoint, std::chrono::milliseconds connect_timeout,
      std::chrono::milliseconds command_timeout);
  ~RedisConnection();
  RedisConnection(const RedisConnection&) = delete;
  RedisConnection& operator=(const RedisConnection&) = delete;

  // Sends one command and waits for its reply. `timeout` (0 = the default command timeout) bounds
  // the wait; give blocking commands their block time plus a margin.
  Result<RedisReply> Command(const std::vector<std::string>& args,
                             std::chrono::milliseconds timeout = std::chrono::milliseconds(0));

  // True after an I/O error or timeout: the connection's state is unknown, drop it.
  bool broken() const { return broken_; }
  // The server's id of this connection (CLIENT ID), for CLIENT UNBLOCK.
  std::int64_t client_id() const { return client_id_; }
  const std::string& address() const { return address_; }

 private:
  RedisConnection(redisContext* context, std::string address,
                  std::chrono::milliseconds command_timeout);
  Status SetTimeout(std::chrono::milliseconds timeout);

  redisContext* context_;
  std::string address_;
  std::chrono::milliseconds command_timeout_;
  std::chrono::milliseconds current_timeout_{0};
  std::int64_t client_id_ = 0;
  bool broken_ = false;
};

// The Error for an error reply to `command` sent to `address`: kUnavailable for the transient
// ones (LOADING, BUSY, TRYAGAIN, MASTERDOWN, CLUSTERDOWN), kInternal otherwise. The message
// keeps only the error's first word.
Error ReplyError(const RedisReply& reply, std::string_view command, std::string_view address);

}  // namespace intake::adapters::redis
