// IdempotencyStore contract: hold, in-progress, done, abandon, staleness and expiry.
#include "adapters/contract/backend.hpp"
#include "adapters/contract/test_util.hpp"

namespace intake::adapters::testing {
namespace {

using namespace std::chrono_literals;
using Kind = ports::IdempotencyBegin::Kind;

constexpr std::chrono::seconds kTtl = 24h;
constexpr std::chrono::seconds kStale = 60s;

class IdempotencyStoreContract : public BackendTest {
 protected:
  ports::IdempotencyStore& store() { return backend().idempotency(); }
  Result<ports::IdempotencyBegin> Begin(const std::string& key, std::chrono::seconds at) {
    return store().Begin(key, t0_ + at, kTtl, kStale);
  }
  Kind KindAt(const std::string& key, std::chrono::seconds at) {
    auto begun = Begin(key, at);
    EXPECT_TRUE(begun.has_value()) << Describe(begun);
    return begun ? begun->kind : Kind::kStarted;
  }

  std::chrono::system_clock::time_point t0_ = ManualClock().Now();
};

TEST_P(IdempotencyStoreContract, FirstBeginHoldsTheKey) {
  EXPECT_EQ(KindAt("k1", 0s), Kind::kStarted);
  EXPECT_EQ(KindAt("k1", 1s), Kind::kInProgress);
  EXPECT_EQ(KindAt("k2", 1s), Kind::kStarted);
}

TEST_P(IdempotencyStoreContract, CompletedKeyReturnsStoredResponse) {
  ASSERT_EQ(KindAt("k", 0s), Kind::kStarted);
  ASSERT_OK(store().Complete("k", "abc123", R"({"task_id":"t"})"));
  auto again = Begin("k", 3600s);
  ASSERT_OK(again);
  EXPECT_EQ(again->kind, Kind::kDone);
  EXPECT_EQ(again->body_sha256, "abc123");
  EXPECT_EQ(again->response_body, R"({"task_id":"t"})");
}

TEST_P(IdempotencyStoreContract, AbandonedKeyIsFreeAgain) {
  ASSERT_EQ(KindAt("k", 0s), Kind::kStarted);
  ASSERT_OK(store().Abandon("k"));
  EXPECT_EQ(KindAt("k", 1s), Kind::kStarted);
}

TEST_P(IdempotencyStoreContract, StaleInProgressKeyIsTakenOver) {
  ASSERT_EQ(KindAt("k", 0s), Kind::kStarted);
  EXPECT_EQ(KindAt("k", 59s), Kind::kInProgress);
  EXPECT_EQ(KindAt("k", 61s), Kind::kStarted);
  EXPECT_EQ(KindAt("k", 62s), Kind::kInProgress);
}

TEST_P(IdempotencyStoreContract, DoneKeyExpiresAfterTtl) {
  ASSERT_EQ(KindAt("k", 0s), Kind::kStarted);
  ASSERT_OK(store().Complete("k", "h", "r"));
  EXPECT_EQ(KindAt("k", kTtl - 1s), Kind::kDone);
  EXPECT_EQ(KindAt("k", kTtl + 1s), Kind::kStarted);
}

TEST_P(IdempotencyStoreContract, DoneKeyIsNotAbandoned) {
  ASSERT_EQ(KindAt("k", 0s), Kind::kStarted);
  ASSERT_OK(store().Complete("k", "h", "r"));
  ASSERT_OK(store().Abandon("k"));
  EXPECT_EQ(KindAt("k", 1s), Kind::kDone);
}

INSTANTIATE_TEST_SUITE_P(All, IdempotencyStoreContract, ::testing::ValuesIn(AllBackends()),
                         BackendName);

}  // namespace
}  // namespace intake::adapters::testing
