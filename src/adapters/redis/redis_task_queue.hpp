// RedisTaskQueue: ports::TaskQueue over a Redis Stream read by one consumer group.
//
// Enqueue appends `task <id>` to the stream (XADD). Claim first reclaims the oldest message that a
// consumer has held idle for at least the visibility timeout (XAUTOCLAIM; its holder is presumed
// dead), then reads a new one for the group (XREADGROUP, consumer = worker_id), waiting in
// blocking reads of at most `poll` until `wait` passes or WakeAll() is called. The receipt is
// "<message id>|<consumer>|<delivery count>"; Extend and Release act only while the group's
// pending entry still matches it (one Lua script each), so a reclaimed message is never taken
// back. Ack removes the message (XACK + XDEL), so the stream length is the depth. Task state
// lives in the TaskStore: a duplicate delivery (at least once) is the worker's to recognise.
//
// Leases follow the Redis server's clock (idle time of the pending entry), not ports::Clock.
// Thread-safe: each concurrent caller uses its own connection from a pool that grows on demand;
// a connection that saw an I/O error is dropped and replaced on the next call.
// Errors: server unreachable or timed out → kUnavailable; unexpected replies → kInternal.
// Consumers: Open() deletes consumers idle for an hour with nothing pending (left by processes
// that died), the destructor those this object used (redis_consumers.hpp).
#pragma once

#include <chrono>
#include <cstdint>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "adapters/redis/redis_connection.hpp"
#include "adapters/redis/redis_url.hpp"
#include "ports/task_queue.hpp"

namespace intake::adapters::redis {

struct RedisQueueOptions {
  // redis://[[user]:password@]host[:port][/db]; required.
  std::string url;
  // The stream holding the messages; created on first use.
  std::string stream = "intake:tasks";
  // The consumer group shared by every worker; created (from the stream's start) when missing.
  std::string group = "intake-workers";
  // A claimed message idle this long (no Extend) is reclaimed by the next Claim (XAUTOCLAIM).
  std::chrono::milliseconds visibility_timeout{30000};
  // The longest single blocking read: bounds how late a reclaimable message is seen by a waiting
  // Claim (WakeAll and same-stream enqueues interrupt it at once).
  std::chrono::milliseconds poll{200};
  // Bounds connecting, and every non-blocking command's round trip.
  std::chrono::milliseconds connect_timeout{5000};
};

class RedisTaskQueue : public ports::TaskQueue {
 public:
  // Parses the URL (kInvalidArgument, one line, no password), connects and creates the consumer
  // group with MKSTREAM (an existing group is fine). kUnavailable when the server does not answer
  // (the message names host:port).
  static Result<std::unique_ptr<RedisTaskQueue>> Open(const RedisQueueOptions& options);
  // Deletes the consumers this object read as that hold nothing (best effort, only over a
  // connection already open: never waits for an unreachable server).
  ~RedisTaskQueue() override;

  // Appends a message; the same task enqueued twice is delivered twice.
  Status Enqueue(std::string_view task_id) override;
  // REQUIRES: worker_id unique among the callers that may hold tasks at once (it names the
  // consumer). A Claim woken by WakeAll returns nullopt unless it already received a message.
  Result<std::optional<ports::ClaimedTask>> Claim(std::string_view worker_id,
                                                  std::chrono::milliseconds wait) override;
  // Resets the message's idle time. kConflict when it was reclaimed, released or acknowledged.
  Status Extend(const ports::ClaimedTask& task) override;
  // Removes the message whoever holds it now: the task is finished in the TaskStore.
  Status Ack(const ports::ClaimedTask& task) override;
  // Marks the message idle beyond any visibility timeout so the next Claim reclaims it; the
  // receipt stops being valid. A lost lease is not an error (nothing happens).
  Status Release(const ports::ClaimedTask& task) override;
  // Messages waiting or held (XLEN).
  Result<std::int64_t> Depth() override;
  // PING; the error says why in a few words.
  Status Check() override;
  // Interrupts every blocked read of a Claim begun before this call (CLIENT UNBLOCK, repeated
  // for up to a second for readers still on their way to the server). When the server is gone,
  // returns after at most one failed connect and the readers end at their socket timeouts.
  void WakeAll() override;

 private:
  class PooledConnection;  // returned to the pool (or dropped when broken) on destruction
  struct Message {
    std::string id;
    std::string task_id;
    std::int64_t deliveries = 1;
  };

  RedisTaskQueue(RedisQueueOptions options, RedisEndpoint endpoint);
  Result<PooledConnection> Acquire();
  void Return(std::unique_ptr<RedisConnection> conn);
  Status EnsureGroup(RedisConnection& conn);
  // Runs `args`, recreating the group once when the server answers NOGROUP (stream deleted).
  Result<RedisReply> GroupCommand(RedisConnection& conn, const std::vector<std::string>& args,
                                  std::chrono::milliseconds timeout);
  Result<std::optional<Message>> Reclaim(RedisConnection& conn, const std::string& consumer);
  Result<std::optional<Message>> ReadNew(RedisConnection& conn, const std::string& consumer,
                                         std::chrono::milliseconds block);
  // Runs a lease-guarded script (Extend, Release); true when the receipt still held the lease.
  Result<bool> Guarded(const std::string& script, const ports::ClaimedTask& task);
  Status Discard(RedisConnection& conn, const std::string& message_id);

  RedisQueueOptions options_;
  RedisEndpoint endpoint_;
  std::mutex mu_;
  std::vector<std::unique_ptr<RedisConnection>> idle_;
  std::uint64_t wake_generation_ = 0;
  // Connections now in a blocking read: client id → wake generation when the read began.
  std::map<std::int64_t, std::uint64_t> blocked_;
  std::set<std::string> consumers_;  // every worker_id Claim() was called with
};

}  // namespace intake::adapters::redis
