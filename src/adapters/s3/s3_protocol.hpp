// Pure pieces of the S3 REST protocol used by S3ObjectStore: key rules, URL and query encoding,
// the few XML fields we read or write, and the mapping of S3 answers to our error codes. No I/O;
// every function is thread-safe. Signing itself is libcurl's (CURLOPT_AWS_SIGV4).
#pragma once

#include <cstddef>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "domain/result.hpp"

namespace intake::adapters::s3 {

// Object keys are plain file names, as for the folder store: non-empty, at most 255 bytes, no '/',
// no NUL or other ASCII control character, not starting with '.'. Else kInvalidArgument.
Status ValidateKey(std::string_view key);

// RFC 3986 percent-encoding as S3's SigV4 canonical form wants it: A-Z a-z 0-9 - _ . ~ kept,
// '/' kept when `keep_slash`, every other byte as %XX (upper-case hex).
std::string UriEncode(std::string_view text, bool keep_slash);

// A query string that is already in SigV4 canonical form (curl 7.88 signs the query exactly as
// written): parameters sorted by name, names and values UriEncode'd, and "name=" for an empty
// value. E.g. {{"uploadId","a+b"},{"partNumber","1"}} → "partNumber=1&uploadId=a%2Bb".
std::string CanonicalQuery(std::vector<std::pair<std::string, std::string>> params);

// "http://host:port" with trailing '/' removed; an empty endpoint means AWS for `region`:
// "https://s3.<region>.amazonaws.com".
std::string NormalizeEndpoint(std::string_view endpoint_url, std::string_view region);

// `endpoint` without any "user:password@" part, for messages.
std::string RedactEndpoint(std::string_view endpoint);

// Path-style URL: <endpoint>/<bucket>[/<key>][?<query>], bucket and key UriEncode'd.
// `query` must already be canonical (see CanonicalQuery).
std::string ObjectUrl(std::string_view endpoint, std::string_view bucket, std::string_view key,
                      std::string_view query = {});

// Lower-case hex SHA-256 of `bytes` (the x-amz-content-sha256 value).
std::string Sha256Hex(std::string_view bytes);

// Text of the first <tag>…</tag> element in `xml` with the five predefined entities and numeric
// character references decoded; nullopt when absent. Enough for S3's flat answers (Code, UploadId,
// ETag, Message); not a general XML parser.
std::optional<std::string> XmlValue(std::string_view xml, std::string_view tag);

// True when `xml` is an S3 <Error> document (e.g. inside a 200 answer to
// CompleteMultipartUpload).
bool IsErrorDocument(std::string_view xml);

// <CompleteMultipartUpload> body listing parts 1..N with their ETags (as the server sent them).
std::string CompleteMultipartXml(const std::vector<std::string>& etags);

// CreateBucket body: empty for us-east-1, else a CreateBucketConfiguration with the
// LocationConstraint.
std::string CreateBucketXml(std::string_view region);

// The Error for a non-2xx S3 answer (or an <Error> document in a 2xx one). `operation` names the S3
// action ("PutObject"), `body` is the answer's XML (may be empty, e.g. for HEAD). Mapping:
//   404 / NoSuchKey / NoSuchUpload                      → kNotFound "object not found"
//   NoSuchBucket                                        → kUnavailable (EnsureBucket fixes it)
//   403 / InvalidAccessKeyId / SignatureDoesNotMatch /
//   AccessDenied / InvalidToken / ExpiredToken           → kUnavailable "S3 rejected the
//   credentials (<code>)" 5xx, 429, SlowDown, InternalError, ServiceUnavailable → kUnavailable any
//   other                                           → kInternal naming the S3 code and status
// Messages never contain object contents or credentials.
Error ErrorFromResponse(long http_status, std::string_view body, std::string_view operation);

// Whether an HTTP answer is worth one more try on an idempotent call (5xx, 429).
bool IsRetryableStatus(long http_status);

}  // namespace intake::adapters::s3
