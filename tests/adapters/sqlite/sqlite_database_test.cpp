// SqliteDatabase specifics: opening, pragmas, migrations (idempotent, concurrent), transactions and
// the busy → kUnavailable mapping, short writes before bulk ones.
#include "adapters/sqlite/sqlite_database.hpp"

#include <gtest/gtest.h>
#include <sqlite3.h>

#include <atomic>
#include <functional>
#include <future>
#include <mutex>
#include <thread>
#include <vector>

#include "adapters/contract/test_util.hpp"
#include "adapters/migrations.hpp"
#include "adapters/sqlite/sqlite_inbox.hpp"
#include "adapters/sqlite/sqlite_task_store.hpp"

namespace intake::adapters::testing {
namespace {

using namespace std::chrono_literals;
using sqlite::Connection;
using sqlite::SqliteDatabase;
using sqlite::SqliteOptions;

constexpr std::string_view kJournalMode = "PRAGMA journal_mode";
constexpr std::string_view kForeignKeys = "PRAGMA foreign_keys";
constexpr std::string_view kCountVersions = "SELECT COUNT(*) FROM schema_version";
constexpr std::string_view kInsertPatient = "INSERT INTO patients (mrn) VALUES (?1)";
constexpr std::string_view kCountPatients = "SELECT COUNT(*) FROM patients";
constexpr std::string_view kInsertOrphanVisit =
    "INSERT INTO visits (visit_account_number, patient_id, visit_date) VALUES ('V', 42, 'x')";

std::string DbPath(const TempDir& dir) { return (dir.path() / "a" / "b" / "intake.db").string(); }

Result<std::string> TextOf(SqliteDatabase& db, std::string_view sql) {
  return db.Read([&](Connection& conn) -> Result<std::string> {
    auto s = conn.Prepare(sql, "test query");
    if (!s) return ErrorFrom(s);
    auto row = s->Step();
    if (!row) return ErrorFrom(row);
    return s->Text(0);
  });
}

int LatestVersion() { return migrations::kSqlite.back().version; }

TEST(SqliteDatabase, OpenCreatesFoldersAppliesPragmasAndMigrates) {
  TempDir dir;
  auto db = SqliteDatabase::Open(DbPath(dir));
  ASSERT_OK(db);
  EXPECT_TRUE(std::filesystem::exists(DbPath(dir)));
  EXPECT_EQ(*TextOf(**db, kJournalMode), "wal");
  EXPECT_EQ(*TextOf(**db, kForeignKeys), "1");
  EXPECT_EQ(*(*db)->SchemaVersion(), LatestVersion());
  EXPECT_EQ(*TextOf(**db, kCountVersions), std::to_string(migrations::kSqlite.size()));
}

TEST(SqliteDatabase, MigrateIsIdempotent) {
  TempDir dir;
  auto db = SqliteDatabase::Open(DbPath(dir));
  ASSERT_OK(db);
  ASSERT_OK((*db)->Migrate());
  ASSERT_OK((*db)->Migrate());
  EXPECT_EQ(*TextOf(**db, kCountVersions), std::to_string(migrations::kSqlite.size()));
}

TEST(SqliteDatabase, OpenWithoutMigrationLeavesSchemaEmpty) {
  TempDir dir;
  SqliteOptions options;
  options.migrate_on_open = false;
  auto db = SqliteDatabase::Open(DbPath(dir), options);
  ASSERT_OK(db);
  EXPECT_FALSE((*db)->SchemaVersion().has_value());  // no schema_version table yet
  ASSERT_OK((*db)->Migrate());
  EXPECT_EQ(*(*db)->SchemaVersion(), LatestVersion());
}

TEST(SqliteDatabase, ConcurrentOpensOfANewFileMigrateOnce) {
  TempDir dir;
  std::vector<std::thread> threads;
  std::mutex mu;
  std::vector<std::string> failures;
  for (int i = 0; i < 4; ++i) {
    threads.emplace_back([&] {
      auto opened = SqliteDatabase::Open(DbPath(dir));
      if (!opened) {
        std::lock_guard lock(mu);
        failures.push_back(opened.error().message);
      }
    });
  }
  for (auto& t : threads) t.join();
  EXPECT_TRUE(failures.empty()) << failures.front();
  auto db = SqliteDatabase::Open(DbPath(dir));
  ASSERT_OK(db);
  EXPECT_EQ(*TextOf(**db, kCountVersions), std::to_string(migrations::kSqlite.size()));
}

TEST(SqliteDatabase, FailedWriteRollsBack) {
  TempDir dir;
  auto db = SqliteDatabase::Open(DbPath(dir));
  ASSERT_OK(db);
  Status failed = (*db)->Write([](Connection& conn) -> Status {
    auto s = conn.Prepare(kInsertPatient, "insert");
    if (!s) return ErrorFrom(s);
    s->Bind(1, "M1");
    if (auto run = s->Run(); !run) return run;
    return Internal("give up");
  });
  EXPECT_CODE(failed, ErrorCode::kInternal);
  EXPECT_EQ(*TextOf(**db, kCountPatients), "0");
}

// The order in which writes ran, from several threads.
class WriteOrder {
 public:
  void Record(const std::string& who) {
    std::lock_guard lock(mu_);
    order_.push_back(who);
  }
  // A write of `db` that records `who`: a bulk write, or a short one.
  void Write(SqliteDatabase& db, const std::string& who, bool bulk) {
    const auto fn = [&](Connection&) -> Status {
      Record(who);
      return {};
    };
    EXPECT_OK(bulk ? db.WriteBulk(fn) : db.Write(fn));
  }
  std::vector<std::string> order() const {
    std::lock_guard lock(mu_);
    return order_;
  }

