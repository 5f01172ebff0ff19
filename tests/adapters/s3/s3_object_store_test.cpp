// S3ObjectStore beyond the ObjectStore contract, against the server named by INTAKE_TEST_S3_URL
// (skipped when unset): multipart streaming, aborts, key encoding, bad credentials. The
// unreachable-endpoint tests need no server and always run.
#include "adapters/s3/s3_object_store.hpp"

#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <thread>

#include "adapters/contract/test_util.hpp"
#include "adapters/s3/s3_backend.hpp"

namespace intake::adapters::testing {
namespace {

constexpr std::size_t kPart = 5 * 1024 * 1024;

// Deterministic bytes that differ at every offset of a part (so a misplaced range shows).
std::string Pattern(std::size_t size) {
  std::string out(size, '\0');
  for (std::size_t i = 0; i < size; ++i) out[i] = static_cast<char>((i * 131 + i / 9973) & 0xFF);
  return out;
}

Result<std::string> ReadAll(ports::ObjectStore& store, std::string_view key, std::size_t chunk) {
  auto reader = store.Get(key);
  if (!reader) return ErrorFrom(reader);
  std::string out, buffer(chunk, '\0');
  for (;;) {
    auto n = (*reader)->Read(buffer.data(), buffer.size());
    if (!n) return ErrorFrom(n);
    if (*n == 0) return out;
    out.append(buffer.data(), *n);
  }
}

// A port nothing listens on: bound, then closed.
int ClosedPort() {
  int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  socklen_t len = sizeof(addr);
  ::bind(fd, reinterpret_cast<sockaddr*>(&addr), len);
  ::getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len);
  ::close(fd);
  return ntohs(addr.sin_port);
}

class S3ObjectStoreTest : public ::testing::Test {
 protected:
  void SetUp() override {
    if (TestS3Url().empty()) GTEST_SKIP() << "INTAKE_TEST_S3_URL is not set";
    bucket_ = RandomBucketName();
    store_ = std::make_unique<s3::S3ObjectStore>(TestS3Options(bucket_));
    ASSERT_OK(store_->EnsureBucket());
  }
  s3::S3ObjectStore& store() { return *store_; }

