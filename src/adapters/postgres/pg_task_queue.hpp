// PgTaskQueue: ports::TaskQueue backed by the `tasks` table of PostgreSQL (docs/schema.md). A task
// is deliverable while its state is PENDING, STARTED or PROGRESS and its lease is unset or expired
// (lease_expires_at <= the clock's now, passed as a parameter). Claim() leases the lowest-seq such
// task in one statement (UPDATE … WHERE task_id = (SELECT … FOR UPDATE SKIP LOCKED LIMIT 1)), so
// any number of threads and processes never hold the same task at once. The receipt is a random
// lease token; a worker that dies simply stops extending and the task is claimable again once the
// lease expires.
//
// Waking: Enqueue() and Release() NOTIFY the schema's channel (PgDatabase::notify_channel) in their
// transaction. A waiting Claim() wakes on local enqueues at once, on notifications from any
// process through a PgListener (its own connection, started by the first waiting Claim), and
// otherwise looks at the table every `poll` interval; WakeAll() releases every waiter at once.
// Semantics otherwise as SqliteTaskQueue. Thread-safe. REQUIRES: migrated database.
#pragma once

#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <memory>
#include <mutex>

#include "adapters/postgres/pg_database.hpp"
#include "adapters/postgres/pg_listener.hpp"
#include "ports/clock.hpp"
#include "ports/task_queue.hpp"

namespace intake::adapters::postgres {

class PgTaskQueue : public ports::TaskQueue {
 public:
  // `lease`: how long a claim lasts without Extend(). `poll`: the longest a waiting Claim() goes
  // without looking at the table. `clock`: nullptr = system clock; else must outlive the queue.
  explicit PgTaskQueue(std::shared_ptr<PgDatabase> db,
                       std::chrono::milliseconds lease = std::chrono::seconds(30),
                       std::chrono::milliseconds poll = std::chrono::milliseconds(200),
                       const ports::Clock* clock = nullptr);
  ~PgTaskQueue() override;

  // kNotFound when the task row does not exist. Clears any lease and wakes waiters everywhere.
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
  Status ClearLease(const ports::ClaimedTask& task, bool notify);
  void Signal();          // bumps events_ and wakes local waiters
  void EnsureListener();  // starts the listener once, waiting briefly for LISTEN

  std::shared_ptr<PgDatabase> db_;
  std::chrono::milliseconds lease_;
  std::chrono::milliseconds poll_;
  const ports::Clock* clock_;
  std::mutex mu_;
  std::condition_variable cv_;
  std::uint64_t events_ = 0;  // bumped by enqueues, releases and notifications
  std::uint64_t woken_ = 0;   // bumped by WakeAll()
  std::mutex listener_mu_;
  std::unique_ptr<PgListener> listener_;  // declared last: stopped before the rest goes
};

}  // namespace intake::adapters::postgres
