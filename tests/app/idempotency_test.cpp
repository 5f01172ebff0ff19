#include "app/idempotency.hpp"

#include <gtest/gtest.h>

#include "app/test_util.hpp"

namespace intake::app::testing {
namespace {

using Kind = IdempotencyGate::Start::Kind;

std::string Sha256(std::string_view text, std::size_t piece = 0) {
  BodyHasher hasher;
  if (piece == 0) piece = text.size() + 1;
  for (std::size_t at = 0; at < text.size(); at += piece) hasher.Update(text.substr(at, piece));
  return hasher.HexDigest();
}

TEST(BodyHasher, ComputesSha256Hex) {
  EXPECT_EQ(Sha256(""), "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
  EXPECT_EQ(Sha256("abc"), "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
  EXPECT_EQ(Sha256("hello world, in pieces", 3), Sha256("hello world, in pieces"));
}

TEST(IdempotencyGate, KeyValidation) {
  EXPECT_TRUE(IdempotencyGate::IsValidKey("a"));
  EXPECT_TRUE(IdempotencyGate::IsValidKey(std::string(200, '~')));
  EXPECT_TRUE(IdempotencyGate::IsValidKey("key with spaces !"));
  EXPECT_FALSE(IdempotencyGate::IsValidKey(""));
  EXPECT_FALSE(IdempotencyGate::IsValidKey(std::string(201, 'k')));
  EXPECT_FALSE(IdempotencyGate::IsValidKey("tab\there"));
  EXPECT_FALSE(IdempotencyGate::IsValidKey("del\x7F"));
  EXPECT_FALSE(IdempotencyGate::IsValidKey("caf\xC3\xA9"));
}

class IdempotencyGateTest : public ::testing::Test {
 protected:
  FakeWorld w;
  IdempotencyGate gate{w.idempotency, w.clock};
};

TEST_F(IdempotencyGateTest, FirstUseProceedsThenRepeatComparesBodies) {
  auto first = gate.Begin("k1");
  ASSERT_OK(first);
  EXPECT_EQ(first->kind, Kind::kProceed);
  ASSERT_OK(gate.Complete("k1", Sha256("body"), "{\"task_id\":\"t\"}"));

  auto repeat = gate.Begin("k1");
  ASSERT_OK(repeat);
  ASSERT_EQ(repeat->kind, Kind::kCompare);
  auto same = IdempotencyGate::Decide(*repeat, Sha256("body"));
  ASSERT_OK(same);
  EXPECT_EQ(*same, "{\"task_id\":\"t\"}");

  auto different = IdempotencyGate::Decide(*repeat, Sha256("other body"));
  EXPECT_EQ(CodeOf(different), ErrorCode::kConflict);
  EXPECT_EQ(different.error().message,
            "Idempotency-Key was already used with a different request body");
}

TEST_F(IdempotencyGateTest, RepeatWhileInProgressIsReported) {
  ASSERT_OK(gate.Begin("k"));
  auto second = gate.Begin("k");
  ASSERT_OK(second);
  EXPECT_EQ(second->kind, Kind::kInProgress);
}

TEST_F(IdempotencyGateTest, StaleInProgressAfterTenMinutesIsTakenOver) {
  ASSERT_OK(gate.Begin("k"));
  w.clock.Advance(std::chrono::minutes(9));
  EXPECT_EQ(gate.Begin("k")->kind, Kind::kInProgress);
  w.clock.Advance(std::chrono::minutes(2));
  EXPECT_EQ(gate.Begin("k")->kind, Kind::kProceed);
}

TEST_F(IdempotencyGateTest, CompletedKeyIsForgottenAfterTwentyFourHours) {
  ASSERT_OK(gate.Begin("k"));
  ASSERT_OK(gate.Complete("k", Sha256("b"), "r"));
  w.clock.Advance(std::chrono::hours(23));
  EXPECT_EQ(gate.Begin("k")->kind, Kind::kCompare);
  w.clock.Advance(std::chrono::hours(2));
  EXPECT_EQ(gate.Begin("k")->kind, Kind::kProceed);
}

TEST_F(IdempotencyGateTest, AbandonedRequestIsNotRemembered) {
  ASSERT_OK(gate.Begin("k"));
  ASSERT_OK(gate.Abandon("k"));
  EXPECT_EQ(gate.Begin("k")->kind, Kind::kProceed);
}

TEST_F(IdempotencyGateTest, StoreOutagePropagates) {
  w.idempotency.FailNext(1);
  EXPECT_EQ(CodeOf(gate.Begin("k")), ErrorCode::kUnavailable);
}

}  // namespace
}  // namespace intake::app::testing
