// PgRecordStore: ports::RecordStore on the patients / persons / visits tables of PostgreSQL
// (docs/schema.md, "PostgreSQL"), sharing the PgDatabase with the other PostgreSQL adapters.
//
// ApplyBatch runs in one transaction, set-based (a fixed number of statements per batch, never one
// per row): takes the schema's apply advisory lock (appliers in every process are serialized, so
// domain::PlanBatch plans on state nobody else changes), locks and checks the task row, loads the
// stored patients and visits the batch names with array parameters (= ANY($1::text[])), plans,
// writes the plan with INSERT … SELECT FROM unnest(…) / UPDATE … FROM unnest(…), stores the row
// errors (capped at domain::kMaxStoredRowErrors per task), adds the counters and moves rows_done.
// kNotFound: unknown task. kConflict: rows_done mismatch or the task is finished.
//
// Filters: LIKE '%needle%' on the folded columns (domain::FoldCase), with '%', '_' and '\' escaped
// so they match literally; served by GIN pg_trgm indexes (needles of 3+ characters). Only the
// filters given appear in the SQL, which is planned with the values. Thread-safe.
// REQUIRES: migrated database.
#pragma once

#include <memory>

#include "adapters/count_cache.hpp"
#include "adapters/postgres/pg_database.hpp"
#include "ports/record_store.hpp"

namespace intake::adapters::postgres {

class PgRecordStore : public ports::RecordStore {
 public:
  explicit PgRecordStore(std::shared_ptr<PgDatabase> db) : db_(std::move(db)) {}

  Result<domain::TaskCounters> ApplyBatch(const ports::BatchInput& batch) override;
  Result<ports::PatientPage> ListPatients(const ports::PatientFilter& filter, std::int64_t page,
                                          std::int64_t page_size) override;
  Result<ports::PatientView> GetPatient(std::int64_t id) override;
  Status Check() override;

 private:
  std::shared_ptr<PgDatabase> db_;
  CountCache counts_;
};

// `needle` as a LIKE pattern matching it literally anywhere: '%' + escaped + '%' ('\' escapes).
std::string ContainsPattern(std::string_view needle);

}  // namespace intake::adapters::postgres
