#include "adapters/sqlite/sqlite_task_queue.hpp"

#include <iterator>
#include <random>

#include "adapters/sqlite/sqlite_time.hpp"

namespace intake::adapters::sqlite {
namespace {

// Enqueue leaves the lease alone: a worker may already have claimed the new task between its
// creation and this call, and clearing that lease would hand the task to a second worker.
constexpr std::string_view kTaskExists = "SELECT 1 FROM tasks WHERE task_id = ?1";
constexpr std::string_view kClaimNext =
    "UPDATE tasks SET lease_owner = ?1, lease_token = ?2, lease_expires_at = ?3"
    " WHERE task_id = (SELECT task_id FROM tasks"
    " WHERE state IN ('PENDING', 'STARTED', 'PROGRESS')"
    " AND (lease_expires_at IS NULL OR lease_expires_at <= ?4) ORDER BY seq LIMIT 1)"
    " RETURNING task_id";
constexpr std::string_view kExtendLease =
    "UPDATE tasks SET lease_expires_at = ?3 WHERE task_id = ?1 AND lease_token = ?2";
constexpr std::string_view kClearLeaseWithToken =
    "UPDATE tasks SET lease_owner = NULL, lease_token = NULL, lease_expires_at = NULL"
    " WHERE task_id = ?1 AND lease_token = ?2";
constexpr std::string_view kCountUnfinished =
    "SELECT COUNT(*) FROM tasks WHERE state IN ('PENDING', 'STARTED', 'PROGRESS')";

// 128 random bits as 32 hex digits.
std::string NewLeaseToken() {
  thread_local std::mt19937_64 rng{[] {
    std::random_device rd;
    std::seed_seq seed{rd(), rd(), rd(), rd(), rd(), rd(), rd(), rd()};
    return std::mt19937_64(seed);
  }()};
  static constexpr char kHex[] = "0123456789abcdef";
  std::string token;
  for (int half = 0; half < 2; ++half) {
    std::uint64_t bits = rng();
    for (int i = 0; i < 16; ++i, bits >>= 4) token.push_back(kHex[bits & 0xf]);
  }
  return token;
}

}  // namespace

SqliteTaskQueue::SqliteTaskQueue(std::shared_ptr<SqliteDatabase> db,
                                 std::shared_ptr<SqliteInbox> inbox,
                                 std::chrono::milliseconds lease, std::chrono::milliseconds poll,
                                 const ports::Clock* clock)
    : db_(std::move(db)), inbox_(std::move(inbox)), lease_(lease), poll_(poll), clock_(clock) {}

std::chrono::system_clock::time_point SqliteTaskQueue::Now() const {
  return clock_ != nullptr ? clock_->Now() : std::chrono::system_clock::now();
}

Status SqliteTaskQueue::Enqueue(std::string_view task_id) {
  const auto in_records = [&] {
    return db_->Read([&](Connection& conn) -> Result<bool> {
      auto s = conn.Prepare(kTaskExists, "enqueue task");
      if (!s) return s.error();
      s->Bind(1, task_id);
      auto row = s->Step();
      if (!row) return row.error();
      return *row;
    });
  };
  auto found = in_records();
  if (found && !*found) {
    auto waiting = inbox_->Find(task_id);
    if (!waiting) return waiting.error();
    // Not in the inbox either: taken in (and forgotten) between the two reads, or unknown.
    found = waiting->has_value() ? Result<bool>(true) : in_records();
  }
  if (!found) return found.error();
  if (!*found) return NotFound("task not found");
  {
    std::lock_guard lock(mu_);
    ++enqueued_;
  }
  cv_.notify_all();
  return {};
}

Result<std::optional<ports::ClaimedTask>> SqliteTaskQueue::TryClaim(std::string_view worker_id) {
  std::string token = NewLeaseToken();
  return inbox_->WriteAdopting(
      *db_, [&](Connection& conn) -> Result<std::optional<ports::ClaimedTask>> {
        auto now = Now();
        auto s = conn.Prepare(kClaimNext, "claim task");
        if (!s) return s.error();
        s->Bind(1, worker_id).Bind(2, token).Bind(3, ToMicros(now + lease_)).Bind(4, ToMicros(now));
        auto row = s->Step();
        if (!row) return row.error();
        if (!*row) return std::optional<ports::ClaimedTask>();
        ports::ClaimedTask claimed{s->Text(0), token};
        if (auto done = s->Run(); !done) return done.error();
        return std::optional<ports::ClaimedTask>(std::move(claimed));
      });
}

Result<std::optional<ports::ClaimedTask>> SqliteTaskQueue::Claim(std::string_view worker_id,
                                                                 std::chrono::milliseconds wait) {
  auto deadline = std::chrono::steady_clock::now() + wait;
  std::uint64_t woken;
  {
    std::lock_guard lock(mu_);
    woken = woken_;
  }
  for (;;) {
    std::uint64_t enqueued;
    {
      std::lock_guard lock(mu_);
      enqueued = enqueued_;
    }
    auto claimed = TryClaim(worker_id);
    if (!claimed || claimed->has_value()) return claimed;
    std::unique_lock lock(mu_);
    auto until = std::min(deadline, std::chrono::steady_clock::now() + poll_);
    cv_.wait_until(lock, until, [&] { return enqueued_ != enqueued || woken_ != woken; });
    if (woken_ != woken) return std::optional<ports::ClaimedTask>();
    if (std::chrono::steady_clock::now() >= deadline && enqueued_ == enqueued) {
      return std::optional<ports::ClaimedTask>();
    }
  }
}

Status SqliteTaskQueue::Extend(const ports::ClaimedTask& task) {
  return db_->Write([&](Connection& conn) -> Status {
    auto s = conn.Prepare(kExtendLease, "extend lease");
    if (!s) return s.error();
    s->Bind(1, task.task_id).Bind(2, task.receipt).Bind(3, ToMicros(Now() + lease_));
    if (auto run = s->Run(); !run) return run.error();
    if (conn.Changes() == 0) return Conflict("lease lost: another worker holds the task");
    return {};
  });
}

Status SqliteTaskQueue::ClearLease(const ports::ClaimedTask& task) {
  return db_->Write([&](Connection& conn) -> Status {
    auto s = conn.Prepare(kClearLeaseWithToken, "clear lease");
    if (!s) return s.error();
    s->Bind(1, task.task_id).Bind(2, task.receipt);
    return s->Run();
  });
}

Status SqliteTaskQueue::Ack(const ports::ClaimedTask& task) { return ClearLease(task); }

Status SqliteTaskQueue::Release(const ports::ClaimedTask& task) {
  auto cleared = ClearLease(task);
  if (cleared) {
    {
      std::lock_guard lock(mu_);
      ++enqueued_;
    }
    cv_.notify_all();
  }
  return cleared;
}

Result<std::int64_t> SqliteTaskQueue::Depth() {
  return inbox_->ReadBeside(
      *db_, [&](Connection& conn, const std::vector<InboxTask>& waiting) -> Result<std::int64_t> {
        auto s = conn.Prepare(kCountUnfinished, "queue depth");
        if (!s) return s.error();
        auto row = s->Step();
        if (!row) return row.error();
        return s->Int(0) + std::ssize(waiting);
      });
}

Status SqliteTaskQueue::Check() {
  if (auto pinged = db_->Ping(); !pinged) return pinged;
  return inbox_->Check();
}

void SqliteTaskQueue::WakeAll() {
  {
    std::lock_guard lock(mu_);
    ++woken_;
  }
  cv_.notify_all();
}

}  // namespace intake::adapters::sqlite
