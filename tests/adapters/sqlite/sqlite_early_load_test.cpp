// SqliteRecordStore loads a batch's stored rows before it takes the writer, and must plan on what
// the write transaction would have loaded itself: whatever committed in between (a batch of the
// same store, another process's batch, another program's SQL) is taken into account. On a file
// database, so that the early load runs on a read connection of its own.
#include <gtest/gtest.h>

#include <functional>
#include <string>
#include <vector>

#include "adapters/contract/early_load_scenario.hpp"
#include "adapters/contract/test_util.hpp"
#include "adapters/sqlite/sqlite_database.hpp"
#include "adapters/sqlite/sqlite_record_store.hpp"
#include "adapters/sqlite/sqlite_task_store.hpp"

namespace intake::adapters::testing {
namespace {

using sqlite::Connection;
using sqlite::SqliteDatabase;
using sqlite::SqliteInbox;
using sqlite::SqliteRecordStore;
using sqlite::SqliteTaskStore;

// Another program renames M-1 to Brown, from a position newer than any task's, without going
// through Intake (records_version does not move).
constexpr std::string_view kRenameBehindIntake =
    "UPDATE persons SET last_name = 'Brown', last_name_folded = 'brown', src_seq = 1000000"
    " WHERE id = (SELECT id FROM patients WHERE mrn = 'M-1')";

class SqliteEarlyLoadTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto opened = SqliteDatabase::Open((dir_.path() / "intake.db").string());
    ASSERT_TRUE(opened.has_value()) << Describe(opened);
    db_ = *opened;
    auto inbox = SqliteInbox::Open(db_);
    ASSERT_TRUE(inbox.has_value()) << Describe(inbox);
    inbox_ = *inbox;
    tasks_ = std::make_unique<SqliteTaskStore>(db_, inbox_);
    records_ = std::make_unique<SqliteRecordStore>(db_, inbox_);
  }

  std::shared_ptr<SqliteDatabase> OpenAgain() {  // another process on the same file
    auto opened = SqliteDatabase::Open((dir_.path() / "intake.db").string());
    EXPECT_TRUE(opened.has_value()) << Describe(opened);
    return opened ? *opened : nullptr;
  }

  ports::TaskRecord Task(const std::string& id) {
    auto task = tasks_->CreateTask({id, id + ".csv", 0, std::chrono::system_clock::now()});
    EXPECT_TRUE(task.has_value()) << Describe(task);
    return task ? *task : ports::TaskRecord{};
  }

  // Runs `between` once, after the next early load and before its write transaction; counts
  // early loads.
  void Between(std::function<void()> between) {
    records_->SetAfterEarlyLoad([this, between = std::move(between), done = false]() mutable {
      ++early_loads_;
      if (done) return;
      done = true;  // a batch applied from here by the same store comes through here too
      between();
    });
  }

  TempDir dir_;
  std::shared_ptr<SqliteDatabase> db_;
  std::shared_ptr<SqliteInbox> inbox_;
  std::unique_ptr<SqliteTaskStore> tasks_;
  std::unique_ptr<SqliteRecordStore> records_;
  int early_loads_ = 0;
};

// A batch of the same store commits in between (two workers of one process):
// early_load_scenario.hpp.
TEST_F(SqliteEarlyLoadTest, OwnBatchesInBetweenAreLoadedAgainByKey) {
  auto newer = Task("t-newer");
  auto newest = Task("t-newest");
  ExpectOwnBatchesInBetweenAreLoadedAgainByKey(
      *records_, [&](std::function<void()> hook) { records_->SetAfterEarlyLoad(std::move(hook)); },
      newer, newest);
}