 private:
  mutable std::mutex mu_;
  std::vector<std::string> order_;
};

// A bulk write that holds the writer from construction until Release(), then records `who`.
class HeldBulkWrite {
 public:
  HeldBulkWrite(SqliteDatabase& db, WriteOrder& order, std::string who,
                std::function<void()> after = {}) {
    std::promise<void> holding;
    thread_ =
        std::thread([&db, &order, &holding, this, who = std::move(who), after = std::move(after)] {
          EXPECT_OK(db.WriteBulk([&](Connection&) -> Status {
            holding.set_value();
            release_.get_future().wait();
            order.Record(who);
            return {};
          }));
          if (after) after();
        });
    holding.get_future().wait();
  }
  ~HeldBulkWrite() {
    if (!released_) Release();  // a failed assertion returned early
    Join();
  }
  void Release() {
    released_ = true;
    release_.set_value();
  }
  void Join() {
    if (thread_.joinable()) thread_.join();
  }

 private:
  std::promise<void> release_;
  bool released_ = false;
  std::thread thread_;
};

// A short write waiting for the writer goes before a bulk write (a load's batch) waiting too, and
// so does the next short write of the same request (recording a task, then queueing it): a request
// waits behind at most the batch in flight.
// (A grace far above any scheduling delay, and no giving up, so that only the rule decides.)
TEST(SqliteDatabase, ShortWritesGoBeforeWaitingBulkWrites) {
  TempDir dir;
  SqliteOptions options;
  options.short_write_grace = 300ms;
  options.max_bulk_yield = 60s;
  auto db = SqliteDatabase::Open(DbPath(dir), options);
  ASSERT_OK(db);
  WriteOrder order;
  HeldBulkWrite first(**db, order, "first batch");
  std::thread batch([&] { order.Write(**db, "second batch", true); });
  std::this_thread::sleep_for(100ms);  // the second batch is waiting for the writer
  std::thread request([&] {
    for (const char* step : {"request: task", "request: queue"}) order.Write(**db, step, false);
  });
  std::this_thread::sleep_for(200ms);  // the request is waiting too
  first.Release();
  first.Join();
  batch.join();
  request.join();
  EXPECT_EQ(order.order(), (std::vector<std::string>{"first batch", "request: task",
                                                     "request: queue", "second batch"}));
}

// A worker's short writes right after its bulk write (its tasks' SUCCESS, its next claims) go
// before another bulk write that has waited for that one, even past max_bulk_yield since it came:
// the time spent waiting for another bulk write is not yielding to short ones. Otherwise the two
// workers would prepare their groups at the same time, and the writer would idle meanwhile.
TEST(SqliteDatabase, AWorkersWritesRightAfterItsBulkWriteGoBeforeTheNextBulkWrite) {
  TempDir dir;
  SqliteOptions options;
  options.bulk_write_grace = 2s;  // far above any scheduling delay: only the rule decides
  options.max_bulk_yield = 100ms;
  auto db = SqliteDatabase::Open(DbPath(dir), options);
  ASSERT_OK(db);
  WriteOrder order;
  HeldBulkWrite worker(**db, order, "first group",
                       [&] { order.Write(**db, "first worker: its tasks done", false); });
  std::thread other([&] { order.Write(**db, "second group", true); });
  std::this_thread::sleep_for(300ms);  // the second group has waited 3 × max_bulk_yield
  worker.Release();
  worker.Join();
  other.join();
  EXPECT_EQ(order.order(), (std::vector<std::string>{"first group", "first worker: its tasks done",
                                                     "second group"}));
}

// No grace after a thread's own bulk write: a CSV task's batches follow each other at once.
TEST(SqliteDatabase, AThreadsBulkWritesFollowEachOtherAtOnce) {
  TempDir dir;
  SqliteOptions options;
  options.bulk_write_grace = 5s;
  options.max_bulk_yield = 60s;
  auto db = SqliteDatabase::Open(DbPath(dir), options);
  ASSERT_OK(db);
  WriteOrder order;
  const auto start = std::chrono::steady_clock::now();
  for (const char* batch : {"batch 1", "batch 2", "batch 3"}) order.Write(**db, batch, true);
  EXPECT_LT(std::chrono::steady_clock::now() - start, 2500ms);
  EXPECT_EQ(order.order().size(), 3u);
}

// Short writes one after another (each within the grace of the last) hold a bulk write back for
// max_bulk_yield at most: then it takes its turn while they go on.
TEST(SqliteDatabase, BulkWriteIsHeldBackForAtMostMaxBulkYield) {
  TempDir dir;
  SqliteOptions options;
  options.short_write_grace = 200ms;
  options.max_bulk_yield = 600ms;
  auto db = SqliteDatabase::Open(DbPath(dir), options);
  ASSERT_OK(db);
  std::atomic<bool> stop{false};
  std::atomic<int> short_writes{0};
  std::thread stream([&] {
    const auto until = std::chrono::steady_clock::now() + 20s;
    while (!stop && std::chrono::steady_clock::now() < until) {
      EXPECT_OK((*db)->Write([&](Connection&) -> Status { return {}; }));
      ++short_writes;
    }
  });
  while (short_writes < 3) std::this_thread::sleep_for(1ms);
  const auto start = std::chrono::steady_clock::now();
  EXPECT_OK((*db)->WriteBulk([&](Connection&) -> Status { return {}; }));
  const auto waited = std::chrono::steady_clock::now() - start;
  const bool stream_still_running = !stop.exchange(true);
  stream.join();
  EXPECT_TRUE(stream_still_running);
  EXPECT_GE(waited, 550ms) << "the bulk write should have yielded to the stream first";
  EXPECT_LT(waited, 15s) << "the bulk write waited for the stream to end";
}

TEST(SqliteDatabase, ForeignKeyViolationIsConflict) {
  TempDir dir;
  auto db = SqliteDatabase::Open(DbPath(dir));
  ASSERT_OK(db);
  Status orphan = (*db)->Write([](Connection& conn) -> Status {
    auto s = conn.Prepare(kInsertOrphanVisit, "insert visit");
    if (!s) return ErrorFrom(s);
    return s->Run();
  });
  EXPECT_CODE(orphan, ErrorCode::kConflict);
}

// Both files: the records (a task's start) and the inbox (a task's creation).
TEST(SqliteDatabase, BusyAfterRetriesIsUnavailable) {
  TempDir dir;
  SqliteOptions options;
  options.busy_timeout = 20ms;
  options.busy_attempts = 2;
  options.first_backoff = 1ms;
  auto db = SqliteDatabase::Open(DbPath(dir), options);
  ASSERT_OK(db);
  auto inbox = sqlite::SqliteInbox::Open(*db, options);
  ASSERT_OK(inbox);
  sqlite::SqliteTaskStore tasks(*db, *inbox);
  const auto now = std::chrono::system_clock::now();
  for (const std::string& path : {(*inbox)->path(), DbPath(dir)}) {
    SCOPED_TRACE(path);
    sqlite3* other = nullptr;
    ASSERT_EQ(sqlite3_open(path.c_str(), &other), SQLITE_OK);
    ASSERT_EQ(sqlite3_exec(other, "BEGIN IMMEDIATE", nullptr, nullptr, nullptr), SQLITE_OK);
    const bool records = path == DbPath(dir);
    if (records) {
      EXPECT_CODE(tasks.MarkStarted("t", now), ErrorCode::kUnavailable);
    } else {
      auto created = tasks.CreateTask({"t", "t.csv", 1, now});
      EXPECT_CODE(created, ErrorCode::kUnavailable);
      EXPECT_EQ(ErrorFrom(created).message.find("t.csv"), std::string::npos);
    }
    sqlite3_exec(other, "ROLLBACK", nullptr, nullptr, nullptr);
    sqlite3_close(other);
    if (records) {
      EXPECT_OK(tasks.MarkStarted("t", now));
    } else {
      EXPECT_OK(tasks.CreateTask({"t", "t.csv", 1, now}));
    }
  }
}

TEST(SqliteDatabase, MemoryDatabaseIsOneDatabaseForEveryThread) {
  auto db = SqliteDatabase::Open(std::string(SqliteDatabase::kMemoryPath));
  ASSERT_OK(db);
  auto inbox = sqlite::SqliteInbox::Open(*db);
  ASSERT_OK(inbox);
  sqlite::SqliteTaskStore tasks(*db, *inbox);
  std::vector<std::thread> threads;
  for (int i = 0; i < 4; ++i) {
    threads.emplace_back([&, i] {
      EXPECT_OK(
          tasks.CreateTask({std::to_string(i), "f.csv", 1, std::chrono::system_clock::now()}));
    });
  }
  for (auto& t : threads) t.join();
  auto page = tasks.ListTasks(1, 10);
  ASSERT_OK(page);
  EXPECT_EQ(page->total, 4);
}

// The writer's WAL is checkpointed in the background and restarts: a long run of commits leaves
// the rows in the database file and the WAL near the threshold, not growing without end.
TEST(SqliteDatabase, WriterWalIsCheckpointedAndStaysBounded) {
  TempDir dir;
  SqliteOptions options;
  options.wal_checkpoint_pages = 64;
  auto db = SqliteDatabase::Open(DbPath(dir), options);
  ASSERT_OK(db);
  const std::string padding(2000, 'x');  // about half a page per row
  for (int i = 0; i < 2000; ++i) {
    ASSERT_OK((*db)->Write([&](Connection& conn) -> Status {
      auto s = conn.Prepare(kInsertPatient, "insert");
      if (!s) return ErrorFrom(s);
      s->Bind(1, std::to_string(i) + padding);
      return s->Run();
    }));
  }
  EXPECT_EQ(*TextOf(**db, kCountPatients), "2000");
  const auto wal = std::filesystem::file_size(DbPath(dir) + "-wal");
  const auto main_file = std::filesystem::file_size(DbPath(dir));
  EXPECT_GT(main_file, 2000u * 2000u) << "rows never reached the database file";
  // Without checkpoints the 2000 commits leave a WAL of about 50 MB (checked).
  EXPECT_LT(wal, 10u << 20) << "the WAL grows without restarting";
}

TEST(SqliteDatabase, ReleaseMemoryKeepsTheDatabaseUsable) {
  TempDir dir;
  auto db = SqliteDatabase::Open(DbPath(dir));
  ASSERT_OK(db);
  ASSERT_OK((*db)->Write([&](Connection& conn) -> Status {
    auto s = conn.Prepare(kInsertPatient, "insert");
    if (!s) return ErrorFrom(s);
    s->Bind(1, "M1");
    return s->Run();
  }));
  (*db)->ReleaseMemory();
  EXPECT_EQ(*TextOf(**db, kCountPatients), "1");
}

TEST(SqliteDatabase, UnopenablePathIsUnavailable) {
  TempDir dir;
  std::filesystem::create_directories(dir.path() / "is-a-folder.db");
  auto db = SqliteDatabase::Open((dir.path() / "is-a-folder.db").string());
  EXPECT_CODE(db, ErrorCode::kUnavailable);
}

}  // namespace
}  // namespace intake::adapters::testing
