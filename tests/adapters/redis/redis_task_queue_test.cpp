// RedisTaskQueue against a real server (INTAKE_TEST_REDIS_URL; skipped when unset), beyond the
// contract suite: reclaiming from a vanished consumer, lost leases, waking, concurrency. Each test
// uses a fresh stream, deleted afterwards.
#include "adapters/redis/redis_task_queue.hpp"

#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cstdlib>
#include <future>
#include <mutex>
#include <set>
#include <thread>

#include "adapters/contract/test_util.hpp"
#include "adapters/redis/redis_backend.hpp"

namespace intake::adapters::redis {
namespace {

using namespace std::chrono_literals;
using testing::CodeOf;
using testing::Describe;
using testing::ErrorFrom;
using Clock = std::chrono::steady_clock;

constexpr std::chrono::milliseconds kShortLease = 1000ms;

// A 127.0.0.1 port nothing listens on (bound, then released).
int ClosedPort() {
  int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  addr.sin_port = 0;
  socklen_t len = sizeof(addr);
  if (::bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) != 0 ||
      ::getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len) != 0) {
    ::close(fd);
    return 1;
  }
  ::close(fd);
  return ntohs(addr.sin_port);
}

TEST(RedisTaskQueueOpen, UnreachableServerIsUnavailableFastWithoutPassword) {
  int port = ClosedPort();
  RedisQueueOptions options;
  options.url = "redis://:hunter2@127.0.0.1:" + std::to_string(port) + "/0";
  auto start = Clock::now();
  auto queue = RedisTaskQueue::Open(options);
  EXPECT_LT(Clock::now() - start, 2s);
  ASSERT_FALSE(queue.has_value());
  auto error = ErrorFrom(queue);
  EXPECT_EQ(error.code, ErrorCode::kUnavailable) << error.message;
  EXPECT_NE(error.message.find("127.0.0.1:" + std::to_string(port)), std::string::npos)
      << error.message;
  EXPECT_EQ(error.message.find("hunter2"), std::string::npos) << error.message;
}

TEST(RedisTaskQueueOpen, BadUrlIsInvalidArgument) {
  RedisQueueOptions options;
  options.url = "amqp://guest:hunter2@localhost";
  auto queue = RedisTaskQueue::Open(options);
  ASSERT_FALSE(queue.has_value());
  EXPECT_EQ(ErrorFrom(queue).code, ErrorCode::kInvalidArgument);
  EXPECT_EQ(ErrorFrom(queue).message.find("hunter2"), std::string::npos);
}

class RedisTaskQueueTest : public ::testing::Test {
 protected:
  void SetUp() override {
    const char* url = std::getenv("INTAKE_TEST_REDIS_URL");
    if (url == nullptr || *url == '\0') GTEST_SKIP() << "INTAKE_TEST_REDIS_URL is not set";
    url_ = url;
    stream_ = testing::RandomStreamName();
  }
  void TearDown() override {
    if (!url_.empty()) testing::DeleteRedisStream(url_, stream_);
  }

  std::unique_ptr<RedisTaskQueue> Open(std::chrono::milliseconds lease = 30s,
                                       std::chrono::milliseconds poll = 20ms) {
    RedisQueueOptions options;
    options.url = url_;
    options.stream = stream_;
    options.visibility_timeout = lease;
    options.poll = poll;
    return std::move(RedisTaskQueue::Open(options).value());
  }
  static std::optional<ports::ClaimedTask> ClaimNow(ports::TaskQueue& queue,
                                                    const std::string& worker) {
    auto claimed = queue.Claim(worker, 0ms);
    EXPECT_TRUE(claimed.has_value()) << Describe(claimed);
    return claimed ? *claimed : std::nullopt;
  }

  std::string url_;
  std::string stream_;
};

TEST_F(RedisTaskQueueTest, ReclaimsFromAVanishedConsumerAfterTheVisibilityTimeoutNotBefore) {
  auto survivor = Open(kShortLease);
  auto start = Clock::now();
  {
    auto doomed = Open(kShortLease);
    ASSERT_OK(doomed->Enqueue("t1"));
    ASSERT_TRUE(ClaimNow(*doomed, "doomed").has_value());
  }  // the holder vanishes without Ack or Release
  std::this_thread::sleep_until(start + kShortLease * 3 / 10);
  auto early = ClaimNow(*survivor, "survivor");
  if (Clock::now() - start < kShortLease) {
    EXPECT_FALSE(early.has_value());
  }
  std::this_thread::sleep_until(Clock::now() + kShortLease * 16 / 10);
  auto late = early ? early : ClaimNow(*survivor, "survivor");
  ASSERT_TRUE(late.has_value());
  EXPECT_EQ(late->task_id, "t1");
}

