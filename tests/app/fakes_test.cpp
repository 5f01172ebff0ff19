// The fakes are the reference behaviour other layers' tests rely on: check the parts with logic.
#include <gtest/gtest.h>

#include "app/test_util.hpp"

namespace intake::app::testing {
namespace {

using domain::TaskState;

ports::TaskRecord NewTask(FakeWorld& w, const std::string& id) {
  auto created = w.tasks.CreateTask(ports::NewTask{id, id + ".csv", 3, w.clock.Now()});
  EXPECT_TRUE(created);
  return *created;
}

ports::BatchInput Batch(const ports::TaskRecord& task, std::int64_t before,
                        std::vector<domain::RowInput> rows, std::int64_t after) {
  ports::BatchInput b;
  b.task_id = task.task_id;
  b.task_seq = task.seq;
  b.rows_done_before = before;
  b.rows_done_after = after;
  b.rows = std::move(rows);
  return b;
}

TEST(FakeTaskStore, AssignsIncreasingSeqAndListsNewestFirst) {
  FakeWorld w;
  auto a = NewTask(w, "a");
  auto b = NewTask(w, "b");
  EXPECT_LT(a.seq, b.seq);
  auto page = w.tasks.ListTasks(1, 10);
  ASSERT_OK(page);
  ASSERT_EQ(page->tasks.size(), 2u);
  EXPECT_EQ(page->tasks[0].task_id, "b");
}

TEST(FakeTaskStore, ReplayOnlyWhenFinished) {
  FakeWorld w;
  NewTask(w, "a");
  EXPECT_EQ(CodeOf(w.tasks.ResetForReplay("a")), ErrorCode::kConflict);
  EXPECT_EQ(CodeOf(w.tasks.ResetForReplay("zzz")), ErrorCode::kNotFound);
  ASSERT_OK(w.tasks.FinishTask("a", TaskState::kSuccess, std::nullopt, w.clock.Now()));
  auto reset = w.tasks.ResetForReplay("a");
  ASSERT_OK(reset);
  EXPECT_EQ(reset->state, TaskState::kPending);
  EXPECT_FALSE(reset->finished_at);
}

TEST(FakeRecordStore, ApplyBatchCreatesThenUpdatesAndCountsRejected) {
  FakeWorld w;
  auto task = NewTask(w, "t");
  auto b1 = Batch(task, 0, {{1, Record(1)}, {2, Record(2)}}, 3);
  b1.rejected_rows = 1;
  b1.row_errors = {{3, domain::Field::kMrn, "bad"}};
  auto c1 = w.records.ApplyBatch(b1);
  ASSERT_OK(c1);
  EXPECT_EQ(c1->processed_records, 3);
  EXPECT_EQ(c1->patients_created, 2);
  EXPECT_EQ(c1->error_count, 1);
  auto changed = Record(1);
  changed.first_name = "Changed";
  auto c2 = w.records.ApplyBatch(Batch(task, 3, {{4, changed}}, 4));
  ASSERT_OK(c2);
  EXPECT_EQ(c2->patients_updated, 1);
  auto stored = w.tasks.Task("t");
  EXPECT_EQ(stored->rows_done, 4);
  EXPECT_EQ(stored->state, TaskState::kProgress);
  ASSERT_EQ(stored->errors.size(), 1u);
  EXPECT_EQ(w.records.PatientCount(), 2u);
}

TEST(FakeRecordStore, RefusesStaleProgressAndInjectedFailuresWriteNothing) {
  FakeWorld w;
  auto task = NewTask(w, "t");
  EXPECT_EQ(CodeOf(w.records.ApplyBatch(Batch(task, 5, {{6, Record(1)}}, 6))),
            ErrorCode::kConflict);
  w.records.FailNext(1);
  EXPECT_EQ(CodeOf(w.records.ApplyBatch(Batch(task, 0, {{1, Record(1)}}, 1))),
            ErrorCode::kUnavailable);
  EXPECT_EQ(w.records.PatientCount(), 0u);
  EXPECT_EQ(w.tasks.Task("t")->rows_done, 0);
  EXPECT_OK(w.records.ApplyBatch(Batch(task, 0, {{1, Record(1)}}, 1)));
}

TEST(FakeRecordStore, ListPatientsFoldsCaseAndMatchesWildcardsLiterally) {
  FakeWorld w;
  auto task = NewTask(w, "t");
  auto zoe = Record(1);
  zoe.first_name = "ZOË";
  auto percent = Record(2);
  percent.last_name = "100%_sure";
  ASSERT_OK(w.records.ApplyBatch(Batch(task, 0, {{1, zoe}, {2, percent}, {3, Record(3)}}, 3)));
  ports::PatientFilter by_name;
  by_name.first_name = "zoë";
  auto found = w.records.ListPatients(by_name, 1, 10);
  ASSERT_OK(found);
  ASSERT_EQ(found->total, 1);
  EXPECT_EQ(found->patients[0].mrn, "MRN-1");
  ports::PatientFilter wildcard;
  wildcard.last_name = "%_";
  found = w.records.ListPatients(wildcard, 1, 10);
  ASSERT_OK(found);
  EXPECT_EQ(found->total, 1);
  auto paged = w.records.ListPatients({}, 2, 2);
  ASSERT_OK(paged);
  EXPECT_EQ(paged->total, 3);
  ASSERT_EQ(paged->patients.size(), 1u);
  EXPECT_EQ(paged->patients[0].id, 3);
}

TEST(FakeTaskQueue, LeaseExpiresByInjectedClock) {
  FakeWorld w;
  ASSERT_OK(w.queue.Enqueue("a"));
  auto first = w.queue.Claim("w-0", std::chrono::milliseconds(0));
  ASSERT_OK(first);
  ASSERT_TRUE(*first);
  auto none = w.queue.Claim("w-1", std::chrono::milliseconds(0));
  ASSERT_OK(none);
  EXPECT_FALSE(*none);
  w.clock.Advance(std::chrono::minutes(5));
  auto again = w.queue.Claim("w-1", std::chrono::milliseconds(0));
  ASSERT_OK(again);
  ASSERT_TRUE(*again);
  EXPECT_EQ((*again)->task_id, "a");
  EXPECT_EQ(CodeOf(w.queue.Extend(**first)), ErrorCode::kConflict);
  EXPECT_OK(w.queue.Ack(**again));
  EXPECT_EQ(*w.queue.Depth(), 0);
}

TEST(FakeTaskQueue, WakeAllEndsAWaitingClaim) {
  FakeWorld w;
  std::thread waker([&] {
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
    w.queue.WakeAll();
  });
  const auto start = std::chrono::steady_clock::now();
  auto claimed = w.queue.Claim("w-0", std::chrono::seconds(10));
  waker.join();
  ASSERT_OK(claimed);
  EXPECT_FALSE(*claimed);
  EXPECT_LT(std::chrono::steady_clock::now() - start, std::chrono::seconds(5));
}

TEST(FakeObjectStore, UncommittedWriterLeavesNothing) {
  FakeWorld w;
  {
    auto writer = w.objects.BeginPut("k");
    ASSERT_OK(writer);
    ASSERT_OK((*writer)->Write("abc"));
  }
  EXPECT_FALSE(w.objects.Contains("k"));
  EXPECT_EQ(w.objects.OpenWriters(), 0);
  EXPECT_EQ(CodeOf(w.objects.Get("k")), ErrorCode::kNotFound);
}

TEST(FailureInjector, FailsOnlyTheNamedMethodTheGivenNumberOfTimes) {
  FakeWorld w;
  w.objects.FailNext(2, ErrorCode::kUnavailable, "Put");
  EXPECT_OK(w.objects.Check());
  EXPECT_EQ(CodeOf(w.objects.Put("a", "x")), ErrorCode::kUnavailable);
  EXPECT_EQ(CodeOf(w.objects.Put("a", "x")), ErrorCode::kUnavailable);
  EXPECT_OK(w.objects.Put("a", "x"));
  w.objects.SetDown(true);
  EXPECT_EQ(CodeOf(w.objects.Check()), ErrorCode::kUnavailable);
  w.objects.SetDown(false);
  EXPECT_OK(w.objects.Check());
  EXPECT_EQ(w.objects.Calls("Put"), 3);
}

}  // namespace
}  // namespace intake::app::testing
