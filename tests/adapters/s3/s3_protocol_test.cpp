// The pure parts of the S3 adapter, without a server: keys, URLs, canonical queries, XML fields,
// error mapping.
#include "adapters/s3/s3_protocol.hpp"

#include <gtest/gtest.h>

#include "adapters/contract/test_util.hpp"

namespace intake::adapters::testing {
namespace {

using namespace intake::adapters::s3;

TEST(S3Protocol, UriEncodeKeepsUnreservedAndOptionallySlash) {
  EXPECT_EQ(UriEncode("AZaz09-_.~", false), "AZaz09-_.~");
  EXPECT_EQ(UriEncode("a b+c=d&e", false), "a%20b%2Bc%3Dd%26e");
  EXPECT_EQ(UriEncode("dir/file name.csv", true), "dir/file%20name.csv");
  EXPECT_EQ(UriEncode("dir/file", false), "dir%2Ffile");
  EXPECT_EQ(UriEncode("Zoë ✓", false), "Zo%C3%AB%20%E2%9C%93");
  EXPECT_EQ(UriEncode("100%*", false), "100%25%2A");
}

TEST(S3Protocol, CanonicalQueryIsSortedEncodedAndKeepsEmptyValues) {
  EXPECT_EQ(CanonicalQuery({{"uploads", ""}}), "uploads=");
  EXPECT_EQ(CanonicalQuery({{"uploadId", "a+b/c="}, {"partNumber", "12"}}),
            "partNumber=12&uploadId=a%2Bb%2Fc%3D");
  EXPECT_EQ(CanonicalQuery({{"max-keys", "0"}, {"list-type", "2"}}), "list-type=2&max-keys=0");
  EXPECT_EQ(CanonicalQuery({}), "");
}

TEST(S3Protocol, EndpointDefaultsToAwsByRegionAndDropsTrailingSlash) {
  EXPECT_EQ(NormalizeEndpoint("", "eu-west-3"), "https://s3.eu-west-3.amazonaws.com");
  EXPECT_EQ(NormalizeEndpoint("http://127.0.0.1:9000/", "us-east-1"), "http://127.0.0.1:9000");
  EXPECT_EQ(NormalizeEndpoint("http://minio:9000", "us-east-1"), "http://minio:9000");
}

TEST(S3Protocol, RedactEndpointDropsUserInfo) {
  EXPECT_EQ(RedactEndpoint("http://user:pw@minio:9000"), "http://minio:9000");
  EXPECT_EQ(RedactEndpoint("http://minio:9000/path@x"), "http://minio:9000/path@x");
  EXPECT_EQ(RedactEndpoint("https://s3.us-east-1.amazonaws.com"),
            "https://s3.us-east-1.amazonaws.com");
}

TEST(S3Protocol, ObjectUrlIsPathStyle) {
  EXPECT_EQ(ObjectUrl("http://h:9000", "patient-intake", ""), "http://h:9000/patient-intake");
  EXPECT_EQ(ObjectUrl("http://h:9000", "b", "patient intake é.csv"),
            "http://h:9000/b/patient%20intake%20%C3%A9.csv");
  EXPECT_EQ(ObjectUrl("http://h", "b", "k.csv", "uploads="), "http://h/b/k.csv?uploads=");
}

TEST(S3Protocol, KeysFollowTheFolderStoreRules) {
  for (const std::string& good :
       std::vector<std::string>{"patient_intake_20240101_120000_3f9c2a1b.csv", "a b.csv", "Zoë.csv",
                                "x..y", std::string(255, 'k')}) {
    SCOPED_TRACE(good);
    EXPECT_OK(ValidateKey(good));
  }
  for (std::string bad :
       {std::string(), std::string("a/b.csv"), std::string("../x"), std::string("."),
        std::string(".."), std::string(".hidden"), std::string("/abs"), std::string(256, 'k'),
        std::string("a\nb"), std::string("a\0b", 3), std::string("tab\there")}) {
    EXPECT_CODE(ValidateKey(bad), ErrorCode::kInvalidArgument);
  }
}

TEST(S3Protocol, Sha256HexOfEmptyAndKnownInputs) {
  EXPECT_EQ(Sha256Hex(""), "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
  EXPECT_EQ(Sha256Hex("abc"), "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
}

TEST(S3Protocol, XmlValueExtractsAndDecodesFields) {
  constexpr std::string_view kInitiate =
      "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<InitiateMultipartUploadResult "
      "xmlns=\"http://s3.amazonaws.com/doc/2006-03-01/\"><Bucket>b</Bucket><Key>k</Key>"
      "<UploadId>VXBsb2FkIElE&amp;x+y</UploadId></InitiateMultipartUploadResult>";
  EXPECT_EQ(XmlValue(kInitiate, "UploadId"), "VXBsb2FkIElE&x+y");
  EXPECT_EQ(XmlValue(kInitiate, "Key"), "k");
  EXPECT_EQ(XmlValue(kInitiate, "Missing"), std::nullopt);
  EXPECT_EQ(XmlValue("<ETag>&quot;abc&quot;</ETag>", "ETag"), "\"abc\"");
  EXPECT_EQ(XmlValue("<ETag>&#34;abc&#x22;</ETag>", "ETag"), "\"abc\"");
  EXPECT_EQ(XmlValue("<CodeX>no</CodeX><Code>yes</Code>", "Code"), "yes");
  EXPECT_EQ(XmlValue("<Code/>", "Code"), "");
  EXPECT_EQ(XmlValue("<Code>unterminated", "Code"), std::nullopt);
}

TEST(S3Protocol, ErrorDocumentIsRecognizedInsideSuccess) {
  EXPECT_TRUE(
      IsErrorDocument("<?xml version=\"1.0\"?>\n<Error><Code>InternalError</Code></Error>"));
  EXPECT_TRUE(IsErrorDocument("<Error><Code>SlowDown</Code></Error>"));
  EXPECT_FALSE(
      IsErrorDocument("<?xml version=\"1.0\"?><CompleteMultipartUploadResult><ETag>x</ETag>"
                      "</CompleteMultipartUploadResult>"));
  EXPECT_FALSE(IsErrorDocument(""));
}

TEST(S3Protocol, CompleteMultipartXmlListsPartsInOrder) {
  EXPECT_EQ(CompleteMultipartXml({"\"e1\"", "\"e2\""}),
            "<CompleteMultipartUpload><Part><PartNumber>1</PartNumber><ETag>&quot;e1&quot;</ETag>"
            "</Part><Part><PartNumber>2</PartNumber><ETag>&quot;e2&quot;</ETag></Part>"
            "</CompleteMultipartUpload>");
}

TEST(S3Protocol, CreateBucketBodyOnlyOutsideUsEast1) {
  EXPECT_EQ(CreateBucketXml("us-east-1"), "");
  EXPECT_EQ(CreateBucketXml(""), "");
  EXPECT_NE(CreateBucketXml("eu-central-1").find("<LocationConstraint>eu-central-1<"),
            std::string::npos);
}

std::string ErrorXml(std::string_view code) {
  return "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<Error><Code>" + std::string(code) +
         "</Code><Message>m</Message></Error>";
}

TEST(S3Protocol, CredentialRejectionsAreUnavailableAndNamed) {
  for (std::string code :
       std::vector<std::string>{"InvalidAccessKeyId", "SignatureDoesNotMatch", "AccessDenied"}) {
    Error e = ErrorFromResponse(403, ErrorXml(code), "PutObject");
    EXPECT_EQ(e.code, ErrorCode::kUnavailable) << code;
    EXPECT_EQ(e.message, "S3 rejected the credentials (" + code + ")");
  }
  Error bodyless = ErrorFromResponse(403, "", "HeadBucket");
  EXPECT_EQ(bodyless.code, ErrorCode::kUnavailable);
  EXPECT_EQ(bodyless.message, "S3 rejected the credentials (HTTP 403)");
}

TEST(S3Protocol, TransientAnswersAreUnavailable) {
  EXPECT_EQ(ErrorFromResponse(503, ErrorXml("SlowDown"), "PutObject").code,
            ErrorCode::kUnavailable);
  EXPECT_EQ(ErrorFromResponse(500, "", "PutObject").code, ErrorCode::kUnavailable);
  EXPECT_EQ(ErrorFromResponse(429, "", "PutObject").code, ErrorCode::kUnavailable);
  EXPECT_EQ(ErrorFromResponse(200, ErrorXml("InternalError"), "CompleteMultipartUpload").code,
            ErrorCode::kUnavailable);
  EXPECT_TRUE(IsRetryableStatus(502));
  EXPECT_TRUE(IsRetryableStatus(429));
  EXPECT_FALSE(IsRetryableStatus(404));
}

TEST(S3Protocol, MissingThingsAndOtherErrors) {
  EXPECT_EQ(ErrorFromResponse(404, ErrorXml("NoSuchKey"), "GetObject").code, ErrorCode::kNotFound);
  EXPECT_EQ(ErrorFromResponse(404, "", "HeadObject").code, ErrorCode::kNotFound);
  EXPECT_EQ(ErrorFromResponse(404, ErrorXml("NoSuchBucket"), "PutObject").code,
            ErrorCode::kUnavailable);
  Error other = ErrorFromResponse(400, ErrorXml("EntityTooSmall"), "CompleteMultipartUpload");
  EXPECT_EQ(other.code, ErrorCode::kInternal);
  EXPECT_EQ(other.message, "S3 error (EntityTooSmall, HTTP 400) on CompleteMultipartUpload");
  EXPECT_EQ(ErrorFromResponse(400, "<html>proxy</html>", "PutObject").message,
            "S3 error (HTTP 400) on PutObject");
}

}  // namespace
}  // namespace intake::adapters::testing