TEST_F(RedisTaskQueueTest, ExtendFromTheOldHolderAfterReclaimIsConflict) {
  auto old_holder = Open(kShortLease);
  auto new_holder = Open(kShortLease);
  ASSERT_OK(old_holder->Enqueue("t1"));
  auto first = ClaimNow(*old_holder, "old");
  ASSERT_TRUE(first.has_value());
  std::this_thread::sleep_for(kShortLease * 16 / 10);
  auto second = ClaimNow(*new_holder, "new");
  ASSERT_TRUE(second.has_value());
  EXPECT_EQ(second->task_id, "t1");
  EXPECT_CODE(old_holder->Extend(*first), ErrorCode::kConflict);
  EXPECT_OK(new_holder->Extend(*second));
  // The same consumer name reclaiming its own message also voids the older receipt.
  std::this_thread::sleep_for(kShortLease * 16 / 10);
  auto third = ClaimNow(*new_holder, "new");
  ASSERT_TRUE(third.has_value());
  EXPECT_CODE(new_holder->Extend(*second), ErrorCode::kConflict);
  EXPECT_OK(new_holder->Extend(*third));
}

TEST_F(RedisTaskQueueTest, ReleaseVoidsTheReceiptAndHandsTheTaskOver) {
  auto queue = Open();
  ASSERT_OK(queue->Enqueue("t1"));
  auto first = ClaimNow(*queue, "w1");
  ASSERT_TRUE(first.has_value());
  ASSERT_OK(queue->Release(*first));
  EXPECT_CODE(queue->Extend(*first), ErrorCode::kConflict);
  EXPECT_OK(queue->Release(*first));  // again: lost, not an error
  auto second = ClaimNow(*queue, "w2");
  ASSERT_TRUE(second.has_value());
  EXPECT_EQ(second->task_id, "t1");
  EXPECT_OK(queue->Extend(*second));
}

TEST_F(RedisTaskQueueTest, AckRemovesTheMessageForGood) {
  auto queue = Open(kShortLease);
  ASSERT_OK(queue->Enqueue("t1"));
  ASSERT_OK(queue->Enqueue("t2"));
  EXPECT_EQ(*queue->Depth(), 2);
  auto first = ClaimNow(*queue, "w1");
  ASSERT_TRUE(first.has_value());
  EXPECT_EQ(first->task_id, "t1");
  EXPECT_EQ(*queue->Depth(), 2);  // in flight still counts
  ASSERT_OK(queue->Ack(*first));
  EXPECT_EQ(*queue->Depth(), 1);
  auto second = ClaimNow(*queue, "w1");
  ASSERT_TRUE(second.has_value());
  EXPECT_EQ(second->task_id, "t2");
  ASSERT_OK(queue->Ack(*second));
  EXPECT_OK(queue->Ack(*second));  // twice is harmless
  EXPECT_EQ(*queue->Depth(), 0);
  std::this_thread::sleep_for(kShortLease * 16 / 10);
  EXPECT_FALSE(ClaimNow(*queue, "w2").has_value());
}

TEST_F(RedisTaskQueueTest, WakeAllEndsABlockedClaimPromptly) {
  auto queue = Open(30s, 5s);
  std::vector<std::future<Result<std::optional<ports::ClaimedTask>>>> waiters;
  for (int w = 0; w < 3; ++w) {
    waiters.push_back(std::async(std::launch::async,
                                 [&, w] { return queue->Claim("w" + std::to_string(w), 30s); }));
  }
  std::this_thread::sleep_for(200ms);
  auto start = Clock::now();
  queue->WakeAll();
  for (auto& waiter : waiters) {
    ASSERT_EQ(waiter.wait_for(1500ms), std::future_status::ready);
    auto claimed = waiter.get();
    ASSERT_OK(claimed);
    EXPECT_FALSE(claimed->has_value());
  }
  EXPECT_LT(Clock::now() - start, 1500ms);
  // The queue still works afterwards, and a later Claim is not woken by the earlier WakeAll.
  ASSERT_OK(queue->Enqueue("t1"));
  auto after = queue->Claim("w1", 1s);
  ASSERT_OK(after);
  ASSERT_TRUE(after->has_value());
  EXPECT_EQ((*after)->task_id, "t1");
}

TEST_F(RedisTaskQueueTest, EnqueueFromAnotherQueueWakesAWaitingClaim) {
  auto consumer = Open(30s, 10s);
  auto producer = Open();
  auto waiter = std::async(std::launch::async, [&] { return consumer->Claim("w1", 10s); });
  std::this_thread::sleep_for(200ms);
  auto start = Clock::now();
  ASSERT_OK(producer->Enqueue("t1"));
  ASSERT_EQ(waiter.wait_for(2s), std::future_status::ready);
  EXPECT_LT(Clock::now() - start, 1s);
  auto claimed = waiter.get();
  ASSERT_OK(claimed);
  ASSERT_TRUE(claimed->has_value());
  EXPECT_EQ((*claimed)->task_id, "t1");
}