  std::string bucket_;
  std::unique_ptr<s3::S3ObjectStore> store_;
};

TEST_F(S3ObjectStoreTest, StreamedObjectLargerThanTwoPartsReadsBackIdentical) {
  const std::string data = Pattern(12 * 1024 * 1024 + 17);
  auto writer = store().BeginPut("big_multipart.csv");
  ASSERT_OK(writer);
  for (std::size_t at = 0; at < data.size(); at += 65536) {
    ASSERT_OK((*writer)->Write(std::string_view(data).substr(at, 65536)));
  }
  EXPECT_EQ((*writer)->bytes_written(), data.size());
  EXPECT_CODE(store().Get("big_multipart.csv"), ErrorCode::kNotFound);  // two parts uploaded
  ASSERT_OK((*writer)->Commit());
  auto read = ReadAll(store(), "big_multipart.csv", 1000003);
  ASSERT_OK(read);
  EXPECT_EQ(read->size(), data.size());
  EXPECT_TRUE(*read == data);
}

TEST_F(S3ObjectStoreTest, ObjectOfExactlyOnePartRoundTrips) {
  const std::string data = Pattern(kPart);
  auto writer = store().BeginPut("one_part.csv");
  ASSERT_OK(writer);
  ASSERT_OK((*writer)->Write(data));
  ASSERT_OK((*writer)->Commit());
  auto read = ReadAll(store(), "one_part.csv", 4096);
  ASSERT_OK(read);
  EXPECT_TRUE(*read == data);
}

TEST_F(S3ObjectStoreTest, DroppedMultipartWriterLeavesNoObject) {
  {
    auto writer = store().BeginPut("dropped.csv");
    ASSERT_OK(writer);
    ASSERT_OK((*writer)->Write(Pattern(kPart + 1000)));
  }
  EXPECT_CODE(store().Get("dropped.csv"), ErrorCode::kNotFound);
  ASSERT_OK(store().Put("dropped.csv", "later"));
  auto read = ReadAll(store(), "dropped.csv", 64);
  ASSERT_OK(read);
  EXPECT_EQ(*read, "later");
}

TEST_F(S3ObjectStoreTest, KeysWithSpacesAndUnicodeRoundTrip) {
  for (std::string key :
       {"patient intake Zoë ✓ (1).csv", "a+b=c&d;e,f.csv", "100%~_-.csv", "Ünïcödé 患者.csv"}) {
    SCOPED_TRACE(key);
    ASSERT_OK(store().Put(key, "content of " + key));
    auto read = ReadAll(store(), key, 5);
    ASSERT_OK(read);
    EXPECT_EQ(*read, "content of " + key);
  }
  EXPECT_CODE(store().Get("patient intake Zoe (1).csv"), ErrorCode::kNotFound);
}

TEST_F(S3ObjectStoreTest, CommittedWriterIsClosed) {
  auto writer = store().BeginPut("closed.csv");
  ASSERT_OK(writer);
  ASSERT_OK((*writer)->Write("x"));
  ASSERT_OK((*writer)->Commit());
  EXPECT_CODE((*writer)->Write("y"), ErrorCode::kInvalidArgument);
  EXPECT_CODE((*writer)->Commit(), ErrorCode::kInvalidArgument);
}

TEST_F(S3ObjectStoreTest, CheckFailsUntilTheBucketExists) {
  s3::S3ObjectStore fresh(TestS3Options(RandomBucketName()));
  auto check = fresh.Check();
  EXPECT_CODE(check, ErrorCode::kUnavailable);
  ASSERT_OK(fresh.EnsureBucket());
  EXPECT_OK(fresh.Check());
}

TEST_F(S3ObjectStoreTest, OneStoreServesManyThreads) {
  std::vector<std::thread> threads;
  std::atomic<int> failures{0};
  for (int t = 0; t < 8; ++t) {
    threads.emplace_back([&, t] {
      for (int i = 0; i < 5; ++i) {
        std::string key = "thread-" + std::to_string(t) + "-" + std::to_string(i) + ".csv";
        auto read = store().Put(key, key) ? ReadAll(store(), key, 3) : Internal("put failed");
        if (!read || *read != key) ++failures;
      }
    });
  }
  for (auto& thread : threads) thread.join();
  EXPECT_EQ(failures.load(), 0);
}

TEST_F(S3ObjectStoreTest, BadCredentialsAreUnavailableAndNeverShowTheSecret) {
  s3::S3Options options = TestS3Options(bucket_);
  options.access_key_id = "NOT-A-KEY";
  options.secret_access_key = "very-secret-value-4711";
  s3::S3ObjectStore bad(options);
  std::vector<Error> errors;
  for (auto status : {bad.EnsureBucket(), bad.Check(), bad.Put("x.csv", "secret payload")}) {
    ASSERT_FALSE(status.has_value());
    errors.push_back(ErrorFrom(status));
  }
  auto get = bad.Get("x.csv");
  ASSERT_FALSE(get.has_value());
  errors.push_back(ErrorFrom(get));
  for (const Error& e : errors) {
    SCOPED_TRACE(e.message);
    EXPECT_EQ(e.code, ErrorCode::kUnavailable);
    EXPECT_NE(e.message.find("S3 rejected the credentials (InvalidAccessKeyId)"),
              std::string::npos);
    EXPECT_EQ(e.message.find("very-secret-value-4711"), std::string::npos);
    EXPECT_EQ(e.message.find("secret payload"), std::string::npos);
  }
}

// Needs no server: a refused connection is reported at once, naming the endpoint.
TEST(S3ObjectStoreUnreachable, ClosedPortIsUnavailableNamingTheEndpointFast) {
  s3::S3Options options;
  options.endpoint_url = "http://127.0.0.1:" + std::to_string(ClosedPort());
  options.bucket = "patient-intake";
  options.access_key_id = "key";
  options.secret_access_key = "do-not-print-me";
  s3::S3ObjectStore store(options);
  const auto start = std::chrono::steady_clock::now();
  std::vector<Error> errors;
  for (auto status : {store.EnsureBucket(), store.Check(), store.Put("a.csv", "x")}) {
    ASSERT_FALSE(status.has_value());
    errors.push_back(ErrorFrom(status));
  }
  auto get = store.Get("a.csv");
  ASSERT_FALSE(get.has_value());
  errors.push_back(ErrorFrom(get));
  EXPECT_LT(std::chrono::steady_clock::now() - start, std::chrono::seconds(2));
  for (const Error& e : errors) {
    SCOPED_TRACE(e.message);
    EXPECT_EQ(e.code, ErrorCode::kUnavailable);
    EXPECT_EQ(e.message.rfind("cannot reach S3 endpoint " + options.endpoint_url + " (", 0), 0u);
    EXPECT_EQ(e.message.find("do-not-print-me"), std::string::npos);
  }
}

TEST(S3ObjectStoreUnreachable, WriterFailsOnFirstPartAndOnCommit) {
  s3::S3Options options;
  options.endpoint_url = "http://127.0.0.1:" + std::to_string(ClosedPort());
  options.bucket = "b";
  options.part_size = kPart;
  s3::S3ObjectStore store(options);
  auto small = store.BeginPut("s.csv");
  ASSERT_OK(small);
  ASSERT_OK((*small)->Write("buffered until commit"));
  EXPECT_CODE((*small)->Commit(), ErrorCode::kUnavailable);
  auto big = store.BeginPut("b.csv");
  ASSERT_OK(big);
  EXPECT_CODE((*big)->Write(std::string(kPart, 'x')), ErrorCode::kUnavailable);
  EXPECT_CODE((*big)->Write("more"), ErrorCode::kInvalidArgument);
}

}  // namespace
}  // namespace intake::adapters::testing
