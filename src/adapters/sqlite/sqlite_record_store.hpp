// SqliteRecordStore: ports::RecordStore on the patients / persons / visits tables
// (docs/schema.md), sharing the SqliteDatabase with the other SQLite adapters.
//
// ApplyBatch loads the stored patients and visits the batch names (one point lookup per distinct
// key) on a read connection, then runs one IMMEDIATE transaction (a bulk write: short writes
// waiting for the writer, such as a worker claiming a task, go first; it takes the inbox's tasks
// in first, SqliteInbox): checks the task's
// rows_done, brings what it loaded up to date (records_version, migration 003, and the store's
// log of its own batches, adapters/write_log.hpp: only rows that one of those batches named are
// loaded again; after any other writer, everything), plans the batch with domain::PlanBatch,
// writes the plan, adds the counters and the row errors (capped at domain::kMaxStoredRowErrors
// per task) to the task and moves its rows_done. Each person and visit row records the position
// (src_seq, src_row) that last wrote it.
// kNotFound: unknown task. kConflict: rows_done mismatch or the task is finished.
// ApplyBatches does the same for several tasks' batches in one transaction (docs/schema.md,
// "Groups of tasks"): all or none.
//
// Filters compare domain::FoldCase(needle) with the folded columns using instr(), so they are
// literal substrings ('%', '_' and '\' match themselves). Thread-safe. REQUIRES: migrated database.
#pragma once

#include <atomic>
#include <functional>
#include <memory>
#include <span>
#include <vector>

#include "adapters/count_cache.hpp"
#include "adapters/sqlite/sqlite_database.hpp"
#include "adapters/sqlite/sqlite_inbox.hpp"
#include "adapters/write_log.hpp"
#include "ports/record_store.hpp"

namespace intake::adapters::sqlite {

class SqliteRecordStore : public ports::RecordStore {
 public:
  static constexpr std::size_t kMaxGroupedBatches = 16;

  // `inbox`: the tasks accepted and not taken in yet (SqliteInbox); a batch's transaction takes
  // them in first, so that a task just created is known to it.
  SqliteRecordStore(std::shared_ptr<SqliteDatabase> db, std::shared_ptr<SqliteInbox> inbox)
      : db_(std::move(db)), inbox_(std::move(inbox)) {}

  Result<domain::TaskCounters> ApplyBatch(const ports::BatchInput& batch) override;
  // Several tasks' batches in one write transaction (one commit): each commit rewrites every page
  // its rows touched, and random keys touch most index pages of a large database.
  std::size_t MaxGroupedBatches() const override { return kMaxGroupedBatches; }
  Result<std::vector<domain::TaskCounters>> ApplyBatches(
      std::span<const ports::BatchInput> batches) override;
  Result<ports::PatientPage> ListPatients(const ports::PatientFilter& filter, std::int64_t page,
                                          std::int64_t page_size) override;
  Result<ports::PatientView> GetPatient(std::int64_t id) override;
  Status Check() override;
  void ReleaseIdleMemory() override;

  // Tests: runs after an early load, before the write transaction. Set before any ApplyBatch.
  void SetAfterEarlyLoad(std::function<void()> hook) { after_early_load_ = std::move(hook); }

 private:
  std::shared_ptr<SqliteDatabase> db_;
  std::shared_ptr<SqliteInbox> inbox_;
  CountCache counts_;
  std::atomic<bool> load_early_{true};  // false after an early load that had to be redone whole
  WriteLog write_log_;
  std::function<void()> after_early_load_;
};

}  // namespace intake::adapters::sqlite
