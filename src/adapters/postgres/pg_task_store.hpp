// PgTaskStore: ports::TaskStore on the `tasks` and `task_errors` tables of PostgreSQL
// (docs/schema.md, "PostgreSQL"). Timestamps are BIGINT microseconds since the Unix epoch (UTC).
// seq comes from the column's identity sequence: strictly increasing across threads and processes
// (with gaps after failed inserts). A duplicate task id is kConflict. Thread-safe; shares the
// PgDatabase with the other PostgreSQL adapters. REQUIRES: migrated database.
#pragma once

#include <memory>

#include "adapters/postgres/pg_database.hpp"
#include "ports/task_store.hpp"

namespace intake::adapters::postgres {

class PgTaskStore : public ports::TaskStore {
 public:
  explicit PgTaskStore(std::shared_ptr<PgDatabase> db) : db_(std::move(db)) {}

  Result<ports::TaskRecord> CreateTask(const ports::NewTask& task) override;
  Result<ports::TaskRecord> GetTask(std::string_view task_id, bool with_errors) override;
  Result<ports::TaskPage> ListTasks(std::int64_t page, std::int64_t page_size) override;
  Status MarkStarted(std::string_view task_id, ports::TimePoint now) override;
  Status FinishTask(std::string_view task_id, domain::TaskState final_state,
                    std::optional<std::string> failure_reason, ports::TimePoint now) override;
  Result<ports::TaskRecord> ResetForReplay(std::string_view task_id) override;
  Result<std::map<domain::TaskState, std::int64_t>> CountByState() override;
  Status Check() override;

 private:
  std::shared_ptr<PgDatabase> db_;
};

}  // namespace intake::adapters::postgres
