#include "adapters/redis/redis_task_queue.hpp"

#include <algorithm>
#include <charconv>
#include <thread>

#include "adapters/redis/redis_consumers.hpp"

namespace intake::adapters::redis {
namespace {

using std::chrono::milliseconds;

// Reclaims at most one message idle ≥ ARGV[3] ms, scanning the pending list from cursor ARGV[4],
// and reports its delivery count, which XAUTOCLAIM does not return.
// KEYS[1] stream; ARGV: group, consumer, min idle, cursor → {next cursor[, id, fields, count]}.
constexpr std::string_view kReclaimScript = R"lua(
local r = redis.call('XAUTOCLAIM', KEYS[1], ARGV[1], ARGV[2], ARGV[3], ARGV[4], 'COUNT', 1)
local e = r[2][1]
if not e then return {r[1]} end
local p = redis.call('XPENDING', KEYS[1], ARGV[1], e[1], e[1], 1)
return {r[1], e[1], e[2], p[1][4]}
)lua";

// The lease guard: the pending entry ARGV[2] is still held by consumer ARGV[3] with delivery
// count ARGV[4], i.e. nobody reclaimed it since the receipt was issued.
// KEYS[1] stream; ARGV: group, id, consumer, count[, idle] → 1 when acted, 0 when lost.
constexpr std::string_view kGuard = R"lua(
local p = redis.call('XPENDING', KEYS[1], ARGV[1], ARGV[2], ARGV[2], 1)
local e = p[1]
if not e or e[2] ~= ARGV[3] or e[4] ~= tonumber(ARGV[4]) then return 0 end
)lua";
// XCLAIM to the same holder resets the idle time; JUSTID keeps the delivery count.
constexpr std::string_view kExtendAction = R"lua(
redis.call('XCLAIM', KEYS[1], ARGV[1], ARGV[3], 0, ARGV[2], 'JUSTID')
return 1
)lua";
// Backdates the delivery so any XAUTOCLAIM takes it, and bumps the count to void the receipt.
constexpr std::string_view kReleaseAction = R"lua(
redis.call('XCLAIM', KEYS[1], ARGV[1], ARGV[3], 0, ARGV[2], 'IDLE', ARGV[5],
           'RETRYCOUNT', tonumber(ARGV[4]) + 1, 'JUSTID')
return 1
)lua";
// KEYS[1] stream; ARGV: group, id.
constexpr std::string_view kAckScript = R"lua(
redis.call('XACK', KEYS[1], ARGV[1], ARGV[2])
return redis.call('XDEL', KEYS[1], ARGV[2])
)lua";

constexpr std::string_view kTaskField = "task";
// Pending-list pages of 10 entries (XAUTOCLAIM COUNT 1) looked at per Claim before reading new.
constexpr int kMaxReclaimScans = 100;
// How far Release backdates a delivery: beyond any sane visibility timeout, yet well after the
// epoch (Redis treats a delivery time before it as "now").
constexpr milliseconds kReleasedIdle = std::chrono::hours(24 * 30);
// How long WakeAll keeps unblocking readers that had not yet reached the server.
constexpr milliseconds kWakeFor{1000};
constexpr milliseconds kWakeRetry{10};
// A consumer idle this long with nothing pending belonged to a process that is gone.
constexpr milliseconds kStaleConsumerIdle = std::chrono::hours(1);

struct Receipt {
  std::string id;
  std::string consumer;
  std::string count;
};

std::string MakeReceipt(const std::string& id, const std::string& consumer, std::int64_t count) {
  return id + "|" + consumer + "|" + std::to_string(count);
}

Result<Receipt> ParseReceipt(const std::string& receipt) {
  auto first = receipt.find('|');
  auto last = receipt.rfind('|');
  if (first == std::string::npos || first == last) {
    return InvalidArgument("redis queue: malformed receipt");
  }
  return Receipt{receipt.substr(0, first), receipt.substr(first + 1, last - first - 1),
                 receipt.substr(last + 1)};
}

bool IsNoGroup(const RedisReply& reply) {
  return reply.IsError() && reply.str.find("NOGROUP") != std::string::npos;
}

// The task id among a message's field/value pairs; empty when absent.
std::string TaskField(const RedisReply& fields) {
  for (std::size_t i = 0; i + 1 < fields.elements.size(); i += 2) {
    if (fields.elements[i].str == kTaskField) return fields.elements[i + 1].str;
  }
  return {};
}

}  // namespace

