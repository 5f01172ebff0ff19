// The inbox (SqliteInbox): a task is recorded without the records database's writer, is seen by
// every reader at once, is taken in by the first write that needs it, and is never seen twice or
// lost, whatever happens between the two files.
#include "adapters/sqlite/sqlite_inbox.hpp"

#include <gtest/gtest.h>
#include <sqlite3.h>

#include <chrono>
#include <filesystem>
#include <future>
#include <thread>

#include "adapters/contract/test_util.hpp"
#include "adapters/sqlite/sqlite_record_store.hpp"
#include "adapters/sqlite/sqlite_task_queue.hpp"
#include "adapters/sqlite/sqlite_task_store.hpp"

namespace intake::adapters::testing {
namespace {

using namespace std::chrono_literals;
using domain::TaskState;
using sqlite::Connection;
using sqlite::SqliteDatabase;
using sqlite::SqliteInbox;
using sqlite::SqliteTaskQueue;
using sqlite::SqliteTaskStore;

class SqliteInboxTest : public ::testing::Test {
 protected:
  void SetUp() override { Open(); }

  void Open() {
    auto db = SqliteDatabase::Open(Path());
    ASSERT_OK(db);
    db_ = *db;
    auto inbox = SqliteInbox::Open(db_);
    ASSERT_OK(inbox);
    inbox_ = *inbox;
    tasks_ = std::make_unique<SqliteTaskStore>(db_, inbox_);
    queue_ = std::make_unique<SqliteTaskQueue>(db_, inbox_, 30s, 20ms);
  }

  void Close() {
    queue_.reset();
    tasks_.reset();
    inbox_.reset();
    db_.reset();
  }

  std::string Path() const { return (dir_.path() / "data" / "intake.db").string(); }

  ports::TaskRecord Create(const std::string& id) {
    auto task = tasks_->CreateTask({id, id + ".csv", 3, std::chrono::system_clock::now()});
    EXPECT_OK(task);
    return task ? *task : ports::TaskRecord{};
  }

  // How many rows the records' `tasks` table holds.
  std::int64_t RecordsTasks() {
    auto n = db_->Read([](Connection& conn) -> Result<std::int64_t> {
      auto s = conn.Prepare("SELECT COUNT(*) FROM tasks", "count");
      if (!s) return ErrorFrom(s);
      if (auto row = s->Step(); !row) return ErrorFrom(row);
      return s->Int(0);
    });
    EXPECT_OK(n);
    return n ? *n : -1;
  }

  // A records write that takes the inbox in and commits, and the inbox not told (a crash, or a
  // failed Forget).
  void TakeInWithoutForgetting() {
    EXPECT_OK(db_->Write([&](Connection& conn) -> Status {
      auto taken = inbox_->AdoptInto(conn);
      if (!taken) return ErrorFrom(taken);
      return {};
    }));
  }

  std::size_t InboxSize() {
    auto all = inbox_->All();
    EXPECT_OK(all);
    return all ? all->size() : 0;
  }

