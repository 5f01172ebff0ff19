// LoadTask::RunGroup: queued tasks applied in one RecordStore::ApplyBatches call end exactly as
// they would one by one, and every claimed task comes back with an outcome.
#include <gtest/gtest.h>

#include <functional>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "app/load_task.hpp"
#include "app/test_util.hpp"

namespace intake::app::testing {
namespace {

using domain::TaskState;

constexpr std::size_t kBatchRows = 10;

LoadOptions GroupOptions() { return FastLoadOptions(kBatchRows); }

// Tasks that touch each other's keys: the second renames the first's patient and gives it a new
// visit, the third names the first's visit under another patient (a conflict: rejected).
std::vector<std::vector<domain::VisitRecord>> LinkedTasks() {
  auto renamed = Record(1);
  renamed.first_name = "Renamed";
  renamed.visit_account_number = "VST-1b";
  auto conflict = Record(3);
  conflict.visit_account_number = "VST-1";
  return {{Record(1), Record(2)}, {renamed, Record(4)}, {conflict, Record(5), Record(6)}};
}

class World {
 public:
  explicit World(std::size_t max_grouped, LoadOptions options = GroupOptions()) {
    w.records.SetMaxGroupedBatches(max_grouped);
    load = std::make_unique<LoadTask>(w.objects, w.records, w.tasks, w.queue, w.clock, w.metrics,
                                      options);
  }

  // Stores a task's object, creates and queues the task; returns its id.
  std::string Queue(const std::vector<domain::VisitRecord>& records) {
    const std::string key = "upload_" + std::to_string(++queued_) + ".csv";
    EXPECT_OK(w.objects.Put(key, CsvOf(records)));
    auto task = w.tasks.CreateTask(ports::NewTask{
        w.ids.NewTaskId(), key, static_cast<std::int64_t>(records.size()), w.clock.Now()});
    EXPECT_TRUE(task);
    EXPECT_OK(w.queue.Enqueue(task->task_id));
    return task->task_id;
  }

  std::optional<ports::ClaimedTask> ClaimNow() {
    auto claimed = w.queue.Claim("group-test", std::chrono::milliseconds(0));
    return claimed ? *claimed : std::nullopt;
  }

  // What one RunGroup did: every task it settled, in order, and its carry.
  struct Ran {
    std::vector<TaskOutcome> done;
    std::optional<ports::ClaimedTask> carry;
  };

  // One RunGroup from the next queued task; acks what finished and releases what stopped, as
  // WorkerPool does.
  Ran RunOnce(
      std::optional<ports::ClaimedTask> first = std::nullopt,
      std::function<bool()> stop = [] { return false; }) {
    if (!first) first = ClaimNow();
    EXPECT_TRUE(first.has_value());
    if (!first) return {};
    Ran ran;
    ran.carry = load->RunGroup(
        *first, [this] { return ClaimNow(); },
        [&](const TaskOutcome& done) {
          ran.done.push_back(done);
          if (done.outcome == LoadOutcome::kFinished) EXPECT_OK(w.queue.Ack(done.task));
          if (done.outcome == LoadOutcome::kStopped) EXPECT_OK(w.queue.Release(done.task));
        },
        stop);
    return ran;
  }

  // Runs groups until the queue is empty.
  void Drain() {
    std::optional<ports::ClaimedTask> carry;
    for (int i = 0; i < 100; ++i) {
      if (!carry) carry = ClaimNow();
      if (!carry) return;
      carry = RunOnce(carry).carry;
    }
    ADD_FAILURE() << "the queue did not drain";
  }

  ports::TaskRecord Task(const std::string& id) { return w.tasks.Task(id).value(); }

  FakeWorld w;
  std::unique_ptr<LoadTask> load;