class RedisTaskQueue::PooledConnection {
 public:
  PooledConnection(RedisTaskQueue* queue, std::unique_ptr<RedisConnection> conn)
      : queue_(queue), conn_(std::move(conn)) {}
  PooledConnection(PooledConnection&&) noexcept = default;
  PooledConnection& operator=(PooledConnection&&) = delete;
  ~PooledConnection() {
    if (conn_ != nullptr) queue_->Return(std::move(conn_));
  }
  RedisConnection& operator*() { return *conn_; }
  RedisConnection* operator->() { return conn_.get(); }

 private:
  RedisTaskQueue* queue_;
  std::unique_ptr<RedisConnection> conn_;
};

RedisTaskQueue::RedisTaskQueue(RedisQueueOptions options, RedisEndpoint endpoint)
    : options_(std::move(options)), endpoint_(std::move(endpoint)) {}

RedisTaskQueue::~RedisTaskQueue() {
  std::unique_ptr<RedisConnection> conn;
  std::vector<std::string> names;
  {
    std::lock_guard lock(mu_);
    if (idle_.empty() || consumers_.empty()) return;
    conn = std::move(idle_.back());
    idle_.pop_back();
    names.assign(consumers_.begin(), consumers_.end());
  }
  (void)RemoveIdleConsumers(*conn, options_.stream, options_.group, milliseconds(0), names);
}

Result<std::unique_ptr<RedisTaskQueue>> RedisTaskQueue::Open(const RedisQueueOptions& options) {
  auto endpoint = ParseRedisUrl(options.url);
  if (!endpoint) return endpoint.error();
  if (options.stream.empty() || options.group.empty()) {
    return InvalidArgument("redis queue: stream and group names must not be empty");
  }
  if (options.visibility_timeout.count() <= 0 || options.poll.count() <= 0 ||
      options.connect_timeout.count() <= 0) {
    return InvalidArgument("redis queue: timeouts must be positive");
  }
  std::unique_ptr<RedisTaskQueue> queue(new RedisTaskQueue(options, std::move(*endpoint)));
  auto conn = queue->Acquire();
  if (!conn) return conn.error();
  if (auto s = queue->EnsureGroup(**conn); !s) return s.error();
  (void)RemoveIdleConsumers(**conn, options.stream, options.group, kStaleConsumerIdle);
  return queue;
}

Result<RedisTaskQueue::PooledConnection> RedisTaskQueue::Acquire() {
  {
    std::lock_guard lock(mu_);
    if (!idle_.empty()) {
      auto conn = std::move(idle_.back());
      idle_.pop_back();
      return PooledConnection(this, std::move(conn));
    }
  }
  auto conn =
      RedisConnection::Connect(endpoint_, options_.connect_timeout, options_.connect_timeout);
  if (!conn) return conn.error();
  return PooledConnection(this, std::move(*conn));
}

void RedisTaskQueue::Return(std::unique_ptr<RedisConnection> conn) {
  if (conn->broken()) return;
  std::lock_guard lock(mu_);
  idle_.push_back(std::move(conn));
}

Status RedisTaskQueue::EnsureGroup(RedisConnection& conn) {
  // From "0": after a lost group (server restarted without persistence, stream deleted and
  // re-created by XADD) every message still in the stream is a task not yet acknowledged.
  auto reply = conn.Command({"XGROUP", "CREATE", options_.stream, options_.group, "0", "MKSTREAM"});
  if (!reply) return reply.error();
  if (reply->IsError() && reply->ErrorCode() != "BUSYGROUP") {
    return ReplyError(*reply, "XGROUP CREATE", conn.address());
  }
  return {};
}

Result<RedisReply> RedisTaskQueue::GroupCommand(RedisConnection& conn,
                                                const std::vector<std::string>& args,
                                                milliseconds timeout) {
  auto reply = conn.Command(args, timeout);
  if (!reply || !IsNoGroup(*reply)) return reply;
  if (auto s = EnsureGroup(conn); !s) return s.error();
  return conn.Command(args, timeout);
}

Status RedisTaskQueue::Discard(RedisConnection& conn, const std::string& message_id) {
  auto reply = conn.Command(
      {"EVAL", std::string(kAckScript), "1", options_.stream, options_.group, message_id});
  if (!reply) return reply.error();
  if (reply->IsError() && !IsNoGroup(*reply)) return ReplyError(*reply, "XACK", conn.address());
  return {};
}

