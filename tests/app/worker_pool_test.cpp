#include "app/worker_pool.hpp"

#include <gtest/gtest.h>

#include <atomic>

#include "app/test_util.hpp"

namespace intake::app::testing {
namespace {

using namespace std::chrono_literals;

class WorkerPoolTest : public ::testing::Test {
 protected:
  LoadOptions Options() {
    LoadOptions options;
    options.batch_rows = 2;
    options.max_attempts = 3;
    options.first_backoff = 1ms;
    options.max_backoff = 2ms;
    return options;
  }

  std::string Submit(int first_record) {
    const std::string key = "obj_" + std::to_string(first_record) + ".csv";
    EXPECT_OK(w.objects.Put(key, CsvOf({Record(first_record), Record(first_record + 1)})));
    auto task = w.tasks.CreateTask(ports::NewTask{w.ids.NewTaskId(), key, 2, w.clock.Now()});
    EXPECT_OK(w.queue.Enqueue(task->task_id));
    return task->task_id;
  }

  // Polls (real time) until `done` holds or 10 s pass.
  template <class Pred>
  bool WaitFor(Pred done) {
    for (auto deadline = std::chrono::steady_clock::now() + 10s;
         std::chrono::steady_clock::now() < deadline; std::this_thread::sleep_for(5ms)) {
      if (done()) return true;
    }
    return done();
  }

  FakeWorld w;
  LoadTask load{w.objects, w.records, w.tasks, w.queue, w.clock, w.metrics, Options()};
};

TEST_F(WorkerPoolTest, ProcessesQueuedTasksAndAcksThem) {
  std::vector<std::string> ids;
  for (int i = 0; i < 6; ++i) ids.push_back(Submit(i * 10));
  WorkerPool pool(w.queue, load, 3, "test");
  pool.Start();
  ASSERT_TRUE(WaitFor([&] { return w.queue.Acked().size() == ids.size(); }));
  pool.Stop();
  for (const auto& id : ids) EXPECT_EQ(w.tasks.Task(id)->state, domain::TaskState::kSuccess);
  EXPECT_EQ(w.records.PatientCount(), 12u);
  EXPECT_EQ(*w.queue.Depth(), 0);
  EXPECT_EQ(w.metrics.loaded, 12);
}

// With a store that groups, queued tasks are loaded in groups (batch_rows 2: two one-row tasks a
// group here) and every one of them is acked once.
TEST_F(WorkerPoolTest, GroupsQueuedTasksWhereTheStoreGroupsAndAcksEach) {
  w.records.SetMaxGroupedBatches(4);
  std::vector<std::string> ids;
  for (int i = 0; i < 8; ++i) {
    const std::string key = "one_" + std::to_string(i) + ".csv";
    EXPECT_OK(w.objects.Put(key, CsvOf({Record(i)})));
    auto task = w.tasks.CreateTask(ports::NewTask{w.ids.NewTaskId(), key, 1, w.clock.Now()});
    EXPECT_OK(w.queue.Enqueue(task->task_id));
    ids.push_back(task->task_id);
  }
  WorkerPool pool(w.queue, load, 1, "group");
  pool.Start();
  ASSERT_TRUE(WaitFor([&] { return w.queue.Acked().size() == ids.size(); }));
  pool.Stop();
  EXPECT_EQ(w.queue.Acked(), ids);
  for (const auto& id : ids) EXPECT_EQ(w.tasks.Task(id)->state, domain::TaskState::kSuccess);
  EXPECT_EQ(w.records.GroupSizes(), (std::vector<std::size_t>{2, 2, 2, 2}));
  EXPECT_EQ(w.metrics.loaded, 8);
}

TEST_F(WorkerPoolTest, StopsPromptlyWhenIdle) {
  WorkerPool pool(w.queue, load, 2, "idle");
  pool.Start();
  std::this_thread::sleep_for(50ms);
  const auto start = std::chrono::steady_clock::now();
  pool.Stop();
  EXPECT_LT(std::chrono::steady_clock::now() - start, 2s);
}

// The idle hook (memory release) runs after a task ends, not while another worker is in the
// middle of one: with two workers, the idle one must neither release during the other's load nor
// use up the one release owed after it.
TEST_F(WorkerPoolTest, OnIdleRunsAfterTheLastTaskEndsNotDuringIt) {
  w.records.SetDown(true);  // the task retries in its backoff loop, claimed, until set up again
  const std::string id = Submit(1);
  LoadOptions retrying = Options();
  retrying.max_attempts = 1000;
  retrying.first_backoff = 50ms;
  retrying.max_backoff = 50ms;
  LoadTask slow(w.objects, w.records, w.tasks, w.queue, w.clock, w.metrics, retrying);
  std::atomic<int> during{0}, after{0};
  WorkerPool pool(w.queue, slow, 2, "idle", [&] {
    if (domain::IsFinished(w.tasks.Task(id)->state)) {
      ++after;
    } else {
      ++during;
    }
  });
  pool.Start();
  ASSERT_TRUE(WaitFor([&] { return !w.queue.Holder(id).empty(); }));
  std::this_thread::sleep_for(2500ms);  // the other worker's claims come back empty meanwhile
  w.records.SetDown(false);
  ASSERT_TRUE(WaitFor([&] { return after > 0; })) << "no idle hook after the task ended";
  pool.Stop();
  EXPECT_EQ(w.tasks.Task(id)->state, domain::TaskState::kSuccess);
  EXPECT_EQ(during, 0) << "the idle hook ran while a task was loading";
}

TEST_F(WorkerPoolTest, DestructorStopsTheThreads) {
  {
    WorkerPool pool(w.queue, load, 2, "scoped");
    pool.Start();
  }
  SUCCEED();
}

TEST_F(WorkerPoolTest, UsesPrefixedWorkerIds) {
  w.records.SetDown(true);  // keeps the task in its backoff loop, claimed
  const std::string id = Submit(1);
  LoadOptions slow = Options();
  slow.first_backoff = 10s;
  slow.max_backoff = 10s;
  LoadTask stuck(w.objects, w.records, w.tasks, w.queue, w.clock, w.metrics, slow);
  WorkerPool pool(w.queue, stuck, 1, "node7");
  pool.Start();
  ASSERT_TRUE(WaitFor([&] { return !w.queue.Holder(id).empty(); }));
  EXPECT_EQ(w.queue.Holder(id), "node7-0");
  pool.Stop();
  // Stopped mid-task: handed back, not finished.
  EXPECT_EQ(w.queue.Released(), std::vector<std::string>{id});
  EXPECT_EQ(w.queue.Pending(), std::vector<std::string>{id});
  EXPECT_FALSE(domain::IsFinished(w.tasks.Task(id)->state));
}

TEST_F(WorkerPoolTest, SurvivesClaimErrors) {
  w.queue.FailNext(3, ErrorCode::kUnavailable, "Claim");
  const std::string id = Submit(1);
  WorkerPool pool(w.queue, load, 1, "flaky");
  pool.Start();
  ASSERT_TRUE(WaitFor([&] { return w.queue.Acked().size() == 1; }));
  pool.Stop();
  EXPECT_EQ(w.tasks.Task(id)->state, domain::TaskState::kSuccess);
}

}  // namespace
}  // namespace intake::app::testing
