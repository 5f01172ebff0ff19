#include "adapters/sqlite/sqlite_backend.hpp"

#include "adapters/contract/test_util.hpp"
#include "adapters/sqlite/sqlite_database.hpp"
#include "adapters/sqlite/sqlite_idempotency_store.hpp"
#include "adapters/sqlite/sqlite_record_store.hpp"
#include "adapters/sqlite/sqlite_task_queue.hpp"
#include "adapters/sqlite/sqlite_task_store.hpp"

namespace intake::adapters::testing {
namespace {

using namespace intake::adapters::sqlite;

class SqliteBackend : public Backend {
 public:
  // `dir` is owned by the first backend of a file; peers share the path only.
  SqliteBackend(std::shared_ptr<TempDir> dir, std::shared_ptr<SqliteDatabase> db,
                std::shared_ptr<SqliteInbox> inbox)
      : dir_(std::move(dir)),
        db_(std::move(db)),
        inbox_(std::move(inbox)),
        records_(db_, inbox_),
        tasks_(db_, inbox_),
        idempotency_(db_) {}

  static std::unique_ptr<Backend> Create(std::shared_ptr<TempDir> dir) {
    SqliteOptions options;
    options.busy_timeout = std::chrono::milliseconds(10000);
    auto db = SqliteDatabase::Open((dir->path() / "data" / "intake.db").string(), options);
    if (!db) {
      ADD_FAILURE() << "open: " << Describe(db);
      return nullptr;
    }
    auto inbox = SqliteInbox::Open(*db, options);
    if (!inbox) {
      ADD_FAILURE() << "open the inbox: " << Describe(inbox);
      return nullptr;
    }
    return std::make_unique<SqliteBackend>(std::move(dir), std::move(*db), std::move(*inbox));
  }

  ports::RecordStore& records() override { return records_; }
  ports::TaskStore& tasks() override { return tasks_; }
  ports::IdempotencyStore& idempotency() override { return idempotency_; }
  std::unique_ptr<ports::TaskQueue> NewQueue(std::chrono::milliseconds lease,
                                             std::chrono::milliseconds poll,
                                             const ports::Clock* clock) override {
    return std::make_unique<SqliteTaskQueue>(db_, inbox_, lease, poll, clock);
  }
  std::unique_ptr<Backend> OpenPeer() override { return Create(dir_); }

 private:
  std::shared_ptr<TempDir> dir_;
  std::shared_ptr<SqliteDatabase> db_;
  std::shared_ptr<SqliteInbox> inbox_;
  SqliteRecordStore records_;
  SqliteTaskStore tasks_;
  SqliteIdempotencyStore idempotency_;
};

}  // namespace

BackendFactory SqliteBackendFactory() {
  return {"Sqlite", [] { return SqliteBackend::Create(std::make_shared<TempDir>()); }};
}

}  // namespace intake::adapters::testing