Result<std::optional<RedisTaskQueue::Message>> RedisTaskQueue::Reclaim(
    RedisConnection& conn, const std::string& consumer) {
  std::string cursor = "0-0";
  const std::string min_idle = std::to_string(options_.visibility_timeout.count());
  for (int scan = 0; scan < kMaxReclaimScans; ++scan) {
    auto reply = GroupCommand(conn,
                              {"EVAL", std::string(kReclaimScript), "1", options_.stream,
                               options_.group, consumer, min_idle, cursor},
                              milliseconds(0));
    if (!reply) return reply.error();
    if (!reply->IsArray() || reply->elements.empty() || !reply->elements[0].IsText()) {
      return ReplyError(*reply, "XAUTOCLAIM", conn.address());
    }
    const auto& parts = reply->elements;
    if (parts.size() >= 4) {
      Message message{parts[1].str, TaskField(parts[2]), parts[3].integer};
      if (!message.task_id.empty()) return std::optional<Message>(std::move(message));
      if (auto s = Discard(conn, message.id); !s) return s.error();
    }
    cursor = parts[0].str;
    if (cursor == "0-0") break;
  }
  return std::optional<Message>();
}

Result<std::optional<RedisTaskQueue::Message>> RedisTaskQueue::ReadNew(RedisConnection& conn,
                                                                       const std::string& consumer,
                                                                       milliseconds block) {
  std::vector<std::string> args{"XREADGROUP", "GROUP", options_.group, consumer, "COUNT", "1"};
  if (block.count() > 0) {
    args.push_back("BLOCK");
    args.push_back(std::to_string(block.count()));
  }
  args.insert(args.end(), {"STREAMS", options_.stream, ">"});
  // The socket waits out the block time plus an ordinary round trip.
  auto reply = GroupCommand(conn, args, block + options_.connect_timeout);
  if (!reply) return reply.error();
  if (reply->IsNil()) return std::optional<Message>();
  // [[stream, [[id, [field, value, …]]]]]
  if (!reply->IsArray() || reply->elements.empty() || !reply->elements[0].IsArray() ||
      reply->elements[0].elements.size() < 2) {
    return ReplyError(*reply, "XREADGROUP", conn.address());
  }
  const auto& entries = reply->elements[0].elements[1].elements;
  if (entries.empty()) return std::optional<Message>();
  if (entries[0].elements.size() < 2) return ReplyError(*reply, "XREADGROUP", conn.address());
  // A first delivery: the count is 1 (unless the group's position was moved back by hand).
  Message message{entries[0].elements[0].str, TaskField(entries[0].elements[1]), 1};
  if (message.task_id.empty()) {
    if (auto s = Discard(conn, message.id); !s) return s.error();
  }
  return std::optional<Message>(std::move(message));
}

Status RedisTaskQueue::Enqueue(std::string_view task_id) {
  auto conn = Acquire();
  if (!conn) return conn.error();
  auto reply = (*conn)->Command(
      {"XADD", options_.stream, "*", std::string(kTaskField), std::string(task_id)});
  if (!reply) return reply.error();
  if (!reply->IsText()) return ReplyError(*reply, "XADD", (*conn)->address());
  return {};
}

Result<std::optional<ports::ClaimedTask>> RedisTaskQueue::Claim(std::string_view worker_id,
                                                                milliseconds wait) {
  const auto deadline = std::chrono::steady_clock::now() + wait;
  const std::string consumer(worker_id);
  std::uint64_t generation;
  {
    std::lock_guard lock(mu_);
    generation = wake_generation_;
    consumers_.insert(consumer);
  }
  auto conn = Acquire();
  if (!conn) return conn.error();
  const std::int64_t client_id = (*conn)->client_id();
  auto found = [&](const Message& m) {
    return std::optional<ports::ClaimedTask>(
        ports::ClaimedTask{m.task_id, MakeReceipt(m.id, consumer, m.deliveries)});
  };
  for (;;) {
    auto reclaimed = Reclaim(**conn, consumer);
    if (!reclaimed) return reclaimed.error();
    if (reclaimed->has_value()) return found(**reclaimed);

    auto left = std::chrono::ceil<milliseconds>(deadline - std::chrono::steady_clock::now());
    milliseconds block = left.count() > 0 ? std::min(left, options_.poll) : milliseconds(0);
    {
      std::lock_guard lock(mu_);
      if (wake_generation_ != generation) return std::optional<ports::ClaimedTask>();
      if (block.count() > 0) blocked_[client_id] = generation;
    }
    auto fresh = ReadNew(**conn, consumer, block);
    {
      std::lock_guard lock(mu_);
      blocked_.erase(client_id);
      if (fresh && fresh->has_value() && !(*fresh)->task_id.empty()) return found(**fresh);
      if (fresh && wake_generation_ != generation) return std::optional<ports::ClaimedTask>();
    }
    if (!fresh) return fresh.error();
    if (!fresh->has_value() && std::chrono::steady_clock::now() >= deadline) {
      return std::optional<ports::ClaimedTask>();
    }
  }
}