  TempDir dir_;
  std::shared_ptr<SqliteDatabase> db_;
  std::shared_ptr<SqliteInbox> inbox_;
  std::unique_ptr<SqliteTaskStore> tasks_;
  std::unique_ptr<SqliteTaskQueue> queue_;
};

TEST_F(SqliteInboxTest, TheInboxIsAFileBesideTheRecords) {
  EXPECT_EQ(SqliteInbox::PathFor("/data/intake.db"), "/data/intake-inbox.db");
  EXPECT_EQ(SqliteInbox::PathFor("intake"), "intake-inbox");
  EXPECT_EQ(SqliteInbox::PathFor(":memory:"), ":memory:");
  EXPECT_TRUE(std::filesystem::exists(dir_.path() / "data" / "intake-inbox.db"));
}

// The reason for the inbox: a request records its task while a load's write transaction holds
// the records file, and every reader sees the task at once.
TEST_F(SqliteInboxTest, ATaskIsRecordedWhileALoadHoldsTheRecordsWriter) {
  std::promise<void> holding, release;
  std::thread load([&] {
    EXPECT_OK(db_->WriteBulk([&](Connection&) -> Status {
      holding.set_value();
      release.get_future().wait();
      return {};
    }));
  });
  holding.get_future().wait();
  auto created = std::async(std::launch::async, [&] { return Create("t1"); });
  const bool in_time = created.wait_for(10s) == std::future_status::ready;
  EXPECT_TRUE(in_time) << "recording the task waited for the load's transaction";
  release.set_value();
  load.join();
  const ports::TaskRecord task = created.get();
  EXPECT_EQ(task.state, TaskState::kPending);
  EXPECT_GT(task.seq, 0);

  auto read = tasks_->GetTask("t1", true);
  ASSERT_OK(read);
  EXPECT_EQ(read->state, TaskState::kPending);
  EXPECT_EQ(read->seq, task.seq);
  EXPECT_EQ(read->records_received, 3);
  EXPECT_EQ(RecordsTasks(), 0);  // nothing has taken it in yet
  EXPECT_OK(queue_->Enqueue("t1"));
  auto depth = queue_->Depth();
  ASSERT_OK(depth);
  EXPECT_EQ(*depth, 1);
  auto counts = tasks_->CountByState();
  ASSERT_OK(counts);
  EXPECT_EQ(counts->at(TaskState::kPending), 1);
  auto page = tasks_->ListTasks(1, 10);
  ASSERT_OK(page);
  EXPECT_EQ(page->total, 1);
  ASSERT_EQ(page->tasks.size(), 1u);
  EXPECT_EQ(page->tasks[0].task_id, "t1");
}

// A claim takes the inbox in: the task is in the records, with the seq the inbox gave it, and the
// inbox forgets it.
TEST_F(SqliteInboxTest, AClaimTakesTheInboxInAndTheInboxForgetsIt) {
  const auto a = Create("a");
  const auto b = Create("b");
  EXPECT_LT(a.seq, b.seq);
  auto claimed = queue_->Claim("w", 0ms);
  ASSERT_OK(claimed);
  ASSERT_TRUE(claimed->has_value());
  EXPECT_EQ((*claimed)->task_id, "a");
  EXPECT_EQ(RecordsTasks(), 2);
  EXPECT_EQ(InboxSize(), 0u);
  auto read = tasks_->GetTask("b", false);
  ASSERT_OK(read);
  EXPECT_EQ(read->seq, b.seq);
  EXPECT_EQ(queue_->Depth().value(), 2);
}

// Between the records' commit and the inbox forgetting (a crash there, or a failed Forget), a
// task is in both files: every reader reports it once, from the records, and the next adoption
// forgets it.
TEST_F(SqliteInboxTest, ATaskInBothFilesIsReportedOnceFromTheRecords) {
  Create("a");
  Create("b");
  TakeInWithoutForgetting();
  ASSERT_OK(tasks_->MarkStarted("a", std::chrono::system_clock::now()));
  EXPECT_EQ(InboxSize(), 0u);  // MarkStarted's adoption found them there and forgot them
  Create("c");
  TakeInWithoutForgetting();
  ASSERT_EQ(InboxSize(), 1u);  // c, in both files
  auto a = tasks_->GetTask("a", false);
  ASSERT_OK(a);
  EXPECT_EQ(a->state, TaskState::kStarted);
  ASSERT_OK(tasks_->MarkStarted("c", std::chrono::system_clock::now()));
  Create("d");
  TakeInWithoutForgetting();
  auto c = tasks_->GetTask("c", false);
  ASSERT_OK(c);
  EXPECT_EQ(c->state, TaskState::kStarted);  // the records' state, not the inbox's PENDING
  auto page = tasks_->ListTasks(1, 10);
  ASSERT_OK(page);
  EXPECT_EQ(page->total, 4);
  ASSERT_EQ(page->tasks.size(), 4u);
  EXPECT_EQ(page->tasks[0].task_id, "d");
  EXPECT_EQ(page->tasks[1].task_id, "c");
  EXPECT_EQ(page->tasks[1].state, TaskState::kStarted);
  auto counts = tasks_->CountByState();
  ASSERT_OK(counts);
  EXPECT_EQ(counts->at(TaskState::kPending), 2);  // b, d
  EXPECT_EQ(counts->at(TaskState::kStarted), 2);  // a, c
  EXPECT_EQ(queue_->Depth().value(), 4);
}

// Newest first across the two files: the inbox's tasks, then the records', paged as one list.
TEST_F(SqliteInboxTest, ListPagesAcrossTheTwoFiles) {
  for (const char* id : {"t1", "t2", "t3"}) Create(id);
  ASSERT_OK(queue_->Claim("w", 0ms));  // t1..t3 in the records
  for (const char* id : {"t4", "t5"}) Create(id);
  std::vector<std::string> seen;
  for (int page = 1; page <= 3; ++page) {
    auto listed = tasks_->ListTasks(page, 2);
    ASSERT_OK(listed);
    EXPECT_EQ(listed->total, 5);
    for (const auto& task : listed->tasks) seen.push_back(task.task_id);
  }
  EXPECT_EQ(seen, (std::vector<std::string>{"t5", "t4", "t3", "t2", "t1"}));
  auto past = tasks_->ListTasks(4, 2);
  ASSERT_OK(past);
  EXPECT_TRUE(past->tasks.empty());
}

// Each write that names a task takes the inbox in first, so a task just created is known to it.
TEST_F(SqliteInboxTest, WritesThatNameATaskTakeItInFirst) {
  Create("started");
  EXPECT_OK(tasks_->MarkStarted("started", std::chrono::system_clock::now()));
  Create("finished");
  EXPECT_OK(
      tasks_->FinishTask("finished", TaskState::kFailure, "why", std::chrono::system_clock::now()));
  EXPECT_EQ(RecordsTasks(), 2);
  EXPECT_EQ(InboxSize(), 0u);
  Create("replayed");  // not finished: refused, and it stays PENDING
  EXPECT_CODE(tasks_->ResetForReplay("replayed"), ErrorCode::kConflict);
  auto replayed = tasks_->GetTask("replayed", false);
  ASSERT_OK(replayed);
  EXPECT_EQ(replayed->state, TaskState::kPending);
  EXPECT_CODE(tasks_->GetTask("unknown", false), ErrorCode::kNotFound);
  EXPECT_CODE(queue_->Enqueue("unknown"), ErrorCode::kNotFound);
}

// A task id is refused once, wherever its task is: in the inbox or taken in.
TEST_F(SqliteInboxTest, ATaskIdTakenInIsRefusedAgain) {
  Create("a");
  EXPECT_CODE(tasks_->CreateTask({"a", "x.csv", 1, std::chrono::system_clock::now()}),
              ErrorCode::kConflict);
  ASSERT_OK(queue_->Claim("w", 0ms));
  EXPECT_CODE(tasks_->CreateTask({"a", "x.csv", 1, std::chrono::system_clock::now()}),
              ErrorCode::kConflict);
  EXPECT_EQ(InboxSize(), 0u);
  EXPECT_EQ(RecordsTasks(), 1);
}

// An inbox task whose seq the records hold for another task (files restored from different
// moments) is never dropped: every write that needs a task fails as unavailable (never as a
// conflict, which callers take for a verdict on their task), and the task stays PENDING.
TEST_F(SqliteInboxTest, ASeqHeldByAnotherTaskStopsTheWritesAndLosesNothing) {
  const auto a = Create("a");
  ASSERT_OK(db_->Write([&](Connection& conn) -> Status {
    auto s = conn.Prepare(
        "INSERT INTO tasks (task_id, seq, csv_filename, state, created_at)"
        " VALUES ('other', ?1, 'o.csv', 'SUCCESS', 0)",
        "test row");
    if (!s) return ErrorFrom(s);
    s->Bind(1, a.seq);
    return s->Run();
  }));
  EXPECT_CODE(tasks_->MarkStarted("a", std::chrono::system_clock::now()), ErrorCode::kUnavailable);
  EXPECT_CODE(queue_->Claim("w", 0ms), ErrorCode::kUnavailable);
  EXPECT_EQ(InboxSize(), 1u);
  auto read = tasks_->GetTask("a", false);
  ASSERT_OK(read);
  EXPECT_EQ(read->state, TaskState::kPending);
}

// The seq goes on above the records' tasks even when the inbox file is new (deleted, or a
// database from before the inbox): no seq is given twice.
TEST_F(SqliteInboxTest, ANewInboxGoesOnAboveTheRecordsSeqs) {
  Create("a");
  const auto b = Create("b");
  ASSERT_OK(queue_->Claim("w", 0ms));
  Close();
  for (const char* suffix : {"", "-wal", "-shm"}) {
    std::filesystem::remove(dir_.path() / "data" / (std::string("intake-inbox.db") + suffix));
  }
  Open();
  const auto c = Create("c");
  EXPECT_GT(c.seq, b.seq);
  Close();
  Open();  // and the inbox's own seq survives its tasks being forgotten
  ASSERT_OK(queue_->Claim("w", 0ms));
  const auto d = Create("d");
  EXPECT_GT(d.seq, c.seq);
}

// Another process shares both files: it sees the task recorded here, and claims it.
TEST_F(SqliteInboxTest, AnotherProcessSeesAndClaimsTheInboxsTasks) {
  auto other_db = SqliteDatabase::Open(Path());
  ASSERT_OK(other_db);
  auto other_inbox = SqliteInbox::Open(*other_db);
  ASSERT_OK(other_inbox);
  SqliteTaskStore other_tasks(*other_db, *other_inbox);
  SqliteTaskQueue other_queue(*other_db, *other_inbox, 30s, 20ms);
  const auto task = Create("t");
  auto seen = other_tasks.GetTask("t", false);
  ASSERT_OK(seen);
  EXPECT_EQ(seen->seq, task.seq);
  auto claimed = other_queue.Claim("other", 1s);
  ASSERT_OK(claimed);
  ASSERT_TRUE(claimed->has_value());
  EXPECT_EQ((*claimed)->task_id, "t");
  EXPECT_EQ(InboxSize(), 0u);
  auto again = queue_->Claim("here", 0ms);
  ASSERT_OK(again);
  EXPECT_FALSE(again->has_value());
}

}  // namespace
}  // namespace intake::adapters::testing
