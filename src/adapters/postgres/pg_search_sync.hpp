// PgSearchSync: keeps patient_search (the pg_trgm GIN indexes of the substring filters, migration
// 003) in step with persons, off the load's path. ApplyBatch stamps every person it writes with the
// batch's data_version and then nudges (NudgeAfterBatch); a thread of this object copies the
// persons newer than search_state.search_version into patient_search and moves search_version up,
// in its own transaction on its own pooled connection, so the GIN work stays out of the batches'
// transactions.
//
// A round (CatchUp): under the schema's search advisory lock (syncers in every process take turns),
// read data_version D and search_version W; upsert the persons with W < version <= D; set
// search_version = D. Versions commit in order (the counters row is locked until the batch
// commits), so every version <= D is committed when D is read, and the round's claim holds: every
// person with version <= D is in patient_search as it is now. A person rewritten meanwhile has a
// version > D and is taken by a later round; reads treat it as not yet indexed
// (pg_patient_queries).
//
// Held back while the load runs: a batch's nudge (NudgeAfterBatch) starts a round only once no
// batch of this process has nudged for kIdleGap, or kMaxLag after the first nudge not yet taken,
// whichever comes first. The GIN inserts cost about as much CPU as the batch's own statements, and
// on the two cores of a small machine they ran beside the batches under the apply lock, which
// hold up every other batch (1M JSON: 22.9–23.9 s with no rounds during the load, 26.9–30.7 s with
// a round after every batch). A read that finds the index behind (Nudge) still starts a round at
// once: filters are exact either way, but scan the persons not yet indexed.
//
// Steps on idle cores: while a batch of this process waits for the apply lock (Waiting), the batch
// holding it runs on one core and the waiting one's core has little to do, so the syncer takes
// Steps meanwhile: each copies the persons of the oldest data version not yet indexed (one
// batch's, typically) in a transaction of its own; the next comes only if a batch still waits,
// and no sooner than the last one took (so steps take at most half a core: where PostgreSQL
// shares the machine, a waiting batch does not always mean an idle core). The index then keeps
// up with the load, and the round at the pause or at kMaxLag finds less left. Measured (1M JSON
// end to end, release builds in turns): without steps, a 10 s round landed among the last tasks
// (their time per record 1.05-1.63x the first ten's; above the 1.5x target in 3 of 15 runs);
// with steps unpaced 1.04-1.24x, but the load took about 8 % longer (the steps took cores the
// POSTs wanted); paced, 25.1-27.1 s against 26.2-30.7 s unpaced and 25.2-28.4 s without steps,
// growth 1.09-1.37x (three runs each).
//
// A process that dies between a batch and its round leaves rows behind: the next round in any
// process (after a batch, or nudged by a read that saw search_version < data_version) takes them.
// Both tables are UNLOGGED (migration 006), so a server crash empties them: no search_state row is
// W = -1, and the next round copies every person again. A failed round is retried after
// kRetryDelay. Thread-safe; the destructor Stops.
#pragma once

#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <memory>
#include <mutex>
#include <thread>

#include "adapters/postgres/pg_database.hpp"

namespace intake::adapters::postgres {

class PgSearchSync {
 public:
  static constexpr std::chrono::seconds kRetryDelay{1};
  static constexpr std::chrono::milliseconds kIdleGap{500};
  static constexpr std::chrono::seconds kMaxLag{10};

  explicit PgSearchSync(std::shared_ptr<PgDatabase> db) : db_(std::move(db)) {}
  ~PgSearchSync();
  PgSearchSync(const PgSearchSync&) = delete;
  PgSearchSync& operator=(const PgSearchSync&) = delete;

  // Asks the background thread for a round now (starting the thread on first use). Cheap; never
  // blocks on the database.
  void Nudge();
  // The same after a batch wrote persons: the round waits until the batches pause (idle_gap) or
  // max_lag after the first such nudge not yet taken.
  void NudgeAfterBatch();
  // Marks a batch of this process waiting for the apply lock for its lifetime (on the batch's
  // thread, around the lock statement).
  class Waiting {
   public:
    explicit Waiting(PgSearchSync& sync);
    ~Waiting();
    Waiting(const Waiting&) = delete;
    Waiting& operator=(const Waiting&) = delete;

   private:
    PgSearchSync& sync_;
  };
  // Replaces kIdleGap and kMaxLag (tests).
  void SetDeferral(std::chrono::milliseconds idle_gap, std::chrono::milliseconds max_lag);
  // One round on the calling thread: the persons copied (0 when patient_search was current).
  Result<std::int64_t> CatchUp();
  // A step on the calling thread: copies the persons of the oldest data version not yet indexed;
  // true when the index is then current.
  Result<bool> Step();
  // While paused, Nudge does nothing (tests use it to observe reads that lag behind the load).
  void SetPaused(bool paused);
  // Ends the background thread after its current round; later Nudges do nothing. Idempotent.
  void Stop();

 private:
  void Loop();
  // With mu_ held: starts the thread on first use, else wakes it.
  void StartOrWake();
  // A round up to `max_versions` data versions past the index (0: all). The persons copied, and
  // whether the index is then current.
  struct RoundResult {
    std::int64_t copied = 0;
    bool current = false;
  };
  Result<RoundResult> Round(std::int64_t max_versions);
  // With `lock` (on mu_) held: one Step without it, then the pause that paces the steps (or the
  // retry delay after a failure).
  void TakeStep(std::unique_lock<std::mutex>& lock);
  // With mu_ held: a Step is due (a batch waits, and the index may be behind).
  bool StepDue() const { return waiting_ > 0 && !current_; }

  std::shared_ptr<PgDatabase> db_;
  std::mutex mu_;
  std::condition_variable cv_;
  bool wanted_ = false;    // a round now
  bool deferred_ = false;  // a round once the batches pause, or at deferred_since_ + max_lag_
  std::chrono::steady_clock::time_point deferred_since_;
  std::chrono::steady_clock::time_point last_batch_;
  std::chrono::milliseconds idle_gap_ = kIdleGap;
  std::chrono::milliseconds max_lag_ = kMaxLag;
  int waiting_ = 0;       // batches of this process waiting for the apply lock
  bool current_ = false;  // a Step found the index current, and no batch nudged since
  std::uint64_t batch_nudges_ = 0;
  bool paused_ = false;
  bool stop_ = false;
  std::thread thread_;
};

}  // namespace intake::adapters::postgres
