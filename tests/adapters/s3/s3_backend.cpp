#include "adapters/s3/s3_backend.hpp"

#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <random>

#include "adapters/contract/test_util.hpp"

namespace intake::adapters::testing {
namespace {

class S3Harness : public ObjectStoreHarness {
 public:
  explicit S3Harness(std::string bucket)
      : bucket_(std::move(bucket)), store_(TestS3Options(bucket_)) {
    EXPECT_OK(store_.EnsureBucket());
  }
  ports::ObjectStore& store() override { return store_; }
  std::unique_ptr<ports::ObjectStore> Reopen() override {
    return std::make_unique<s3::S3ObjectStore>(TestS3Options(bucket_));
  }

 private:
  std::string bucket_;
  s3::S3ObjectStore store_;
};

}  // namespace

std::string TestS3Url() {
  const char* url = std::getenv("INTAKE_TEST_S3_URL");
  return url == nullptr ? "" : url;
}

std::string RandomBucketName() {
  thread_local std::mt19937_64 rng{std::random_device{}()};
  char hex[17];
  std::snprintf(hex, sizeof(hex), "%016llx", static_cast<unsigned long long>(rng()));
  return std::string("intake-test-") + hex;
}

s3::S3Options TestS3Options(const std::string& bucket) {
  s3::S3Options options;
  options.endpoint_url = TestS3Url();
  options.bucket = bucket;
  options.access_key_id = "S3RVER";
  options.secret_access_key = "S3RVER";
  options.part_size = 5 * 1024 * 1024;
  return options;
}

ObjectStoreFactory S3ObjectStoreFactory() {
  return {"S3", []() -> std::unique_ptr<ObjectStoreHarness> {
            if (TestS3Url().empty()) return nullptr;
            return std::make_unique<S3Harness>(RandomBucketName());
          }};
}

}  // namespace intake::adapters::testing