Result<bool> RedisTaskQueue::Guarded(const std::string& script, const ports::ClaimedTask& task) {
  auto receipt = ParseReceipt(task.receipt);
  if (!receipt) return receipt.error();
  auto conn = Acquire();
  if (!conn) return conn.error();
  auto idle = std::to_string((kReleasedIdle + options_.visibility_timeout).count());
  auto reply = (*conn)->Command({"EVAL", script, "1", options_.stream, options_.group, receipt->id,
                                 receipt->consumer, receipt->count, idle});
  if (!reply) return reply.error();
  if (IsNoGroup(*reply)) return false;  // the stream is gone, and the lease with it
  if (reply->type != RedisReply::Type::kInteger) {
    return ReplyError(*reply, "EVAL", (*conn)->address());
  }
  return reply->integer == 1;
}

Status RedisTaskQueue::Extend(const ports::ClaimedTask& task) {
  static const std::string kScript = std::string(kGuard) + std::string(kExtendAction);
  auto held = Guarded(kScript, task);
  if (!held) return held.error();
  if (!*held) return Conflict("lease lost: another worker holds the task");
  return {};
}

Status RedisTaskQueue::Release(const ports::ClaimedTask& task) {
  static const std::string kScript = std::string(kGuard) + std::string(kReleaseAction);
  auto held = Guarded(kScript, task);
  if (!held) return held.error();
  return {};
}

Status RedisTaskQueue::Ack(const ports::ClaimedTask& task) {
  auto receipt = ParseReceipt(task.receipt);
  if (!receipt) return receipt.error();
  auto conn = Acquire();
  if (!conn) return conn.error();
  return Discard(**conn, receipt->id);
}

Result<std::int64_t> RedisTaskQueue::Depth() {
  auto conn = Acquire();
  if (!conn) return conn.error();
  auto reply = (*conn)->Command({"XLEN", options_.stream});
  if (!reply) return reply.error();
  if (reply->type != RedisReply::Type::kInteger) {
    return ReplyError(*reply, "XLEN", (*conn)->address());
  }
  return reply->integer;
}

Status RedisTaskQueue::Check() {
  auto conn = Acquire();
  if (!conn) return conn.error();
  auto reply = (*conn)->Command({"PING"});
  if (!reply) return reply.error();
  if (!reply->IsText()) return ReplyError(*reply, "PING", (*conn)->address());
  return {};
}

void RedisTaskQueue::WakeAll() {
  std::uint64_t generation;
  {
    std::lock_guard lock(mu_);
    generation = ++wake_generation_;
  }
  // A reader marked blocked may not have reached the server yet (an UNBLOCK would miss it), so
  // keep unblocking until every reader of an older generation has come back, for a while.
  const auto until = std::chrono::steady_clock::now() + kWakeFor;
  std::optional<PooledConnection> waker;
  for (;;) {
    std::vector<std::int64_t> ids;
    {
      std::lock_guard lock(mu_);
      for (const auto& [id, began] : blocked_) {
        if (began < generation) ids.push_back(id);
      }
    }
    if (ids.empty() || std::chrono::steady_clock::now() >= until) return;
    if (!waker) {
      auto conn = Acquire();
      if (!conn) return;  // the server is gone: the readers' own timeouts end their reads
      waker.emplace(std::move(*conn));
    }
    for (auto id : ids) {
      if (!(*waker)->Command({"CLIENT", "UNBLOCK", std::to_string(id)})) return;
    }
    std::this_thread::sleep_for(kWakeRetry);
  }
}

}  // namespace intake::adapters::redis