 private:
  int queued_ = 0;
};

// The same tasks run one by one (no grouping): the reference.
struct Reference {
  fakes::FakeRecordStore::Tables tables;
  std::vector<domain::TaskCounters> counters;
};

Reference OneByOne(const std::vector<std::vector<domain::VisitRecord>>& tasks) {
  World ref(1);
  std::vector<std::string> ids;
  for (const auto& records : tasks) ids.push_back(ref.Queue(records));
  while (auto claimed = ref.ClaimNow()) {
    EXPECT_EQ(ref.load->Run(*claimed, [] { return false; }), LoadOutcome::kFinished);
  }
  Reference out{ref.w.records.Snapshot(), {}};
  for (const auto& id : ids) out.counters.push_back(ref.Task(id).counters);
  return out;
}

std::vector<std::string> TaskIds(const World::Ran& run) {
  std::vector<std::string> ids;
  for (const auto& done : run.done) ids.push_back(done.task.task_id);
  return ids;
}

std::vector<LoadOutcome> Outcomes(const World::Ran& run) {
  std::vector<LoadOutcome> outcomes;
  for (const auto& done : run.done) outcomes.push_back(done.outcome);
  return outcomes;
}

TEST(LoadGroup, QueuedTasksAreAppliedInOneCallAndEndAsOneByOne) {
  World world(16);
  std::vector<std::string> ids;
  for (const auto& records : LinkedTasks()) ids.push_back(world.Queue(records));
  World::Ran run = world.RunOnce();
  EXPECT_EQ(TaskIds(run), ids);
  EXPECT_FALSE(run.carry);
  EXPECT_EQ(world.w.records.GroupSizes(), std::vector<std::size_t>{3});
  const Reference want = OneByOne(LinkedTasks());
  EXPECT_EQ(world.w.records.Snapshot(), want.tables);
  for (std::size_t k = 0; k < ids.size(); ++k) {
    const auto task = world.Task(ids[k]);
    EXPECT_EQ(task.state, TaskState::kSuccess) << k;
    EXPECT_TRUE(task.finished_at) << k;
    EXPECT_EQ(task.counters, want.counters[k]) << k;
  }
  EXPECT_EQ(world.Task(ids[2]).counters.error_count, 1);  // the conflict, seen across the group
  EXPECT_EQ(world.w.queue.Acked(), ids);
  EXPECT_EQ(world.w.metrics.loaded, 6);
  EXPECT_EQ(world.w.metrics.rejected, 1);
}

TEST(LoadGroup, ATaskThatWouldOverflowBatchRowsIsCarriedUnstarted) {
  World world(16);
  const std::vector<domain::VisitRecord> four = {Record(1), Record(2), Record(3), Record(4)};
  const std::vector<domain::VisitRecord> other = {Record(5), Record(6), Record(7), Record(8)};
  const std::vector<domain::VisitRecord> third = {Record(9), Record(10), Record(11)};
  const auto a = world.Queue(four);
  const auto b = world.Queue(other);
  const auto c = world.Queue(third);
  World::Ran run = world.RunOnce();
  EXPECT_EQ(TaskIds(run), (std::vector<std::string>{a, b}));  // 8 rows; 11 would exceed 10
  ASSERT_TRUE(run.carry);
  EXPECT_EQ(run.carry->task_id, c);
  EXPECT_EQ(world.Task(c).state, TaskState::kPending);
  World::Ran next = world.RunOnce(run.carry);
  EXPECT_EQ(TaskIds(next), std::vector<std::string>{c});
  EXPECT_EQ(world.Task(c).state, TaskState::kSuccess);
  EXPECT_EQ(world.w.records.GroupSizes(), (std::vector<std::size_t>{2, 1}));
}

TEST(LoadGroup, MaxGroupedBatchesCapsTheClaims) {
  World world(2);
  const auto a = world.Queue({Record(1)});
  const auto b = world.Queue({Record(2)});
  const auto c = world.Queue({Record(3)});
  World::Ran run = world.RunOnce();
  EXPECT_EQ(TaskIds(run), (std::vector<std::string>{a, b}));
  EXPECT_FALSE(run.carry);
  EXPECT_EQ(world.w.queue.Pending(), std::vector<std::string>{c});  // not claimed
}

TEST(LoadGroup, ATaskLargerThanABatchRunsOnItsOwnInBatches) {
  World world(16);
  std::vector<domain::VisitRecord> big;
  for (int i = 1; i <= 25; ++i) big.push_back(Record(i));
  const auto id = world.Queue(big);
  World::Ran run = world.RunOnce();
  EXPECT_EQ(TaskIds(run), std::vector<std::string>{id});
  EXPECT_TRUE(world.w.records.GroupSizes().empty());
  EXPECT_EQ(world.w.records.AppliedBatches().size(), 3u);
  EXPECT_EQ(world.w.objects.Calls("Get"), 1);  // its size alone kept it out: read once
  EXPECT_EQ(world.Task(id).counters.patients_created, 25);
}

// A claimed task that cannot join (its object is gone) ends the claiming: the group is applied,
// then that task runs on its own and fails with its reason; the queue's last task is not claimed.
// A task whose object cannot be read runs on its own after the group: the objects are read once
// the claiming is over, so the claiming went on past it.
TEST(LoadGroup, ATaskWhoseObjectCannotBeReadRunsOnItsOwnAfterTheGroup) {
  World world(16);
  const auto a = world.Queue({Record(1)});
  const auto gone = world.Queue({Record(2)});
  const auto c = world.Queue({Record(3)});
  world.w.objects.Remove("upload_2.csv");
  World::Ran run = world.RunOnce();
  EXPECT_EQ(TaskIds(run), (std::vector<std::string>{a, c, gone}));
  EXPECT_EQ(world.Task(a).state, TaskState::kSuccess);
  EXPECT_EQ(world.Task(c).state, TaskState::kSuccess);
  EXPECT_EQ(world.Task(gone).state, TaskState::kFailure);
  EXPECT_EQ(world.Task(gone).failure_reason, "CSV object not found");
  EXPECT_TRUE(world.w.queue.Pending().empty());
}

// A task that cannot join (here: larger than a batch) ends the claiming and runs on its own.
TEST(LoadGroup, ATaskThatCannotJoinEndsTheClaimingAndRunsOnItsOwn) {
  World world(16);
  const auto a = world.Queue({Record(1)});
  std::vector<domain::VisitRecord> large;
  for (int i = 0; i < static_cast<int>(kBatchRows) + 1; ++i) large.push_back(Record(10 + i));
  const auto big = world.Queue(large);
  const auto c = world.Queue({Record(3)});
  World::Ran run = world.RunOnce();
  EXPECT_EQ(TaskIds(run), (std::vector<std::string>{a, big}));
  EXPECT_EQ(world.Task(big).state, TaskState::kSuccess);
  EXPECT_EQ(world.w.queue.Pending(), std::vector<std::string>{c});
}

// Every claim of a group comes before any of its objects is read: on SQLite the claims are short
// writes that go back to back before the other worker's waiting group; read between them, the
// next claim would wait for that group's whole transaction.
TEST(LoadGroup, TheGroupIsClaimedBeforeAnyObjectIsRead) {
  World world(16);
  for (int i = 1; i <= 3; ++i) world.Queue({Record(i)});
  auto first = world.ClaimNow();
  ASSERT_TRUE(first.has_value());
  std::vector<int> reads_at_claim;
  int applied = 0;
  auto carry = world.load->RunGroup(
      *first,
      [&] {
        reads_at_claim.push_back(world.w.objects.Gets());
        return world.ClaimNow();
      },
      [&](const TaskOutcome& done) { applied += done.outcome == LoadOutcome::kFinished; },
      [] { return false; });
  EXPECT_FALSE(carry.has_value());
  EXPECT_EQ(reads_at_claim, (std::vector<int>{0, 0, 0}));  // the third finds the queue empty
  EXPECT_EQ(world.w.objects.Gets(), 3);
  EXPECT_EQ(applied, 3);
  EXPECT_EQ(world.w.records.GroupSizes(), std::vector<std::size_t>{3});
}

// An object served in part cannot join either: it is retried on its own (and here stays cut, so
// its task fails after the retries), and nothing of it reaches the store.
TEST(LoadGroup, AnIncompleteObjectDoesNotJoin) {
  World world(16);
  const auto a = world.Queue({Record(1)});
  const auto cut = world.Queue({Record(2), Record(3)});
  ASSERT_OK(world.w.objects.Put("upload_2.csv", CsvOf({Record(2)})));
  World::Ran run = world.RunOnce();
  EXPECT_EQ(TaskIds(run), (std::vector<std::string>{a, cut}));
  EXPECT_EQ(world.Task(cut).state, TaskState::kFailure);
  EXPECT_EQ(world.w.records.PatientCount(), 1u);
}

TEST(LoadGroup, AGroupThatFailsToApplyRunsEachTaskOnItsOwn) {
  World world(16);
  world.w.records.FailNext(1, ErrorCode::kUnavailable, "ApplyBatches");
  std::vector<std::string> ids;
  for (const auto& records : LinkedTasks()) ids.push_back(world.Queue(records));
  World::Ran run = world.RunOnce();
  EXPECT_EQ(TaskIds(run), ids);
  const Reference want = OneByOne(LinkedTasks());
  EXPECT_EQ(world.w.records.Snapshot(), want.tables);
  for (std::size_t k = 0; k < ids.size(); ++k) {
    EXPECT_EQ(world.Task(ids[k]).state, TaskState::kSuccess) << k;
    EXPECT_EQ(world.Task(ids[k]).counters, want.counters[k]) << k;
  }
  EXPECT_EQ(world.w.records.AppliedBatches().size(), 3u);  // each once
  EXPECT_EQ(world.w.metrics.loaded, 6);
  EXPECT_EQ(world.w.metrics.rejected, 1);
}

TEST(LoadGroup, AQuickGroupDoesNotRenewItsLeases) {
  World world(16);
  world.Queue({Record(1)});
  world.Queue({Record(2)});
  world.RunOnce();
  EXPECT_EQ(world.w.queue.Calls("Extend"), 0);
}

TEST(LoadGroup, AMemberWhoseLeaseIsLostLeavesTheGroupUnapplied) {
  LoadOptions renewing = GroupOptions();
  renewing.group_lease_renewal = std::chrono::milliseconds(-1);  // every group renews
  World world(16, renewing);
  const auto a = world.Queue({Record(1)});
  const auto b = world.Queue({Record(2)});
  world.w.queue.FailNext(1, ErrorCode::kConflict, "Extend");
  World::Ran run = world.RunOnce();
  EXPECT_EQ(TaskIds(run), (std::vector<std::string>{a, b}));
  EXPECT_EQ(Outcomes(run), (std::vector<LoadOutcome>{LoadOutcome::kLost, LoadOutcome::kFinished}));
  EXPECT_EQ(world.w.records.GroupSizes(), std::vector<std::size_t>{1});
  EXPECT_EQ(world.Task(a).rows_done, 0);  // the worker that holds it now loads it
  EXPECT_EQ(world.Task(b).state, TaskState::kSuccess);
}

// Claimed twice (enqueued twice): it joins once; the copy runs after the group, finds the task
// finished and is acked too.
TEST(LoadGroup, ATaskDeliveredTwiceJoinsOnce) {
  World world(16);
  const auto a = world.Queue({Record(1), Record(2)});
  EXPECT_OK(world.w.queue.Enqueue(a));
  World::Ran run = world.RunOnce();
  EXPECT_EQ(TaskIds(run), (std::vector<std::string>{a, a}));
  EXPECT_EQ(Outcomes(run),
            (std::vector<LoadOutcome>{LoadOutcome::kFinished, LoadOutcome::kFinished}));
  EXPECT_EQ(world.w.records.GroupSizes(), std::vector<std::size_t>{1});
  EXPECT_EQ(world.Task(a).counters.processed_records, 2);
  EXPECT_TRUE(world.w.queue.Pending().empty());
}

// When tasks must run on their own after the group (here: the group failed to apply), the carry is
// handed back to the queue at once rather than held while they run.
TEST(LoadGroup, TheCarryIsHandedBackWhenTasksRunOnTheirOwn) {
  World world(16);
  world.w.records.FailNext(1, ErrorCode::kUnavailable, "ApplyBatches");
  const auto a = world.Queue({Record(1), Record(2), Record(3), Record(4)});
  const auto b = world.Queue({Record(5), Record(6), Record(7), Record(8)});
  const auto c = world.Queue({Record(9), Record(10), Record(11), Record(12)});
  World::Ran run = world.RunOnce();
  EXPECT_FALSE(run.carry);
  EXPECT_EQ(TaskIds(run), (std::vector<std::string>{c, a, b}));
  EXPECT_EQ(Outcomes(run), (std::vector<LoadOutcome>{LoadOutcome::kStopped, LoadOutcome::kFinished,
                                                     LoadOutcome::kFinished}));
  EXPECT_EQ(world.w.queue.Pending(), std::vector<std::string>{c});
  EXPECT_EQ(world.Task(c).state, TaskState::kPending);
  EXPECT_EQ(world.w.metrics.loaded, 8);
}

TEST(LoadGroup, AStopBeforeATaskRunsOnItsOwnHandsItBack) {
  World world(16);
  std::vector<domain::VisitRecord> big;
  for (int i = 1; i <= 25; ++i) big.push_back(Record(i));
  const auto id = world.Queue(big);
  World::Ran run = world.RunOnce(std::nullopt, [] { return true; });
  EXPECT_EQ(Outcomes(run), std::vector<LoadOutcome>{LoadOutcome::kStopped});
  EXPECT_EQ(world.Task(id).state, TaskState::kPending);
  EXPECT_EQ(world.w.queue.Pending(), std::vector<std::string>{id});
  EXPECT_TRUE(world.w.records.AppliedBatches().empty());
}

TEST(LoadGroup, ManyTasksDrainInGroupsOfAtMostBatchRows) {
  World world(16);
  std::vector<std::vector<domain::VisitRecord>> tasks;
  for (int t = 0; t < 12; ++t) tasks.push_back({Record(t), Record(100 + t), Record(200 + t % 3)});
  std::vector<std::string> ids;
  for (const auto& records : tasks) ids.push_back(world.Queue(records));
  world.Drain();
  EXPECT_EQ(world.w.records.GroupSizes(), (std::vector<std::size_t>{3, 3, 3, 3}));
  const Reference want = OneByOne(tasks);
  EXPECT_EQ(world.w.records.Snapshot(), want.tables);
  for (std::size_t k = 0; k < ids.size(); ++k) {
    EXPECT_EQ(world.Task(ids[k]).counters, want.counters[k]) << k;
  }
  EXPECT_EQ(world.w.queue.Acked(), ids);
}

}  // namespace
}  // namespace intake::app::testing
