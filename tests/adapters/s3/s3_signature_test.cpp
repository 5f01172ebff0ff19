// SigV4 as libcurl 7.88 computes it for our requests, checked against an independent
// implementation of AWS's algorithm (s3rver accepts any V4 signature, so a wrong canonical query
// or payload hash would otherwise only show up on real S3 / MinIO).
#include <gtest/gtest.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>

#include <algorithm>
#include <sstream>

#include "adapters/contract/test_util.hpp"
#include "adapters/s3/fake_s3_server.hpp"
#include "adapters/s3/s3_object_store.hpp"
#include "adapters/s3/s3_protocol.hpp"

namespace intake::adapters::testing {
namespace {

constexpr char kKeyId[] = "AKIDEXAMPLE";
constexpr char kSecret[] = "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY";

std::string Hmac(std::string_view key, std::string_view data) {
  unsigned char out[EVP_MAX_MD_SIZE];
  unsigned int length = 0;
  HMAC(EVP_sha256(), key.data(), static_cast<int>(key.size()),
       reinterpret_cast<const unsigned char*>(data.data()), data.size(), out, &length);
  return std::string(reinterpret_cast<char*>(out), length);
}

std::string Hex(std::string_view bytes) {
  static constexpr char kDigits[] = "0123456789abcdef";
  std::string out;
  for (unsigned char c : bytes) {
    out += kDigits[c >> 4];
    out += kDigits[c & 0x0F];
  }
  return out;
}

std::string Between(std::string_view text, std::string_view from, std::string_view to) {
  std::size_t start = text.find(from);
  if (start == std::string_view::npos) return {};
  start += from.size();
  return std::string(text.substr(start, text.find(to, start) - start));
}

// AWS's canonical query: every parameter as name=value (empty value kept), sorted.
std::string CanonicalizeQuery(const std::string& query) {
  std::vector<std::string> params;
  std::stringstream in(query);
  for (std::string param; std::getline(in, param, '&');) {
    params.push_back(param.find('=') == std::string::npos ? param + "=" : param);
  }
  std::sort(params.begin(), params.end());
  std::string out;
  for (const auto& p : params) out += (out.empty() ? "" : "&") + p;
  return out;
}

// The signature S3 expects for `r`, computed from the request as received.
std::string ExpectedSignature(const FakeRequest& r) {
  const std::string& auth = r.headers.at("authorization");
  const std::string signed_headers = Between(auth, "SignedHeaders=", ",");
  std::string canonical_headers;
  std::stringstream names(signed_headers);
  for (std::string name; std::getline(names, name, ';');) {
    canonical_headers += name + ":" + r.headers.at(name) + "\n";
  }
  const std::string canonical = r.method + "\n" + r.path + "\n" + CanonicalizeQuery(r.query) +
                                "\n" + canonical_headers + "\n" + signed_headers + "\n" +
                                r.headers.at("x-amz-content-sha256");
  const std::string date = r.headers.at("x-amz-date");
  const std::string scope = date.substr(0, 8) + "/us-east-1/s3/aws4_request";
  const std::string to_sign =
      "AWS4-HMAC-SHA256\n" + date + "\n" + scope + "\n" + s3::Sha256Hex(canonical);
  std::string key = Hmac(std::string("AWS4") + kSecret, date.substr(0, 8));
  key = Hmac(key, "us-east-1");
  key = Hmac(key, "s3");
  key = Hmac(key, "aws4_request");
  return Hex(Hmac(key, to_sign));
}

TEST(S3Signature, EveryRequestCarriesAValidSigV4AndTheRealPayloadHash) {
  std::string object;
  FakeS3Server server([&](const FakeRequest& r) -> FakeResponse {
    if (r.query == "uploads=") return {200, {}, "<UploadId>u/1+2=</UploadId>"};
    if (r.query.starts_with("partNumber=")) return {200, {{"ETag", "\"p\""}}, ""};
    if (r.method == "PUT" && r.query.empty()) object = r.body;
    if (r.method == "HEAD") return {200, {{"Content-Length", std::to_string(object.size())}}, ""};
    if (r.method == "GET") return {206, {}, object};
    return {200, {}, "<CompleteMultipartUploadResult/>"};
  });
  s3::S3Options options;
  options.endpoint_url = server.url();
  options.bucket = "b";
  options.access_key_id = kKeyId;
  options.secret_access_key = kSecret;
  options.part_size = 5 * 1024 * 1024;
  s3::S3ObjectStore store(options);

  ASSERT_OK(store.Put("patient intake Zoë (1).csv", "a,b\r\n"));
  auto reader = store.Get("patient intake Zoë (1).csv");
  ASSERT_OK(reader);
  char buffer[16];
  ASSERT_OK((*reader)->Read(buffer, sizeof(buffer)));
  auto writer = store.BeginPut("multi+part.csv");
  ASSERT_OK(writer);
  ASSERT_OK((*writer)->Write(std::string(options.part_size + 1, 'x')));
  ASSERT_OK((*writer)->Commit());

  auto requests = server.requests();
  ASSERT_EQ(requests.size(), 7u);  // PUT, HEAD, GET, POST uploads, PUT part 1 and 2, POST complete
  for (const auto& r : requests) {
    SCOPED_TRACE(r.method + " " + r.target);
    const std::string& auth = r.headers.at("authorization");
    EXPECT_NE(auth.find("Credential=AKIDEXAMPLE/"), std::string::npos);
    EXPECT_EQ(Between(auth, "Signature=", "\n"), ExpectedSignature(r));
    EXPECT_EQ(r.headers.at("x-amz-content-sha256"), s3::Sha256Hex(r.body));
    EXPECT_EQ(auth.find(kSecret), std::string::npos);
  }
  EXPECT_EQ(requests[0].path, "/b/patient%20intake%20Zo%C3%AB%20%281%29.csv");
  EXPECT_EQ(requests[4].query, "partNumber=1&uploadId=u%2F1%2B2%3D");
}

}  // namespace
}  // namespace intake::adapters::testing
