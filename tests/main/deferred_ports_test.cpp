#include "main/deferred_ports.hpp"

#include <gtest/gtest.h>

#include <thread>

namespace intake::main_ {
namespace {

class StubObjectStore final : public ports::ObjectStore {
 public:
  Status EnsureBucket() override { return {}; }
  Status Put(std::string_view, std::string_view) override {
    ++puts;
    return {};
  }
  Result<std::unique_ptr<ports::ObjectWriter>> BeginPut(std::string_view) override {
    return Internal("unused");
  }
  Result<std::unique_ptr<ports::ObjectReader>> Get(std::string_view) override {
    return NotFound("no such object");
  }
  Status Check() override { return {}; }
  int puts = 0;
};

TEST(DeferredPorts, AnswerUnavailableWithTheReasonUntilPublished) {
  ObjectStoreGate gate("object_store");
  gate.SetReason("cannot create object folder /x: Permission denied");
  DeferredObjectStore store(gate);
  const auto check = store.Check();
  ASSERT_FALSE(check.has_value());
  EXPECT_EQ(check.error().code, ErrorCode::kUnavailable);
  EXPECT_EQ(check.error().message,
            "object_store not ready: cannot create object folder /x: Permission denied");
  EXPECT_FALSE(store.Put("k", "v").has_value());
}

TEST(DeferredPorts, ForwardOncePublished) {
  ObjectStoreGate gate("object_store");
  StubObjectStore real;
  DeferredObjectStore store(gate);
  gate.Publish(&real);
  EXPECT_TRUE(store.Check().has_value());
  EXPECT_TRUE(store.Put("k", "v").has_value());
  EXPECT_EQ(real.puts, 1);
  const auto got = store.Get("missing");
  ASSERT_FALSE(got.has_value());
  EXPECT_EQ(got.error().code, ErrorCode::kNotFound);
}

TEST(DeferredPorts, DatabasePortsShareOneGate) {
  DatabaseGate gate("database");
  DeferredRecordStore records(gate);
  DeferredTaskStore tasks(gate);
  DeferredIdempotencyStore idempotency(gate);
  EXPECT_EQ((records.Check()).error().message, "database not ready: starting");
  EXPECT_EQ((tasks.GetTask("t", false)).error().code, ErrorCode::kUnavailable);
  EXPECT_EQ((idempotency.Abandon("k")).error().code, ErrorCode::kUnavailable);
}

TEST(DeferredPorts, ClaimOnAQueueNotReadyWaitsThenFindsNothing) {
  TaskQueueGate gate("queue");
  DeferredTaskQueue queue(gate);
  const auto start = std::chrono::steady_clock::now();
  auto claimed = queue.Claim("w", std::chrono::milliseconds(50));
  ASSERT_TRUE(claimed.has_value());
  EXPECT_FALSE(claimed->has_value());
  EXPECT_GE(std::chrono::steady_clock::now() - start, std::chrono::milliseconds(40));
  EXPECT_EQ((queue.Enqueue("t")).error().code, ErrorCode::kUnavailable);
}

TEST(DeferredPorts, WakeAllEndsAWaitingClaimOnAQueueNotReady) {
  TaskQueueGate gate("queue");
  DeferredTaskQueue queue(gate);
  std::thread waker([&] {
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
    queue.WakeAll();
  });
  const auto start = std::chrono::steady_clock::now();
  auto claimed = queue.Claim("w", std::chrono::seconds(30));
  waker.join();
  ASSERT_TRUE(claimed.has_value());
  EXPECT_LT(std::chrono::steady_clock::now() - start, std::chrono::seconds(10));
}

}  // namespace
}  // namespace intake::main_
