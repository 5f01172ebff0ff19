// SqliteTaskQueue: ports::TaskQueue backed by the `tasks` table (docs/schema.md) and the inbox of
// newly accepted tasks (SqliteInbox), which each claim takes in first. A task is
// deliverable while its state is PENDING, STARTED or PROGRESS and its lease is unset or expired;
// Claim() takes the lowest seq such task and leases it (lease_owner, a random lease_token that is
// the receipt, lease_expires_at) inside one IMMEDIATE transaction, so several threads and several
// processes on the same file never hold the same task at once.
//
// Waiting: Claim() retries when Enqueue() in this process signals, or every poll interval (which
// is how other processes' enqueues are seen), until `wait` passes or WakeAll() is called.
// Lease times use the clock given (default: the system clock; processes sharing a file must agree
// on wall time). Ack requires the task already finished in the TaskStore: the table is the queue,
// so an unfinished task stays deliverable. Thread-safe. REQUIRES: migrated database.
#pragma once

#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <memory>
#include <mutex>

#include "adapters/sqlite/sqlite_database.hpp"
#include "adapters/sqlite/sqlite_inbox.hpp"
#include "ports/clock.hpp"
#include "ports/task_queue.hpp"

namespace intake::adapters::sqlite {

class SqliteTaskQueue : public ports::TaskQueue {
 public:
  // `lease`: how long a claim lasts without Extend(). `poll`: the longest a waiting Claim() goes
  // without looking at the table. `clock`: nullptr = system clock; else must outlive the queue.
  SqliteTaskQueue(std::shared_ptr<SqliteDatabase> db, std::shared_ptr<SqliteInbox> inbox,
                  std::chrono::milliseconds lease = std::chrono::seconds(30),
                  std::chrono::milliseconds poll = std::chrono::milliseconds(200),
                  const ports::Clock* clock = nullptr);

  // kNotFound when the task row does not exist. Clears any lease and wakes local waiters.
  Status Enqueue(std::string_view task_id) override;
  Result<std::optional<ports::ClaimedTask>> Claim(std::string_view worker_id,
                                                  std::chrono::milliseconds wait) override;
  Status Extend(const ports::ClaimedTask& task) override;
  // Ack and Release clear the lease when the receipt still holds it; a lost lease is not an error.
  Status Ack(const ports::ClaimedTask& task) override;
  Status Release(const ports::ClaimedTask& task) override;
  Result<std::int64_t> Depth() override;
  Status Check() override;
  void WakeAll() override;

 private:
  std::chrono::system_clock::time_point Now() const;
  Result<std::optional<ports::ClaimedTask>> TryClaim(std::string_view worker_id);
  Status ClearLease(const ports::ClaimedTask& task);

  std::shared_ptr<SqliteDatabase> db_;
  std::shared_ptr<SqliteInbox> inbox_;
  std::chrono::milliseconds lease_;
  std::chrono::milliseconds poll_;
  const ports::Clock* clock_;
  std::mutex mu_;
  std::condition_variable cv_;
  std::uint64_t enqueued_ = 0;  // bumped by Enqueue()
  std::uint64_t woken_ = 0;     // bumped by WakeAll()
};

}  // namespace intake::adapters::sqlite
