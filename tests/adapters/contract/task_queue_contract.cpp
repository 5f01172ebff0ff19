// TaskQueue contract: claim order, leases (expiry, extend, lost), ack/release, depth, waking,
// and two processes sharing the storage never holding the same task.
//
// Leases are tested twice: with a ManualClock (deterministic; only on backends whose leases follow
// the clock given) and in real time with a short lease on every backend (Redis leases follow the
// server's clock). The real-time tests leave wide margins for slow sanitizer builds on a busy
// machine, and a "not claimable yet" check counts only when it finished inside the lease.
#include <atomic>
#include <future>
#include <mutex>
#include <set>
#include <thread>

#include "adapters/contract/backend.hpp"
#include "adapters/contract/test_util.hpp"

namespace intake::adapters::testing {
namespace {

using namespace std::chrono_literals;
using domain::TaskState;

// The lease of the real-time tests.
constexpr std::chrono::milliseconds kRealLease = 1000ms;

// For the tests that expire leases by advancing the ManualClock.
#define SKIP_UNLESS_LEASES_FOLLOW_CLOCK()                                                   \
  do {                                                                                      \
    if (!backend().LeasesFollowClock()) {                                                   \
      GTEST_SKIP() << GetParam().name << " leases follow their own clock (RealTime tests)"; \
    }                                                                                       \
  } while (false)

class TaskQueueContract : public BackendTest {
 protected:
  void SetUp() override {
    BackendTest::SetUp();
    if (IsSkipped()) return;
    queue_ = backend().NewQueue(30s, 5ms, &clock_);
  }

  void Submit(const std::string& id, ports::TaskQueue& queue) {
    ASSERT_OK(backend().tasks().CreateTask({id, id + ".csv", 1, clock_.Now()}));
    ASSERT_OK(queue.Enqueue(id));
  }
  void Submit(const std::string& id) { Submit(id, *queue_); }

  std::optional<ports::ClaimedTask> ClaimNow(ports::TaskQueue& queue, const std::string& worker) {
    auto claimed = queue.Claim(worker, 0ms);
    EXPECT_TRUE(claimed.has_value()) << Describe(claimed);
    return claimed ? *claimed : std::nullopt;
  }
  std::optional<ports::ClaimedTask> ClaimNow(const std::string& worker = "w1") {
    return ClaimNow(*queue_, worker);
  }
  // A queue whose leases run on real time: kRealLease, the system clock.
  std::unique_ptr<ports::TaskQueue> NewRealTimeQueue() {
    return backend().NewQueue(kRealLease, 20ms, nullptr);
  }
  static std::chrono::steady_clock::duration Since(std::chrono::steady_clock::time_point t) {
    return std::chrono::steady_clock::now() - t;
  }