TEST_F(RedisTaskQueueTest, ManyConcurrentClaimersReceiveEachTaskExactlyOnce) {
  constexpr int kTasks = 200;
  auto queue = Open();
  for (int i = 0; i < kTasks; ++i) ASSERT_OK(queue->Enqueue("t" + std::to_string(i)));
  std::mutex mu;
  std::vector<std::string> received;
  std::atomic<int> failures{0};
  std::vector<std::thread> workers;
  for (int w = 0; w < 4; ++w) {
    workers.emplace_back([&, w] {
      for (;;) {
        auto claimed = queue->Claim("w" + std::to_string(w), 100ms);
        if (!claimed || !claimed->has_value()) {
          if (!claimed) ++failures;
          return;
        }
        if (!queue->Ack(**claimed)) ++failures;
        std::lock_guard lock(mu);
        received.push_back((*claimed)->task_id);
      }
    });
  }
  for (auto& t : workers) t.join();
  EXPECT_EQ(failures.load(), 0);
  EXPECT_EQ(received.size(), static_cast<std::size_t>(kTasks));
  EXPECT_EQ(std::set<std::string>(received.begin(), received.end()).size(),
            static_cast<std::size_t>(kTasks));
  EXPECT_EQ(*queue->Depth(), 0);
}

TEST_F(RedisTaskQueueTest, RecreatesTheGroupWhenTheStreamWasDeleted) {
  auto queue = Open();
  testing::DeleteRedisStream(url_, stream_);
  ASSERT_OK(queue->Enqueue("t1"));  // XADD re-creates the stream, without the group
  auto claimed = ClaimNow(*queue, "w1");
  ASSERT_TRUE(claimed.has_value());
  EXPECT_EQ(claimed->task_id, "t1");
  ASSERT_OK(queue->Ack(*claimed));
  EXPECT_OK(queue->Check());
}

TEST_F(RedisTaskQueueTest, ClaimsOldestReclaimableBeforeNewMessages) {
  auto queue = Open(kShortLease);
  ASSERT_OK(queue->Enqueue("old"));
  ASSERT_TRUE(ClaimNow(*queue, "dead").has_value());
  ASSERT_OK(queue->Enqueue("new"));
  std::this_thread::sleep_for(kShortLease * 16 / 10);
  auto first = ClaimNow(*queue, "w1");
  ASSERT_TRUE(first.has_value());
  EXPECT_EQ(first->task_id, "old");
  auto second = ClaimNow(*queue, "w1");
  ASSERT_TRUE(second.has_value());
  EXPECT_EQ(second->task_id, "new");
}

// XINFO CONSUMERS names of the test stream's group.
std::set<std::string> ConsumerNames(const std::string& url, const std::string& stream) {
  auto endpoint = ParseRedisUrl(url);
  EXPECT_TRUE(endpoint.has_value());
  auto conn = RedisConnection::Connect(*endpoint, 2s, 2s);
  EXPECT_TRUE(conn.has_value());
  auto reply = (*conn)->Command({"XINFO", "CONSUMERS", stream, "intake-workers"});
  EXPECT_TRUE(reply.has_value() && reply->IsArray());
  std::set<std::string> names;
  for (const auto& consumer : reply->elements) {
    for (std::size_t i = 0; i + 1 < consumer.elements.size(); i += 2) {
      if (consumer.elements[i].str == "name") names.insert(consumer.elements[i + 1].str);
    }
  }
  return names;
}

TEST_F(RedisTaskQueueTest, ClosingDeletesItsIdleConsumersButKeepsThoseHoldingTasks) {
  {
    auto queue = Open();
    ASSERT_OK(queue->Enqueue("done"));
    ASSERT_OK(queue->Enqueue("held"));
    auto done = ClaimNow(*queue, "w-done");
    ASSERT_TRUE(done.has_value());
    ASSERT_OK(queue->Ack(*done));
    ASSERT_TRUE(ClaimNow(*queue, "w-held").has_value());
    EXPECT_EQ(ConsumerNames(url_, stream_), (std::set<std::string>{"w-done", "w-held"}));
  }
  // "w-held" still holds a task another worker must be able to reclaim.
  EXPECT_EQ(ConsumerNames(url_, stream_), (std::set<std::string>{"w-held"}));
  auto survivor = Open();
  EXPECT_EQ(ConsumerNames(url_, stream_), (std::set<std::string>{"w-held"}));
}

}  // namespace
}  // namespace intake::adapters::redis
