// PgRecordStore: ports::RecordStore on the patients / persons / visits tables of PostgreSQL
// (docs/schema.md, "PostgreSQL"), sharing the PgDatabase with the other PostgreSQL adapters.
//
// ApplyBatch runs in one transaction, set-based (a fixed number of statements per batch, never one
// per row): takes the schema's apply advisory lock (appliers in every process are serialized, so
// domain::PlanBatch plans on state nobody else changes), checks the task row, loads the
// stored patients and visits the batch names with array parameters (= ANY($1::text[])), plans,
// writes the plan with INSERT … SELECT FROM unnest(…) / UPDATE … FROM unnest(…), stores the row
// errors (capped at domain::kMaxStoredRowErrors per task), adds the counters and moves rows_done
// (checking the task row again: it is not locked before, so that the task's lease can be extended
// while its next batch writes). kNotFound: unknown task. kConflict: rows_done mismatch or the task
// is finished. A batch's turn is fixed once it holds the apply lock (ApplyBatchInTurn): a task's
// next batch then loads its stored rows while this one writes (OverlapsBatches).
//
// A batch loads the stored rows it names before taking the apply lock (so that it loads while
// another batch applies) and keeps them when counters.records_version, which statement triggers
// bump on every write to patients, persons or visits (migration 004), has not moved by the time
// it holds the lock, or has moved only by batches this store committed (adapters/write_log.hpp):
// then it loads again only the rows naming one of their MRNs or visit numbers. Otherwise (another
// process or other SQL wrote) it loads everything again under the lock, and the next batch loads
// under the lock only.
//
// Every person written carries the batch's data_version (persons.version), and a committed batch
// that wrote persons nudges the search syncer (pg_search_sync.hpp), which copies them into
// patient_search off the load's path.
//
// Filters: LIKE '%needle%' on folded columns (domain::FoldCase), with '%', '_' and '\' escaped so
// they match literally. Persons with version <= search_state.search_version are looked up in
// patient_search (GIN pg_trgm indexes; needles of 3+ characters); newer ones, which the syncer has
// not copied yet, by their own folded columns (an index range on persons.version): the result is
// exact whether or not the syncer keeps up. Only the filters given appear in the SQL, which is
// planned with the values. Thread-safe.
// REQUIRES: migrated database.
#pragma once

#include <atomic>
#include <functional>
#include <memory>

#include "adapters/count_cache.hpp"
#include "adapters/postgres/pg_database.hpp"
#include "adapters/postgres/pg_search_sync.hpp"
#include "adapters/write_log.hpp"
#include "ports/record_store.hpp"

namespace intake::adapters::postgres {

class PgRecordStore : public ports::RecordStore {
 public:
  explicit PgRecordStore(std::shared_ptr<PgDatabase> db) : db_(db), search_(std::move(db)) {}

  Result<domain::TaskCounters> ApplyBatch(const ports::BatchInput& batch) override;
  // True: a task's next batch loads its stored rows while this one writes.
  bool OverlapsBatches() const override { return true; }
  // `in_turn` is called once the batch holds the apply lock.
  Result<domain::TaskCounters> ApplyBatchInTurn(const ports::BatchInput& batch,
                                                const std::function<void()>& in_turn) override;
  Result<ports::PatientPage> ListPatients(const ports::PatientFilter& filter, std::int64_t page,
                                          std::int64_t page_size) override;
  Result<ports::PatientView> GetPatient(std::int64_t id) override;
  Status Check() override;
  void ReleaseIdleMemory() override { write_log_.Clear(); }

  // The search syncer (tests pause it, or run a round inline).
  PgSearchSync& search_sync() { return search_; }
  // Tests: runs after an early load, before the apply lock is taken. Set before any ApplyBatch.
  void SetAfterEarlyLoad(std::function<void()> hook) { after_early_load_ = std::move(hook); }
  // Tests: runs after a writing batch is planned, before it takes the counters row.
  void SetBeforeRecordsLock(std::function<void()> hook) { before_records_lock_ = std::move(hook); }

 private:
  std::shared_ptr<PgDatabase> db_;
  CountCache counts_;
  PgSearchSync search_;
  std::atomic<bool> load_early_{true};  // false after an early load that had to be redone whole
  WriteLog write_log_;
  std::function<void()> after_early_load_;
  std::function<void()> before_records_lock_;
};

// `needle` as a LIKE pattern matching it literally anywhere: '%' + escaped + '%' ('\' escapes).
std::string ContainsPattern(std::string_view needle);

}  // namespace intake::adapters::postgres
