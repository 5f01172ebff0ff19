// ObjectStore contract: durable put, streaming writes (commit / abort), bad keys, missing keys.
#include "adapters/contract/object_store_contract.hpp"

#include <gtest/gtest.h>

#include "adapters/contract/test_util.hpp"

namespace intake::adapters::testing {
namespace {

std::string ObjectStoreName(const ::testing::TestParamInfo<ObjectStoreFactory>& info) {
  return info.param.name;
}

// Reads a whole object through `chunk`-byte reads.
Result<std::string> ReadAll(ports::ObjectStore& store, std::string_view key,
                            std::size_t chunk = 4096) {
  auto reader = store.Get(key);
  if (!reader) return ErrorFrom(reader);
  std::string out;
  std::string buffer(chunk, '\0');
  for (;;) {
    auto n = (*reader)->Read(buffer.data(), buffer.size());
    if (!n) return ErrorFrom(n);
    if (*n == 0) return out;
    out.append(buffer.data(), *n);
  }
}

class ObjectStoreContract : public ::testing::TestWithParam<ObjectStoreFactory> {
 protected:
  void SetUp() override {
    harness_ = GetParam().make();
    if (harness_ == nullptr) GTEST_SKIP() << GetParam().name << " is not configured";
  }
  ports::ObjectStore& store() { return harness_->store(); }

  std::unique_ptr<ObjectStoreHarness> harness_;
};

TEST_P(ObjectStoreContract, PutIsReadableAndDurable) {
  constexpr char kRaw[] = "mrn,first_name\r\n\"00123\",\"Zoë\"\r\n\0tail";
  const std::string bytes(kRaw, sizeof(kRaw) - 1);
  ASSERT_OK(store().Put("patient_intake_20240101_120000_3f9c2a1b.csv", bytes));
  auto read = ReadAll(store(), "patient_intake_20240101_120000_3f9c2a1b.csv");
  ASSERT_OK(read);
  EXPECT_EQ(*read, bytes);
  auto reopened = harness_->Reopen();
  auto again = ReadAll(*reopened, "patient_intake_20240101_120000_3f9c2a1b.csv");
  ASSERT_OK(again);
  EXPECT_EQ(*again, bytes);
}

TEST_P(ObjectStoreContract, EmptyObjectRoundTrips) {
  ASSERT_OK(store().Put("empty.csv", ""));
  auto read = ReadAll(store(), "empty.csv");
  ASSERT_OK(read);
  EXPECT_EQ(*read, "");
}

TEST_P(ObjectStoreContract, StreamingWriterIsInvisibleUntilCommit) {
  auto writer = store().BeginPut("big.csv");
  ASSERT_OK(writer);
  std::string expected;
  for (int i = 0; i < 1000; ++i) {
    std::string line = "row-" + std::to_string(i) + ",value\n";
    ASSERT_OK((*writer)->Write(line));
    expected += line;
  }
  EXPECT_EQ((*writer)->bytes_written(), expected.size());
  EXPECT_CODE(store().Get("big.csv"), ErrorCode::kNotFound);
  ASSERT_OK((*writer)->Commit());
  auto read = ReadAll(store(), "big.csv", 7);
  ASSERT_OK(read);
  EXPECT_EQ(*read, expected);
}

TEST_P(ObjectStoreContract, WriterDestroyedWithoutCommitLeavesNothing) {
  {
    auto writer = store().BeginPut("aborted.csv");
    ASSERT_OK(writer);
    ASSERT_OK((*writer)->Write("partial"));
  }
  EXPECT_CODE(store().Get("aborted.csv"), ErrorCode::kNotFound);
  ASSERT_OK(store().Put("aborted.csv", "later"));
  auto read = ReadAll(store(), "aborted.csv");
  ASSERT_OK(read);
  EXPECT_EQ(*read, "later");
}

TEST_P(ObjectStoreContract, MissingKeyIsNotFound) {
  EXPECT_CODE(store().Get("nothing-here.csv"), ErrorCode::kNotFound);
}

TEST_P(ObjectStoreContract, BadKeysAreRejected) {
  const std::vector<std::string> bad = {"",  "a/b.csv",  "../x.csv",           "..",
                                        ".", "/abs.csv", std::string(300, 'k')};
  for (const auto& key : bad) {
    SCOPED_TRACE("key '" + key + "'");
    EXPECT_CODE(store().Put(key, "x"), ErrorCode::kInvalidArgument);
    EXPECT_CODE(store().BeginPut(key), ErrorCode::kInvalidArgument);
    EXPECT_CODE(store().Get(key), ErrorCode::kInvalidArgument);
  }
}

TEST_P(ObjectStoreContract, EnsureBucketIsIdempotentAndCheckPasses) {
  ASSERT_OK(store().EnsureBucket());
  ASSERT_OK(store().EnsureBucket());
  EXPECT_OK(store().Check());
}

INSTANTIATE_TEST_SUITE_P(All, ObjectStoreContract, ::testing::ValuesIn(AllObjectStores()),
                         ObjectStoreName);

}  // namespace
}  // namespace intake::adapters::testing
