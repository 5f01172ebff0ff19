// TaskStore contract: seq assignment, state transitions, replay reset, listing and counts.
#include <algorithm>
#include <mutex>
#include <thread>

#include "adapters/contract/backend.hpp"
#include "adapters/contract/test_util.hpp"

namespace intake::adapters::testing {
namespace {

using domain::TaskState;
using std::chrono::system_clock;

// Whole microseconds: what every backend can store exactly.
system_clock::time_point At(std::int64_t seconds) {
  return system_clock::time_point(std::chrono::seconds(1'700'000'000 + seconds) +
                                  std::chrono::microseconds(123456));
}

class TaskStoreContract : public BackendTest {
 protected:
  ports::TaskStore& store() { return backend().tasks(); }
  ports::TaskRecord Create(const std::string& id, std::int64_t at = 0) {
    auto t = store().CreateTask({id, "patient_intake_" + id + ".csv", 3, At(at)});
    EXPECT_TRUE(t.has_value()) << Describe(t);
    return t ? *t : ports::TaskRecord{};
  }
};

TEST_P(TaskStoreContract, CreateAssignsIncreasingSeqAndStartsPending) {
  auto a = Create("a");
  auto b = Create("b");
  EXPECT_GT(a.seq, 0);
  EXPECT_GT(b.seq, a.seq);
  auto got = store().GetTask("a", true);
  ASSERT_OK(got);
  EXPECT_EQ(got->seq, a.seq);
  EXPECT_EQ(got->csv_filename, "patient_intake_a.csv");
  EXPECT_EQ(got->records_received, 3);
  EXPECT_EQ(got->state, TaskState::kPending);
  EXPECT_EQ(got->created_at, At(0));
  EXPECT_FALSE(got->started_at.has_value());
  EXPECT_FALSE(got->finished_at.has_value());
  EXPECT_EQ(got->counters, domain::TaskCounters{});
  EXPECT_TRUE(got->errors.empty());
}

TEST_P(TaskStoreContract, DuplicateIdIsConflict) {
  Create("a");
  EXPECT_CODE(store().CreateTask({"a", "x.csv", 1, At(0)}), ErrorCode::kConflict);
}

TEST_P(TaskStoreContract, ConcurrentCreatesGetDistinctSeqs) {
  std::vector<std::thread> threads;
  std::mutex mu;
  std::vector<std::int64_t> seqs;
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&, t] {
      for (int i = 0; i < 10; ++i) {
        auto r = store().CreateTask({std::to_string(t) + "-" + std::to_string(i), "f", 1, At(0)});
        std::lock_guard lock(mu);
        if (r) seqs.push_back(r->seq);
      }
    });
  }
  for (auto& t : threads) t.join();
  std::sort(seqs.begin(), seqs.end());
  EXPECT_EQ(seqs.size(), 40u);
  EXPECT_EQ(std::adjacent_find(seqs.begin(), seqs.end()), seqs.end());
}

TEST_P(TaskStoreContract, UnknownTaskIsNotFound) {
  EXPECT_CODE(store().GetTask("missing", false), ErrorCode::kNotFound);
  EXPECT_CODE(store().MarkStarted("missing", At(1)), ErrorCode::kNotFound);
  EXPECT_CODE(store().FinishTask("missing", TaskState::kSuccess, std::nullopt, At(1)),
              ErrorCode::kNotFound);
  EXPECT_CODE(store().ResetForReplay("missing"), ErrorCode::kNotFound);
}

TEST_P(TaskStoreContract, MarkStartedMovesPendingOnlyAndKeepsProgress) {
  Create("a");
  ASSERT_OK(store().MarkStarted("a", At(5)));
  auto got = store().GetTask("a", false);
  ASSERT_OK(got);
  EXPECT_EQ(got->state, TaskState::kStarted);
  EXPECT_EQ(got->started_at, At(5));
  ASSERT_OK(store().MarkStarted("a", At(9)));  // resume: no change
  got = store().GetTask("a", false);
  ASSERT_OK(got);
  EXPECT_EQ(got->state, TaskState::kStarted);
  EXPECT_EQ(got->started_at, At(5));
}

