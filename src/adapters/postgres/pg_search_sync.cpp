#include "adapters/postgres/pg_search_sync.hpp"

#include <spdlog/spdlog.h>

#include <algorithm>

namespace intake::adapters::postgres {
namespace {

// Serializes rounds per schema, across processes (two-key advisory lock: class, schema hash).
constexpr std::string_view kLockSearch =
    "SELECT pg_advisory_xact_lock(1769236332, hashtext(COALESCE(current_schema()::text, '')))";
// No search_state row (unlogged, migration 006: emptied with patient_search after a crash) is -1:
// nothing indexed, persons of version 0 included.
constexpr std::string_view kSelectVersions =
    "SELECT (SELECT value FROM counters WHERE name = 'data_version'),"
    " COALESCE((SELECT search_version FROM search_state WHERE id = 1), -1)";
constexpr std::string_view kUpsertSearch =
    "INSERT INTO patient_search (id, mrn_folded, first_name_folded, last_name_folded)"
    " SELECT pe.id, p.mrn_folded, pe.first_name_folded, pe.last_name_folded"
    " FROM persons pe JOIN patients p ON p.id = pe.id"
    " WHERE pe.version > $1 AND pe.version <= $2"
    " ON CONFLICT (id) DO UPDATE SET mrn_folded = excluded.mrn_folded,"
    " first_name_folded = excluded.first_name_folded, last_name_folded = excluded.last_name_folded"
    " WHERE (patient_search.first_name_folded, patient_search.last_name_folded)"
    " IS DISTINCT FROM (excluded.first_name_folded, excluded.last_name_folded)";
constexpr std::string_view kSetSearchVersion =
    "INSERT INTO search_state (id, search_version) VALUES (1, $1)"
    " ON CONFLICT (id) DO UPDATE SET search_version = excluded.search_version";

}  // namespace

PgSearchSync::~PgSearchSync() { Stop(); }

void PgSearchSync::Stop() {
  {
    std::lock_guard lock(mu_);
    stop_ = true;
  }
  cv_.notify_all();
  if (thread_.joinable()) thread_.join();
}

void PgSearchSync::Nudge() {
  std::lock_guard lock(mu_);
  if (paused_ || stop_) return;
  wanted_ = true;
  StartOrWake();
}

void PgSearchSync::NudgeAfterBatch() {
  std::lock_guard lock(mu_);
  if (paused_ || stop_) return;
  last_batch_ = std::chrono::steady_clock::now();
  ++batch_nudges_;
  current_ = false;
  if (!deferred_) deferred_since_ = last_batch_;
  deferred_ = true;
  StartOrWake();
}

void PgSearchSync::StartOrWake() {
  if (!thread_.joinable()) {
    thread_ = std::thread([this] { Loop(); });
  } else {
    cv_.notify_one();
  }
}

void PgSearchSync::SetDeferral(std::chrono::milliseconds idle_gap,
                               std::chrono::milliseconds max_lag) {
  {
    std::lock_guard lock(mu_);
    idle_gap_ = idle_gap;
    max_lag_ = max_lag;
  }
  cv_.notify_one();
}

void PgSearchSync::SetPaused(bool paused) {
  std::lock_guard lock(mu_);
  paused_ = paused;
}

PgSearchSync::Waiting::Waiting(PgSearchSync& sync) : sync_(sync) {
  {
    std::lock_guard lock(sync_.mu_);
    ++sync_.waiting_;
  }
  sync_.cv_.notify_one();
}

PgSearchSync::Waiting::~Waiting() {
  std::lock_guard lock(sync_.mu_);
  --sync_.waiting_;
}

Result<std::int64_t> PgSearchSync::CatchUp() {
  auto round = Round(0);
  if (!round) return round.error();
  return round->copied;
}

Result<bool> PgSearchSync::Step() {
  auto round = Round(1);
  if (!round) return round.error();
  return round->current;
}

Result<PgSearchSync::RoundResult> PgSearchSync::Round(std::int64_t max_versions) {
  return db_->Transaction([&](PgConnection& conn) -> Result<RoundResult> {
    if (auto locked = conn.Exec(kLockSearch, {}, "lock search sync"); !locked) {
      return locked.error();
    }
    auto versions = conn.Exec(kSelectVersions, {}, "read search versions");
    if (!versions) return versions.error();
    const std::int64_t data_version = versions->Int(0, 0);
    const std::int64_t search_version = versions->Int(0, 1);
    if (search_version >= data_version) return RoundResult{0, true};
    const std::int64_t upto =
        max_versions > 0 ? std::min(data_version, search_version + max_versions) : data_version;
    auto copied = conn.Exec(kUpsertSearch, {search_version, upto}, "sync search index");
    if (!copied) return copied.error();
    auto set = conn.Exec(kSetSearchVersion, {upto}, "update search version");
    if (!set) return set.error();
    return RoundResult{copied->Affected(), upto == data_version};
  });
}

void PgSearchSync::TakeStep(std::unique_lock<std::mutex>& lock) {
  const std::uint64_t nudges = batch_nudges_;
  lock.unlock();
  const auto started = std::chrono::steady_clock::now();
  auto step = Step();
  const auto took = std::chrono::steady_clock::now() - started;
  lock.lock();
  if (!step) {
    spdlog::warn("postgres: search index step failed ({}); retrying", step.error().message);
    cv_.wait_for(lock, kRetryDelay, [&] { return stop_; });
    return;
  }
  if (*step && nudges == batch_nudges_) current_ = true;  // until the next nudge
  // Paced: as long again before the next step, so steps take at most half a core.
  cv_.wait_for(lock, took, [&] { return stop_ || wanted_; });
}

void PgSearchSync::Loop() {
  std::unique_lock lock(mu_);
  while (true) {
    cv_.wait(lock, [&] { return stop_ || wanted_ || deferred_; });
    if (stop_) return;
    if (!wanted_) {  // after batches only: wait for a pause in them, or for max_lag
      const auto due = std::min(last_batch_ + idle_gap_, deferred_since_ + max_lag_);
      if (std::chrono::steady_clock::now() < due) {
        if (StepDue()) {  // a batch waits for the apply lock: a core is idle
          TakeStep(lock);
          continue;
        }
        // A later batch moves last_batch_, a waiting batch asks for a step: look again.
        cv_.wait_until(lock, due, [&] { return stop_ || wanted_ || StepDue(); });
        continue;
      }
    }
    const bool asked = wanted_;
    wanted_ = false;
    deferred_ = false;
    lock.unlock();
    auto round = CatchUp();
    lock.lock();
    if (!round) {
      spdlog::warn("postgres: search index sync failed ({}); retrying", round.error().message);
      wanted_ = true;
      cv_.wait_for(lock, kRetryDelay, [&] { return stop_; });
    } else if (*round > 0 && asked) {
      // Rows of another process's batches may have committed during the round. (This process's
      // batches nudged meanwhile and wait for their pause.)
      wanted_ = true;
    }
  }
}

}  // namespace intake::adapters::postgres
