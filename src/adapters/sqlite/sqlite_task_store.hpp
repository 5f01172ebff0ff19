// SqliteTaskStore: ports::TaskStore on the `tasks` and `task_errors` tables (docs/schema.md) and
// the inbox (SqliteInbox): CreateTask records a task in the inbox, which assigns its seq (strictly
// increasing across threads and processes; tasks are never deleted), so that a request never waits
// for a load's write transaction. The writes that need a task take the inbox's tasks in first;
// the reads look in both. Timestamps are stored as integer microseconds since the Unix epoch
// (UTC). Thread-safe; shares the SqliteDatabase with the other SQLite adapters. REQUIRES: the
// database is migrated.
#pragma once

#include <memory>

#include "adapters/sqlite/sqlite_database.hpp"
#include "adapters/sqlite/sqlite_inbox.hpp"
#include "ports/task_store.hpp"

namespace intake::adapters::sqlite {

class SqliteTaskStore : public ports::TaskStore {
 public:
  SqliteTaskStore(std::shared_ptr<SqliteDatabase> db, std::shared_ptr<SqliteInbox> inbox)
      : db_(std::move(db)), inbox_(std::move(inbox)) {}

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
  std::shared_ptr<SqliteDatabase> db_;
  std::shared_ptr<SqliteInbox> inbox_;
};

}  // namespace intake::adapters::sqlite
