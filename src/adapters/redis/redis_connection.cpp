#include "adapters/redis/redis_connection.hpp"

#include <hiredis/hiredis.h>
#include <sys/time.h>

#include <array>

namespace intake::adapters::redis {
namespace {

timeval ToTimeval(std::chrono::milliseconds d) {
  timeval tv{};
  tv.tv_sec = static_cast<decltype(tv.tv_sec)>(d.count() / 1000);
  tv.tv_usec = static_cast<decltype(tv.tv_usec)>((d.count() % 1000) * 1000);
  return tv;
}

RedisReply Copy(const redisReply& reply) {
  RedisReply out;
  switch (reply.type) {
    case REDIS_REPLY_STRING:
      out.type = RedisReply::Type::kString;
      out.str.assign(reply.str, reply.len);
      break;
    case REDIS_REPLY_STATUS:
      out.type = RedisReply::Type::kStatus;
      out.str.assign(reply.str, reply.len);
      break;
    case REDIS_REPLY_ERROR:
      out.type = RedisReply::Type::kError;
      out.str.assign(reply.str, reply.len);
      break;
    case REDIS_REPLY_INTEGER:
      out.type = RedisReply::Type::kInteger;
      out.integer = reply.integer;
      break;
    case REDIS_REPLY_ARRAY:
      out.type = RedisReply::Type::kArray;
      out.elements.reserve(reply.elements);
      for (std::size_t i = 0; i < reply.elements; ++i)
        out.elements.push_back(Copy(*reply.element[i]));
      break;
    default:
      out.type = RedisReply::Type::kNil;
  }
  return out;
}

// The command word only: arguments may hold the password or task ids.
std::string CommandName(const std::vector<std::string>& args) {
  return args.empty() ? std::string("(empty)") : args.front();
}

}  // namespace

std::string_view RedisReply::ErrorCode() const {
  if (type != Type::kError) return {};
  std::string_view text = str;
  return text.substr(0, text.find(' '));
}

Error ReplyError(const RedisReply& reply, std::string_view command, std::string_view address) {
  static constexpr std::array<std::string_view, 5> kTransient = {"LOADING", "BUSY", "TRYAGAIN",
                                                                 "MASTERDOWN", "CLUSTERDOWN"};
  std::string code(reply.IsError() ? reply.ErrorCode() : std::string_view("unexpected reply"));
  std::string message =
      "redis " + std::string(address) + ": " + std::string(command) + " failed (" + code + ")";
  for (auto transient : kTransient) {
    if (code == transient) return Unavailable(std::move(message));
  }
  return Internal(std::move(message));
}

RedisConnection::RedisConnection(redisContext* context, std::string address,
                                 std::chrono::milliseconds command_timeout)
    : context_(context), address_(std::move(address)), command_timeout_(command_timeout) {}

RedisConnection::~RedisConnection() { redisFree(context_); }

Result<std::unique_ptr<RedisConnection>> RedisConnection::Connect(
    const RedisEndpoint& endpoint, std::chrono::milliseconds connect_timeout,
    std::chrono::milliseconds command_timeout) {
  redisContext* context =
      redisConnectWithTimeout(endpoint.host.c_str(), endpoint.port, ToTimeval(connect_timeout));
  if (context == nullptr) return Unavailable("redis " + endpoint.Address() + ": out of memory");
  if (context->err != 0) {
    std::string reason = context->errstr;
    redisFree(context);
    return Unavailable("redis " + endpoint.Address() + ": cannot connect: " + reason);
  }
  redisEnableKeepAlive(context);
  std::unique_ptr<RedisConnection> conn(
      new RedisConnection(context, endpoint.Address(), command_timeout));
  if (!endpoint.password.empty()) {
    std::vector<std::string> auth{"AUTH"};
    if (!endpoint.username.empty()) auth.push_back(endpoint.username);
    auth.push_back(endpoint.password);
    auto reply = conn->Command(auth);
    if (!reply) return reply.error();
    if (reply->IsError()) {
      return Unavailable("redis " + endpoint.Address() + ": authentication failed (" +
                         std::string(reply->ErrorCode()) + ")");
    }
  }
  if (endpoint.db != 0) {
    auto reply = conn->Command({"SELECT", std::to_string(endpoint.db)});
    if (!reply) return reply.error();
    if (reply->IsError()) return ReplyError(*reply, "SELECT", conn->address());
  }
  auto id = conn->Command({"CLIENT", "ID"});
  if (!id) return id.error();
  if (id->type != RedisReply::Type::kInteger) return ReplyError(*id, "CLIENT ID", conn->address());
  conn->client_id_ = id->integer;
  return conn;
}

Status RedisConnection::SetTimeout(std::chrono::milliseconds timeout) {
  if (timeout == current_timeout_) return {};
  if (redisSetTimeout(context_, ToTimeval(timeout)) != REDIS_OK) {
    broken_ = true;
    return Unavailable("redis " + address_ + ": cannot set the socket timeout");
  }
  current_timeout_ = timeout;
  return {};
}

Result<RedisReply> RedisConnection::Command(const std::vector<std::string>& args,
                                            std::chrono::milliseconds timeout) {
  if (broken_) return Unavailable("redis " + address_ + ": connection lost");
  if (auto s = SetTimeout(timeout.count() > 0 ? timeout : command_timeout_); !s) return s.error();
  std::vector<const char*> argv;
  std::vector<std::size_t> argvlen;
  argv.reserve(args.size());
  argvlen.reserve(args.size());
  for (const auto& arg : args) {
    argv.push_back(arg.data());
    argvlen.push_back(arg.size());
  }
  void* raw =
      redisCommandArgv(context_, static_cast<int>(args.size()), argv.data(), argvlen.data());
  if (raw == nullptr) {
    broken_ = true;
    std::string reason = context_->err != 0 ? context_->errstr : "no reply";
    return Unavailable("redis " + address_ + ": " + CommandName(args) + ": " + reason);
  }
  auto* reply = static_cast<redisReply*>(raw);
  RedisReply copy = Copy(*reply);
  freeReplyObject(reply);
  return copy;
}

}  // namespace intake::adapters::redis
