// Interoperability with the AWS CLI as an independent S3 client, against INTAKE_TEST_S3_URL
// (skipped when unset): what Intake writes, `aws s3 ls` lists and `aws s3 cp` downloads unchanged;
// what `aws s3 cp` uploads, Intake reads. The CLI is required: with the URL set and no `aws` on the
// PATH these tests fail.
#include <gtest/gtest.h>
#include <sys/wait.h>

#include <cstdio>
#include <filesystem>
#include <fstream>
#include <iterator>

#include "adapters/contract/test_util.hpp"
#include "adapters/s3/s3_backend.hpp"
#include "adapters/s3/s3_object_store.hpp"

namespace intake::adapters::testing {
namespace {

struct CommandResult {
  int exit_code = -1;
  std::string output;  // stdout and stderr
};

CommandResult RunCommand(const std::string& command) {
  CommandResult result;
  FILE* pipe = ::popen((command + " 2>&1").c_str(), "r");
  if (pipe == nullptr) return result;
  char chunk[4096];
  for (std::size_t n; (n = std::fread(chunk, 1, sizeof(chunk), pipe)) > 0;) {
    result.output.append(chunk, n);
  }
  int status = ::pclose(pipe);
  result.exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
  return result;
}

// Single-quoted for sh (the test keys hold no single quote).
std::string Quote(const std::string& text) { return "'" + text + "'"; }

std::string Aws(const std::string& args) {
  return "env AWS_ACCESS_KEY_ID=S3RVER AWS_SECRET_ACCESS_KEY=S3RVER AWS_DEFAULT_REGION=us-east-1 "
         "AWS_CONFIG_FILE=/dev/null AWS_SHARED_CREDENTIALS_FILE=/dev/null "
         "AWS_EC2_METADATA_DISABLED=true aws --endpoint-url " +
         Quote(TestS3Url()) + " " + args;
}

std::string Pattern(std::size_t size, unsigned seed) {
  std::string out(size, '\0');
  for (std::size_t i = 0; i < size; ++i) out[i] = static_cast<char>((i * seed + i / 7919) & 0xFF);
  return out;
}

std::string ReadFile(const std::filesystem::path& path) {
  std::ifstream in(path, std::ios::binary);
  return std::string((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
}

class S3AwsCliTest : public ::testing::Test {
 protected:
  void SetUp() override {
    if (TestS3Url().empty()) GTEST_SKIP() << "INTAKE_TEST_S3_URL is not set";
    ASSERT_EQ(RunCommand("command -v aws").exit_code, 0)
        << "the AWS CLI (`aws`) is required for the S3 interop tests";
    bucket_ = RandomBucketName();
    store_ = std::make_unique<s3::S3ObjectStore>(TestS3Options(bucket_));
    ASSERT_OK(store_->EnsureBucket());
  }
  std::string S3Uri(const std::string& key) const { return "s3://" + bucket_ + "/" + key; }

  TempDir dir_;
  std::string bucket_;
  std::unique_ptr<s3::S3ObjectStore> store_;
};

TEST_F(S3AwsCliTest, ObjectsIntakeWritesAreListedAndDownloadedUnchanged) {
  const std::string small = "mrn,first_name\r\n\"00123\",\"Zoë\"\r\n";
  const std::string big = Pattern(11 * 1024 * 1024 + 5, 31);
  ASSERT_OK(store_->Put("small intake.csv", small));
  auto writer = store_->BeginPut("multipart_intake.csv");
  ASSERT_OK(writer);
  for (std::size_t at = 0; at < big.size(); at += 100000) {
    ASSERT_OK((*writer)->Write(std::string_view(big).substr(at, 100000)));
  }
  ASSERT_OK((*writer)->Commit());

  CommandResult ls = RunCommand(Aws("s3 ls " + Quote("s3://" + bucket_ + "/")));
  ASSERT_EQ(ls.exit_code, 0) << ls.output;
  EXPECT_NE(ls.output.find(std::to_string(small.size()) + " small intake.csv"), std::string::npos)
      << ls.output;
  EXPECT_NE(ls.output.find(std::to_string(big.size()) + " multipart_intake.csv"), std::string::npos)
      << ls.output;

  for (const auto& [key, bytes] : {std::pair{std::string("small intake.csv"), small},
                                   std::pair{std::string("multipart_intake.csv"), big}}) {
    SCOPED_TRACE(key);
    auto local = dir_.path() / ("download-" + std::to_string(bytes.size()));
    CommandResult cp =
        RunCommand(Aws("s3 cp --no-progress " + Quote(S3Uri(key)) + " " + Quote(local.string())));
    ASSERT_EQ(cp.exit_code, 0) << cp.output;
    EXPECT_TRUE(ReadFile(local) == bytes);
  }
}

TEST_F(S3AwsCliTest, ObjectsTheCliUploadsAreReadByIntake) {
  for (std::size_t size : {std::size_t{1234}, std::size_t{9 * 1024 * 1024 + 3}}) {
    SCOPED_TRACE(size);
    const std::string bytes = Pattern(size, 57);
    const std::string key = "uploaded by cli " + std::to_string(size) + ".csv";
    auto local = dir_.path() / "upload.bin";
    std::ofstream(local, std::ios::binary) << bytes;
    CommandResult cp =
        RunCommand(Aws("s3 cp --no-progress " + Quote(local.string()) + " " + Quote(S3Uri(key))));
    ASSERT_EQ(cp.exit_code, 0) << cp.output;

    auto reader = store_->Get(key);
    ASSERT_OK(reader);
    std::string read, buffer(65536, '\0');
    for (;;) {
      auto n = (*reader)->Read(buffer.data(), buffer.size());
      ASSERT_OK(n);
      if (*n == 0) break;
      read.append(buffer.data(), *n);
    }
    EXPECT_TRUE(read == bytes);
  }
}

}  // namespace
}  // namespace intake::adapters::testing
