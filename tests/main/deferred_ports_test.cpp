#include "main/deferred_ports.hpp"

#include <gtest/gtest.h>

#include <functional>
#include <span>
#include <thread>
#include <vector>

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

// A store that groups: the deferred port must pass that on (a port that did not group would keep
// every worker on one transaction per task).
class StubRecordStore final : public ports::RecordStore {
 public:
  Result<domain::TaskCounters> ApplyBatch(const ports::BatchInput&) override {
    return Internal("unused");
  }
  std::size_t MaxGroupedBatches() const override { return 7; }
  bool OverlapsBatches() const override { return true; }
  Result<domain::TaskCounters> ApplyBatchInTurn(const ports::BatchInput&,
                                                const std::function<void()>& in_turn) override {
    in_turn();
    ++in_turn_applied;
    return domain::TaskCounters{};
  }
  Result<std::vector<domain::TaskCounters>> ApplyBatches(
      std::span<const ports::BatchInput> batches) override {
    grouped += static_cast<int>(batches.size());
    return std::vector<domain::TaskCounters>(batches.size());
  }
  Result<ports::PatientPage> ListPatients(const ports::PatientFilter&, std::int64_t,
                                          std::int64_t) override {
    return Internal("unused");
  }
  Result<ports::PatientView> GetPatient(std::int64_t) override { return Internal("unused"); }
  Status Check() override { return {}; }
  int grouped = 0;
  int in_turn_applied = 0;
};

TEST(DeferredPorts, RecordStoreGroupsOnlyOncePublishedAndAsTheRealOne) {
  DatabaseGate gate("database");
  DeferredRecordStore records(gate);
  EXPECT_EQ(records.MaxGroupedBatches(), 1u);
  const std::vector<ports::BatchInput> batches(2);
  EXPECT_EQ(records.ApplyBatches(batches).error().code, ErrorCode::kUnavailable);
  StubRecordStore real;
  DatabasePorts ports_{&real, nullptr, nullptr};
  gate.Publish(&ports_);
  EXPECT_EQ(records.MaxGroupedBatches(), 7u);
  auto applied = records.ApplyBatches(batches);
  ASSERT_TRUE(applied.has_value());
  EXPECT_EQ(applied->size(), 2u);
  EXPECT_EQ(real.grouped, 2);
}

// And one that overlaps a task's batches: passed on too (else a task's batches on PostgreSQL
// would load one after the other).
TEST(DeferredPorts, RecordStoreOverlapsOnlyOncePublishedAndAsTheRealOne) {
  DatabaseGate gate("database");
  DeferredRecordStore records(gate);
  EXPECT_FALSE(records.OverlapsBatches());
  int told = 0;
  auto tell = [&] { ++told; };
  EXPECT_EQ(records.ApplyBatchInTurn({}, tell).error().code, ErrorCode::kUnavailable);
  EXPECT_EQ(told, 1);  // a batch that failed is told too
  StubRecordStore real;
  DatabasePorts ports_{&real, nullptr, nullptr};
  gate.Publish(&ports_);
  EXPECT_TRUE(records.OverlapsBatches());
  EXPECT_TRUE(records.ApplyBatchInTurn({}, tell).has_value());
  EXPECT_EQ(told, 2);
  EXPECT_EQ(real.in_turn_applied, 1);
}

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