// A group's early loads share one snapshot; a batch of the same store committing before the
// group's transaction is loaded again by key for every batch of the group, and each batch also
// sees what the batches before it in the group wrote. Without the first, Green (older than Brown)
// would overwrite Brown; without the second, the last batch would plan on Brown, not on White.
TEST_F(SqliteEarlyLoadTest, AGroupLoadsAgainWhatTheStoresBatchesAndItsOwnWroteSince) {
  auto old_task = Task("t-old");
  auto brown = Task("t-brown");
  auto white = Task("t-white");
  auto last = Task("t-last");
  ASSERT_OK(ApplyRows(*records_, old_task, 0, {EarlyLoadRow(1, "M-1", "Smith", "V-1")}));
  Between([&] {
    auto inner = ApplyRows(*records_, brown, 0, {EarlyLoadRow(1, "M-1", "Brown", "V-1")});
    EXPECT_TRUE(inner.has_value()) << Describe(inner);
  });
  const std::vector<ports::BatchInput> group = {
      BatchOf(old_task, 1, {EarlyLoadRow(2, "M-1", "Green", "V-2")}),
      BatchOf(white, 0, {EarlyLoadRow(1, "M-1", "White", "V-3")}),
      BatchOf(last, 0, {EarlyLoadRow(1, "M-1", "White", "V-4")})};
  auto counters = records_->ApplyBatches(group);
  ASSERT_OK(counters);
  EXPECT_EQ((*counters)[0].patients_unchanged, 1);  // Green is older than Brown
  EXPECT_EQ((*counters)[1].patients_updated, 1);    // White is newer
  EXPECT_EQ((*counters)[2].patients_unchanged, 1);  // White again: nothing to change
  EXPECT_EQ(LastNamesOf(*records_), std::vector<std::string>{"White"});
  EXPECT_EQ(early_loads_, 2);  // the group's, and the batch in between (no further one)
  // The group kept its early loads (only its own store wrote since): the next batch loads early.
  ASSERT_OK(ApplyRows(*records_, last, 1, {EarlyLoadRow(2, "M-2", "Jones", "V-5")}));
  EXPECT_EQ(early_loads_, 3);
}

// Another process's batch in between: everything is loaded again (Brown kept), and the next batch
// loads in the write transaction only.
TEST_F(SqliteEarlyLoadTest, AnotherProcessesBatchInBetweenMeansLoadingEverythingAgain) {
  auto other_db = OpenAgain();
  ASSERT_NE(other_db, nullptr);
  auto other_inbox = SqliteInbox::Open(other_db);
  ASSERT_TRUE(other_inbox.has_value()) << Describe(other_inbox);
  SqliteRecordStore other(other_db, *other_inbox);
  auto newer = Task("t-newer");
  auto newest = Task("t-newest");
  ASSERT_OK(ApplyRows(*records_, newer, 0, {EarlyLoadRow(1, "M-1", "Smith", "V-1")}));
  Between([&] {
    auto inner = ApplyRows(other, newest, 0, {EarlyLoadRow(1, "M-1", "Brown", "V-1")});
    EXPECT_TRUE(inner.has_value()) << Describe(inner);
  });
  auto outer = ApplyRows(*records_, newer, 1, {EarlyLoadRow(2, "M-1", "Green", "V-2")});
  ASSERT_OK(outer);
  EXPECT_EQ(outer->patients_unchanged, 1);  // Green (newer:2) is older than Brown (newest:1)
  EXPECT_EQ(LastNamesOf(*records_), std::vector<std::string>{"Brown"});
  const int early = early_loads_;
  ASSERT_OK(ApplyRows(*records_, newer, 2, {EarlyLoadRow(3, "M-1", "Grey", "V-3")}));
  EXPECT_EQ(early_loads_, early);  // after a wasted early load, none
  ASSERT_OK(ApplyRows(*records_, newer, 3, {EarlyLoadRow(4, "M-1", "Gray", "V-4")}));
  EXPECT_EQ(early_loads_, early + 1);  // and then again
}

// Another program's write in between does not move records_version: the writer notices it by
// PRAGMA data_version. Without that, the batch below plans on Smith at newer:1 and overwrites
// the newer Brown with Green.
TEST_F(SqliteEarlyLoadTest, AnotherProgramsWriteInBetweenIsNoticed) {
  auto other_db = OpenAgain();
  ASSERT_NE(other_db, nullptr);
  auto newer = Task("t-newer");
  ASSERT_OK(ApplyRows(*records_, newer, 0, {EarlyLoadRow(1, "M-1", "Smith", "V-1")}));
  ASSERT_OK(ApplyRows(*records_, newer, 1,
                      {EarlyLoadRow(2, "M-2", "Jones", "V-2")}));  // the writer is warm
  Between([&] {
    auto renamed = other_db->Write([](Connection& conn) -> Status {
      return conn.Exec(kRenameBehindIntake, "rename behind Intake");
    });
    EXPECT_TRUE(renamed.has_value()) << Describe(renamed);
    // A short write of this process (a request recording its task) is the first to see it: the
    // batch's own write transaction must still know.
    Task("t-meanwhile");
  });
  auto outer = ApplyRows(*records_, newer, 2, {EarlyLoadRow(3, "M-1", "Green", "V-3")});
  ASSERT_OK(outer);
  EXPECT_EQ(outer->patients_unchanged, 1);
  EXPECT_EQ(LastNamesOf(*records_), (std::vector<std::string>{"Brown", "Jones"}));
}

}  // namespace
}  // namespace intake::adapters::testing
