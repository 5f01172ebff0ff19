#include "app/queries.hpp"

#include <gtest/gtest.h>

#include "app/test_util.hpp"

namespace intake::app::testing {
namespace {

using domain::TaskState;

class QueriesTest : public ::testing::Test {
 protected:
  std::string NewTask() {
    auto task = w.tasks.CreateTask(ports::NewTask{w.ids.NewTaskId(), "f.csv", 1, w.clock.Now()});
    EXPECT_TRUE(task);
    return task->task_id;
  }

  FakeWorld w;
  PatientQuery patients{w.records};
  TaskQuery tasks{w.tasks, w.queue};
  ReadinessCheck readiness{w.records, w.objects, w.queue};
};

TEST_F(QueriesTest, PatientPagingIsValidated) {
  EXPECT_EQ(CodeOf(patients.List({}, 0, 10)), ErrorCode::kInvalidArgument);
  EXPECT_EQ(CodeOf(patients.List({}, 1, 0)), ErrorCode::kInvalidArgument);
  EXPECT_EQ(CodeOf(patients.List({}, 1, 101)), ErrorCode::kInvalidArgument);
  EXPECT_OK(patients.List({}, 1, 100));
  EXPECT_EQ(w.records.Calls("ListPatients"), 1);
}

TEST_F(QueriesTest, PatientGetPassesNotFoundThrough) {
  EXPECT_EQ(CodeOf(patients.Get(999)), ErrorCode::kNotFound);
}

TEST_F(QueriesTest, TaskListPagingIsValidated) {
  EXPECT_EQ(CodeOf(tasks.List(0, 10)), ErrorCode::kInvalidArgument);
  EXPECT_EQ(CodeOf(tasks.List(1, 101)), ErrorCode::kInvalidArgument);
  NewTask();
  auto page = tasks.List(1, 10);
  ASSERT_OK(page);
  EXPECT_EQ(page->total, 1);
}

TEST_F(QueriesTest, TaskGetIncludesErrors) {
  const std::string id = NewTask();
  auto record = *w.tasks.Task(id);
  record.errors = {{1, domain::Field::kMrn, "bad"}};
  w.tasks.PutTask(record);
  auto got = tasks.Get(id);
  ASSERT_OK(got);
  EXPECT_EQ(got->errors.size(), 1u);
  EXPECT_EQ(CodeOf(tasks.Get("nope")), ErrorCode::kNotFound);
}

TEST_F(QueriesTest, ReplayResetsAndQueuesAFinishedTask) {
  const std::string id = NewTask();
  EXPECT_EQ(CodeOf(tasks.Replay(id)), ErrorCode::kConflict);
  EXPECT_EQ(CodeOf(tasks.Replay("missing")), ErrorCode::kNotFound);
  EXPECT_TRUE(w.queue.Pending().empty());
  ASSERT_OK(w.tasks.FinishTask(id, TaskState::kSuccess, std::nullopt, w.clock.Now()));
  auto replayed = tasks.Replay(id);
  ASSERT_OK(replayed);
  EXPECT_EQ(replayed->state, TaskState::kPending);
  EXPECT_EQ(w.queue.Pending(), std::vector<std::string>{id});
}

TEST_F(QueriesTest, ReplayThatCannotBeQueuedLeavesTheTaskFinished) {
  const std::string id = NewTask();
  ASSERT_OK(w.tasks.FinishTask(id, TaskState::kSuccess, std::nullopt, w.clock.Now()));
  w.queue.FailNext(1, ErrorCode::kUnavailable, "Enqueue");
  EXPECT_EQ(CodeOf(tasks.Replay(id)), ErrorCode::kUnavailable);
  EXPECT_TRUE(domain::IsFinished(w.tasks.Task(id)->state));
  EXPECT_OK(tasks.Replay(id));
}

TEST_F(QueriesTest, CountsByStateAndQueueDepth) {
  const std::string a = NewTask();
  NewTask();
  ASSERT_OK(w.queue.Enqueue(a));
  ASSERT_OK(w.tasks.FinishTask(a, TaskState::kFailure, "x", w.clock.Now()));
  auto counts = tasks.CountByState();
  ASSERT_OK(counts);
  EXPECT_EQ((*counts)[TaskState::kPending], 1);
  EXPECT_EQ((*counts)[TaskState::kFailure], 1);
  auto depth = tasks.QueueDepth();
  ASSERT_OK(depth);
  EXPECT_EQ(*depth, 1);
}

TEST_F(QueriesTest, ReadyWhenEveryCheckAnswers) {
  Readiness r = readiness.Run();
  EXPECT_TRUE(r.ready);
  EXPECT_EQ(r.checks, (std::map<std::string, std::string>{
                          {"database", "ok"}, {"object_store", "ok"}, {"queue", "ok"}}));
}

TEST_F(QueriesTest, NotReadyNamesTheFailingCheck) {
  w.objects.SetDown(true);
  Readiness r = readiness.Run();
  EXPECT_FALSE(r.ready);
  EXPECT_EQ(r.checks["object_store"], "injected outage");
  EXPECT_EQ(r.checks["database"], "ok");
  EXPECT_EQ(r.checks["queue"], "ok");
  w.objects.SetDown(false);
  w.queue.FailNext(1, ErrorCode::kUnavailable, "Check");
  r = readiness.Run();
  EXPECT_FALSE(r.ready);
  EXPECT_EQ(r.checks["queue"], "injected failure: Check");
}

}  // namespace
}  // namespace intake::app::testing