TEST_P(TaskStoreContract, FinishRecordsStateReasonAndTime) {
  Create("ok");
  Create("bad");
  ASSERT_OK(store().FinishTask("ok", TaskState::kSuccess, std::nullopt, At(7)));
  ASSERT_OK(store().FinishTask("bad", TaskState::kFailure, "object unreadable", At(8)));
  auto ok = store().GetTask("ok", false);
  ASSERT_OK(ok);
  EXPECT_EQ(ok->state, TaskState::kSuccess);
  EXPECT_EQ(ok->finished_at, At(7));
  EXPECT_FALSE(ok->failure_reason.has_value());
  auto bad = store().GetTask("bad", false);
  ASSERT_OK(bad);
  EXPECT_EQ(bad->state, TaskState::kFailure);
  EXPECT_EQ(bad->failure_reason, "object unreadable");
  EXPECT_CODE(store().MarkStarted("ok", At(9)), ErrorCode::kConflict);
}

TEST_P(TaskStoreContract, FinishRejectsUnfinishedStates) {
  Create("a");
  EXPECT_CODE(store().FinishTask("a", TaskState::kProgress, std::nullopt, At(1)),
              ErrorCode::kInvalidArgument);
}

TEST_P(TaskStoreContract, ReplayResetKeepsSeqAndClearsProgress) {
  auto task = Create("a");
  ports::BatchInput batch;
  batch.task_id = "a";
  batch.task_seq = task.seq;
  batch.rows_done_after = 2;
  batch.rejected_rows = 2;
  batch.row_errors = {{1, domain::Field::kMrn, "missing"}, {2, std::nullopt, "bad row"}};
  batch.total_records = 2;
  ASSERT_OK(backend().records().ApplyBatch(batch));
  EXPECT_CODE(store().ResetForReplay("a"), ErrorCode::kConflict);  // not finished
  ASSERT_OK(store().FinishTask("a", TaskState::kFailure, "boom", At(3)));
  auto reset = store().ResetForReplay("a");
  ASSERT_OK(reset);
  EXPECT_EQ(reset->seq, task.seq);
  EXPECT_EQ(reset->state, TaskState::kPending);
  auto got = store().GetTask("a", true);
  ASSERT_OK(got);
  EXPECT_EQ(got->state, TaskState::kPending);
  EXPECT_EQ(got->counters, domain::TaskCounters{});
  EXPECT_EQ(got->rows_done, 0);
  EXPECT_TRUE(got->errors.empty());
  EXPECT_FALSE(got->finished_at.has_value());
  EXPECT_FALSE(got->failure_reason.has_value());
  EXPECT_EQ(got->records_received, 3);
}

TEST_P(TaskStoreContract, ListIsNewestFirstAndPaged) {
  for (int i = 0; i < 5; ++i) Create("t" + std::to_string(i), i);
  auto first = store().ListTasks(1, 2);
  ASSERT_OK(first);
  EXPECT_EQ(first->total, 5);
  ASSERT_EQ(first->tasks.size(), 2u);
  EXPECT_EQ(first->tasks[0].task_id, "t4");
  EXPECT_EQ(first->tasks[1].task_id, "t3");
  auto last = store().ListTasks(3, 2);
  ASSERT_OK(last);
  ASSERT_EQ(last->tasks.size(), 1u);
  EXPECT_EQ(last->tasks[0].task_id, "t0");
  auto beyond = store().ListTasks(9, 2);
  ASSERT_OK(beyond);
  EXPECT_TRUE(beyond->tasks.empty());
  EXPECT_EQ(beyond->total, 5);
}

TEST_P(TaskStoreContract, CountByStateCountsEveryState) {
  Create("a");
  Create("b");
  Create("c");
  ASSERT_OK(store().MarkStarted("b", At(1)));
  ASSERT_OK(store().FinishTask("c", TaskState::kSuccess, std::nullopt, At(2)));
  auto counts = store().CountByState();
  ASSERT_OK(counts);
  EXPECT_EQ((*counts)[TaskState::kPending], 1);
  EXPECT_EQ((*counts)[TaskState::kStarted], 1);
  EXPECT_EQ((*counts)[TaskState::kProgress], 0);
  EXPECT_EQ((*counts)[TaskState::kSuccess], 1);
  EXPECT_EQ((*counts)[TaskState::kFailure], 0);
}

TEST_P(TaskStoreContract, CheckSucceeds) { EXPECT_OK(store().Check()); }

INSTANTIATE_TEST_SUITE_P(All, TaskStoreContract, ::testing::ValuesIn(AllBackends()), BackendName);

}  // namespace
}  // namespace intake::adapters::testing
