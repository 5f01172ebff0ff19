#include "adapters/postgres/pg_task_queue.hpp"

#include <algorithm>
#include <random>

#include "adapters/postgres/pg_time.hpp"

namespace intake::adapters::postgres {
namespace {

// Enqueue leaves the lease alone: a worker may already have claimed the new task between its
// creation and this call, and clearing that lease would hand the task to a second worker.
constexpr std::string_view kTaskExists = "SELECT 1 FROM tasks WHERE task_id = $1";
constexpr std::string_view kNotify = "SELECT pg_notify($1, '')";
constexpr std::string_view kClaimNext =
    "UPDATE tasks SET lease_owner = $1, lease_token = $2, lease_expires_at = $3"
    " WHERE task_id = (SELECT task_id FROM tasks"
    " WHERE state IN ('PENDING', 'STARTED', 'PROGRESS')"
    " AND (lease_expires_at IS NULL OR lease_expires_at <= $4)"
    " ORDER BY seq FOR UPDATE SKIP LOCKED LIMIT 1)"
    " RETURNING task_id";
constexpr std::string_view kExtendLease =
    "UPDATE tasks SET lease_expires_at = $3 WHERE task_id = $1 AND lease_token = $2";
constexpr std::string_view kClearLeaseWithToken =
    "UPDATE tasks SET lease_owner = NULL, lease_token = NULL, lease_expires_at = NULL"
    " WHERE task_id = $1 AND lease_token = $2";
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

PgTaskQueue::PgTaskQueue(std::shared_ptr<PgDatabase> db, std::chrono::milliseconds lease,
                         std::chrono::milliseconds poll, const ports::Clock* clock)
    : db_(std::move(db)), lease_(lease), poll_(poll), clock_(clock) {}

PgTaskQueue::~PgTaskQueue() {
  std::lock_guard lock(listener_mu_);
  listener_.reset();
}

std::chrono::system_clock::time_point PgTaskQueue::Now() const {
  return clock_ != nullptr ? clock_->Now() : std::chrono::system_clock::now();
}

void PgTaskQueue::Signal() {
  {
    std::lock_guard lock(mu_);
    ++events_;
  }
  cv_.notify_all();
}

void PgTaskQueue::EnsureListener() {
  std::lock_guard lock(listener_mu_);
  if (listener_) return;
  listener_ = std::make_unique<PgListener>(db_, db_->notify_channel(), [this] { Signal(); });
  // Without LISTEN in time the waiters fall back to polling; the listener keeps trying.
  (void)listener_->WaitListening(db_->options().connect_timeout);
}

Status PgTaskQueue::Enqueue(std::string_view task_id) {
  auto cleared = db_->Transaction([&](PgConnection& conn) -> Status {
    auto r = conn.Exec(kTaskExists, {task_id}, "enqueue task");
    if (!r) return r.error();
    if (r->rows() == 0) return NotFound("task not found");
    auto n = conn.Exec(kNotify, {db_->notify_channel()}, "notify workers");
    if (!n) return n.error();
    return {};
  });
  if (cleared) Signal();
  return cleared;
}

Result<std::optional<ports::ClaimedTask>> PgTaskQueue::TryClaim(std::string_view worker_id) {
  std::string token = NewLeaseToken();
  return db_->Transaction([&](PgConnection& conn) -> Result<std::optional<ports::ClaimedTask>> {
    auto now = Now();
    auto r = conn.Exec(kClaimNext, {worker_id, token, ToMicros(now + lease_), ToMicros(now)},
                       "claim task");
    if (!r) return r.error();
    if (r->rows() == 0) return std::optional<ports::ClaimedTask>();
    return std::optional<ports::ClaimedTask>(ports::ClaimedTask{r->Text(0, 0), token});
  });
}

Result<std::optional<ports::ClaimedTask>> PgTaskQueue::Claim(std::string_view worker_id,
                                                             std::chrono::milliseconds wait) {
  auto deadline = std::chrono::steady_clock::now() + wait;
  std::uint64_t woken;
  {
    std::lock_guard lock(mu_);
    woken = woken_;
  }
  if (wait.count() > 0) EnsureListener();
  for (;;) {
    std::uint64_t events;
    {
      std::lock_guard lock(mu_);
      events = events_;
    }
    auto claimed = TryClaim(worker_id);
    if (!claimed || claimed->has_value()) return claimed;
    std::unique_lock lock(mu_);
    auto until = std::min(deadline, std::chrono::steady_clock::now() + poll_);
    cv_.wait_until(lock, until, [&] { return events_ != events || woken_ != woken; });
    if (woken_ != woken) return std::optional<ports::ClaimedTask>();
    if (std::chrono::steady_clock::now() >= deadline && events_ == events) {
      return std::optional<ports::ClaimedTask>();
    }
  }
}

Status PgTaskQueue::Extend(const ports::ClaimedTask& task) {
  return db_->Transaction([&](PgConnection& conn) -> Status {
    auto r = conn.Exec(kExtendLease, {task.task_id, task.receipt, ToMicros(Now() + lease_)},
                       "extend lease");
    if (!r) return r.error();
    if (r->Affected() == 0) return Conflict("lease lost: another worker holds the task");
    return {};
  });
}

Status PgTaskQueue::ClearLease(const ports::ClaimedTask& task, bool notify) {
  return db_->Transaction([&](PgConnection& conn) -> Status {
    auto r = conn.Exec(kClearLeaseWithToken, {task.task_id, task.receipt}, "clear lease");
    if (!r) return r.error();
    if (notify && r->Affected() > 0) {
      auto n = conn.Exec(kNotify, {db_->notify_channel()}, "notify workers");
      if (!n) return n.error();
    }
    return {};
  });
}

Status PgTaskQueue::Ack(const ports::ClaimedTask& task) { return ClearLease(task, false); }

Status PgTaskQueue::Release(const ports::ClaimedTask& task) {
  auto cleared = ClearLease(task, true);
  if (cleared) Signal();
  return cleared;
}

Result<std::int64_t> PgTaskQueue::Depth() {
  return db_->Transaction([&](PgConnection& conn) -> Result<std::int64_t> {
    auto r = conn.Exec(kCountUnfinished, {}, "queue depth");
    if (!r) return r.error();
    return r->Int(0, 0);
  });
}

Status PgTaskQueue::Check() { return db_->Ping(); }

void PgTaskQueue::WakeAll() {
  {
    std::lock_guard lock(mu_);
    ++woken_;
  }
  cv_.notify_all();
}

}  // namespace intake::adapters::postgres