  ManualClock clock_;
  std::unique_ptr<ports::TaskQueue> queue_;
};

TEST_P(TaskQueueContract, ClaimsOldestFirst) {
  Submit("a");
  Submit("b");
  Submit("c");
  std::vector<std::string> order;
  for (int i = 0; i < 3; ++i) {
    auto claimed = ClaimNow();
    ASSERT_TRUE(claimed.has_value());
    EXPECT_FALSE(claimed->receipt.empty());
    order.push_back(claimed->task_id);
  }
  EXPECT_EQ(order, (std::vector<std::string>{"a", "b", "c"}));
  EXPECT_FALSE(ClaimNow().has_value());
}

TEST_P(TaskQueueContract, EmptyQueueReturnsNothingAfterWait) {
  auto start = std::chrono::steady_clock::now();
  auto claimed = queue_->Claim("w1", 30ms);
  ASSERT_OK(claimed);
  EXPECT_FALSE(claimed->has_value());
  EXPECT_GE(std::chrono::steady_clock::now() - start, 30ms);
}

TEST_P(TaskQueueContract, ExpiredLeaseMakesTaskClaimableAgain) {
  SKIP_UNLESS_LEASES_FOLLOW_CLOCK();
  Submit("a");
  auto first = ClaimNow("w1");
  ASSERT_TRUE(first.has_value());
  clock_.Advance(29s);
  EXPECT_FALSE(ClaimNow("w2").has_value());
  clock_.Advance(2s);
  auto second = ClaimNow("w2");
  ASSERT_TRUE(second.has_value());
  EXPECT_EQ(second->task_id, "a");
  EXPECT_NE(second->receipt, first->receipt);
}

TEST_P(TaskQueueContract, ExtendKeepsTheLease) {
  SKIP_UNLESS_LEASES_FOLLOW_CLOCK();
  Submit("a");
  auto claimed = ClaimNow();
  ASSERT_TRUE(claimed.has_value());
  clock_.Advance(20s);
  ASSERT_OK(queue_->Extend(*claimed));
  clock_.Advance(20s);
  EXPECT_FALSE(ClaimNow("w2").has_value());
}

TEST_P(TaskQueueContract, ExtendAfterLeaseLostIsConflict) {
  SKIP_UNLESS_LEASES_FOLLOW_CLOCK();
  Submit("a");
  auto first = ClaimNow("w1");
  ASSERT_TRUE(first.has_value());
  clock_.Advance(31s);
  ASSERT_TRUE(ClaimNow("w2").has_value());
  EXPECT_CODE(queue_->Extend(*first), ErrorCode::kConflict);
}

TEST_P(TaskQueueContract, ExpiredLeaseMakesTaskClaimableAgainInRealTime) {
  auto queue = NewRealTimeQueue();
  Submit("a", *queue);
  auto start = std::chrono::steady_clock::now();
  auto first = ClaimNow(*queue, "w1");
  ASSERT_TRUE(first.has_value());
  auto claimed = std::chrono::steady_clock::now();
  std::this_thread::sleep_until(start + kRealLease * 3 / 10);
  auto early = ClaimNow(*queue, "w2");
  if (Since(start) < kRealLease) {
    EXPECT_FALSE(early.has_value()) << "claimable before expiry";
  }
  if (early.has_value()) return;
  std::this_thread::sleep_until(claimed + kRealLease * 16 / 10);
  auto second = ClaimNow(*queue, "w2");
  ASSERT_TRUE(second.has_value()) << "not claimable 1.6 leases after the claim";
  EXPECT_EQ(second->task_id, "a");
  EXPECT_NE(second->receipt, first->receipt);
}

TEST_P(TaskQueueContract, ExtendKeepsTheLeaseInRealTime) {
  auto queue = NewRealTimeQueue();
  Submit("a", *queue);
  auto claimed = ClaimNow(*queue, "w1");
  ASSERT_TRUE(claimed.has_value());
  std::this_thread::sleep_for(kRealLease * 6 / 10);
  auto extending = std::chrono::steady_clock::now();
  ASSERT_OK(queue->Extend(*claimed));
  // 1.2 leases after the claim: expired but for the Extend.
  std::this_thread::sleep_until(extending + kRealLease * 6 / 10);
  auto other = ClaimNow(*queue, "w2");
  if (Since(extending) < kRealLease) {
    EXPECT_FALSE(other.has_value()) << "Extend did not hold";
  }
}

TEST_P(TaskQueueContract, ExtendAfterLeaseLostIsConflictInRealTime) {
  auto queue = NewRealTimeQueue();
  Submit("a", *queue);
  auto first = ClaimNow(*queue, "w1");
  ASSERT_TRUE(first.has_value());
  std::this_thread::sleep_for(kRealLease * 16 / 10);
  auto taking = std::chrono::steady_clock::now();
  auto second = ClaimNow(*queue, "w2");
  ASSERT_TRUE(second.has_value()) << "not claimable 1.6 leases after the claim";
  EXPECT_NE(second->receipt, first->receipt);
  EXPECT_CODE(queue->Extend(*first), ErrorCode::kConflict);
  // The old holder's Release is not an error and does not hand the task back.
  EXPECT_OK(queue->Release(*first));
  auto third = ClaimNow(*queue, "w3");
  if (Since(taking) < kRealLease) {
    EXPECT_FALSE(third.has_value()) << "stale Release took effect";
  }
  if (third.has_value()) return;
  EXPECT_OK(queue->Extend(*second));
}

TEST_P(TaskQueueContract, ReleaseMakesTaskClaimableAtOnce) {
  Submit("a");
  auto claimed = ClaimNow();
  ASSERT_TRUE(claimed.has_value());
  EXPECT_FALSE(ClaimNow("w2").has_value());
  ASSERT_OK(queue_->Release(*claimed));
  auto again = ClaimNow("w2");
  ASSERT_TRUE(again.has_value());
  EXPECT_EQ(again->task_id, "a");
}

TEST_P(TaskQueueContract, AckedFinishedTaskIsNeverDeliveredAgain) {
  Submit("a");
  auto claimed = ClaimNow();
  ASSERT_TRUE(claimed.has_value());
  ASSERT_OK(backend().tasks().FinishTask("a", TaskState::kSuccess, std::nullopt, clock_.Now()));
  ASSERT_OK(queue_->Ack(*claimed));
  clock_.Advance(1h);
  EXPECT_FALSE(ClaimNow().has_value());
}

TEST_P(TaskQueueContract, ReplayedTaskIsDeliveredAgain) {
  Submit("a");
  auto claimed = ClaimNow();
  ASSERT_TRUE(claimed.has_value());
  ASSERT_OK(backend().tasks().FinishTask("a", TaskState::kSuccess, std::nullopt, clock_.Now()));
  ASSERT_OK(queue_->Ack(*claimed));
  ASSERT_OK(backend().tasks().ResetForReplay("a"));
  ASSERT_OK(queue_->Enqueue("a"));
  auto again = ClaimNow();
  ASSERT_TRUE(again.has_value());
  EXPECT_EQ(again->task_id, "a");
}

// A worker polling the database queue can claim a new task in the moment between its creation
// and Enqueue; Enqueue must not take that lease away and hand the task to a second worker.
TEST_P(TaskQueueContract, EnqueueKeepsALeaseTakenBeforeIt) {
  if (!backend().QueueInDatabase()) GTEST_SKIP() << "the broker delivers only enqueued tasks";
  ASSERT_OK(backend().tasks().CreateTask({"a", "a.csv", 1, clock_.Now()}));
  auto early = ClaimNow("w1");
  ASSERT_TRUE(early.has_value());
  ASSERT_OK(queue_->Enqueue("a"));
  EXPECT_FALSE(ClaimNow("w2").has_value());
  EXPECT_OK(queue_->Extend(*early));
}

// A finished task whose ack never arrived still holds its lease; a replay frees it at once.
TEST_P(TaskQueueContract, ReplayOfATaskWhoseAckWasLostIsClaimableAtOnce) {
  Submit("a");
  auto claimed = ClaimNow();
  ASSERT_TRUE(claimed.has_value());
  ASSERT_OK(backend().tasks().FinishTask("a", TaskState::kSuccess, std::nullopt, clock_.Now()));
  ASSERT_OK(backend().tasks().ResetForReplay("a"));
  ASSERT_OK(queue_->Enqueue("a"));
  auto again = ClaimNow("w2");
  ASSERT_TRUE(again.has_value());
  EXPECT_EQ(again->task_id, "a");
}

TEST_P(TaskQueueContract, DepthCountsWaitingAndRunningTasks) {
  Submit("a");
  Submit("b");
  Submit("c");
  auto claimed = ClaimNow();
  ASSERT_TRUE(claimed.has_value());
  EXPECT_EQ(*queue_->Depth(), 3);
  ASSERT_OK(backend().tasks().FinishTask(claimed->task_id, TaskState::kSuccess, std::nullopt,
                                         clock_.Now()));
  ASSERT_OK(queue_->Ack(*claimed));
  EXPECT_EQ(*queue_->Depth(), 2);
  EXPECT_OK(queue_->Check());
}

TEST_P(TaskQueueContract, EnqueueWakesAWaitingClaim) {
  auto slow = backend().NewQueue(30s, 10s, &clock_);  // polling alone would take 10 s
  ASSERT_OK(backend().tasks().CreateTask({"a", "a.csv", 1, clock_.Now()}));
  auto waiter = std::async(std::launch::async, [&] { return slow->Claim("w1", 10s); });
  std::this_thread::sleep_for(20ms);
  auto start = std::chrono::steady_clock::now();
  ASSERT_OK(slow->Enqueue("a"));
  ASSERT_EQ(waiter.wait_for(5s), std::future_status::ready);
  EXPECT_LT(std::chrono::steady_clock::now() - start, 5s);
  auto claimed = waiter.get();
  ASSERT_OK(claimed);
  ASSERT_TRUE(claimed->has_value());
  EXPECT_EQ((*claimed)->task_id, "a");
}

TEST_P(TaskQueueContract, WakeAllReleasesWaiters) {
  auto slow = backend().NewQueue(30s, 10s, &clock_);
  auto waiter = std::async(std::launch::async, [&] { return slow->Claim("w1", 10s); });
  std::this_thread::sleep_for(20ms);
  slow->WakeAll();
  ASSERT_EQ(waiter.wait_for(5s), std::future_status::ready);
  auto claimed = waiter.get();
  ASSERT_OK(claimed);
  EXPECT_FALSE(claimed->has_value());
}

TEST_P(TaskQueueContract, PeerSeesEnqueueByPolling) {
  auto peer = backend().OpenPeer();
  ASSERT_NE(peer, nullptr);
  auto peer_queue = peer->NewQueue(30s, 5ms, &clock_);
  auto waiter = std::async(std::launch::async, [&] { return peer_queue->Claim("p1", 5s); });
  std::this_thread::sleep_for(20ms);
  Submit("a");
  auto claimed = waiter.get();
  ASSERT_OK(claimed);
  ASSERT_TRUE(claimed->has_value());
  EXPECT_EQ((*claimed)->task_id, "a");
}

TEST_P(TaskQueueContract, TwoProcessesNeverClaimTheSameTask) {
  constexpr int kTasks = 60;
  for (int i = 0; i < kTasks; ++i) Submit("t" + std::to_string(i));
  auto peer = backend().OpenPeer();
  ASSERT_NE(peer, nullptr);
  std::vector<std::unique_ptr<ports::TaskQueue>> queues;
  queues.push_back(backend().NewQueue(30s, 5ms, &clock_));
  queues.push_back(peer->NewQueue(30s, 5ms, &clock_));
  std::mutex mu;
  std::vector<std::string> claimed;
  std::atomic<int> failures{0};
  std::vector<std::thread> workers;
  for (int w = 0; w < 6; ++w) {
    workers.emplace_back([&, w] {
      auto& queue = *queues[static_cast<std::size_t>(w % 2)];
      for (;;) {
        auto c = queue.Claim("w" + std::to_string(w), 0ms);
        if (!c) {
          ++failures;
          return;
        }
        if (!c->has_value()) return;
        std::lock_guard lock(mu);
        claimed.push_back((*c)->task_id);
      }
    });
  }
  for (auto& t : workers) t.join();
  EXPECT_EQ(failures.load(), 0);
  std::set<std::string> distinct(claimed.begin(), claimed.end());
  EXPECT_EQ(claimed.size(), static_cast<std::size_t>(kTasks));
  EXPECT_EQ(distinct.size(), static_cast<std::size_t>(kTasks));
}

INSTANTIATE_TEST_SUITE_P(All, TaskQueueContract, ::testing::ValuesIn(AllBackends()), BackendName);

}  // namespace
}  // namespace intake::adapters::testing
