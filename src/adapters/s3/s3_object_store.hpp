// S3ObjectStore: ports::ObjectStore on any S3 API (AWS S3, MinIO, LocalStack, s3rver), with SigV4
// signing and path-style URLs <endpoint>/<bucket>/<key>. Keys follow the folder store's rules
// (plain file names, see ValidateKey) → else kInvalidArgument.
//
// Put() is one PutObject. BeginPut() buffers up to part_size bytes: a writer committed before its
// first part fills does one PutObject; otherwise the first full part starts a multipart upload,
// every further full part is uploaded as it fills (memory: about one part per writer), and
// Commit() uploads the rest and completes the upload. Nothing is visible under the key before
// Commit() succeeds; a writer destroyed without a successful Commit() aborts its multipart upload
// (best effort: a failed abort leaves parts that a bucket lifecycle rule must clean up).
//
// Get() sends a HEAD for the size, then the reader fetches ranged GETs of part_size bytes as Read()
// drains its buffer (memory: about one part per reader).
//
// Errors (messages never carry the secret key or object contents):
//   unreachable endpoint, DNS failure, timeout → kUnavailable "cannot reach S3 endpoint <url> (…)"
//   5xx, 429, SlowDown                          → kUnavailable (idempotent calls retried first)
//   rejected credentials (403 …)                → kUnavailable "S3 rejected the credentials
//   (<code>)" missing key                                 → kNotFound; missing bucket →
//   kUnavailable any other S3 error                          → kInternal naming the S3 error code
//
// Thread-safe: the store may be shared; each writer and reader is used by one thread at a time.
// Writers and readers share the store's HTTP client, so they may outlive the store.
#pragma once

#include <chrono>
#include <cstddef>
#include <memory>
#include <string>

#include "ports/object_store.hpp"

namespace intake::adapters::s3 {

class S3Http;

struct S3Options {
  // Base URL of the S3 API, e.g. "http://127.0.0.1:9000". Empty = AWS:
  // "https://s3.<region>.amazonaws.com".
  std::string endpoint_url;
  // Signing region; also the LocationConstraint of a bucket we create. Default us-east-1.
  std::string region = "us-east-1";
  // Bucket holding the objects; EnsureBucket() creates it.
  std::string bucket;
  // Credentials; an empty access key sends unsigned (anonymous) requests.
  std::string access_key_id;
  std::string secret_access_key;
  // Multipart part size and read-ahead size in bytes; raised to 5 MiB (the S3 minimum) if smaller.
  // Default 8 MiB.
  std::size_t part_size = 8 * 1024 * 1024;
  // Time allowed to open a connection. Default 5 s.
  std::chrono::milliseconds connect_timeout{5000};
  // Time allowed for one whole HTTP exchange (one part, one ranged read). Default 120 s.
  std::chrono::milliseconds request_timeout{120000};
};

class S3ObjectStore : public ports::ObjectStore {
 public:
  // Never fails; a bad endpoint or bad credentials surface from the calls.
  explicit S3ObjectStore(S3Options options);
  ~S3ObjectStore() override;

  // HEAD bucket; on 404 creates it (with a LocationConstraint outside us-east-1). A bucket that
  // already exists and is ours is fine.
  Status EnsureBucket() override;
  Status Put(std::string_view key, std::string_view bytes) override;
  Result<std::unique_ptr<ports::ObjectWriter>> BeginPut(std::string_view key) override;
  Result<std::unique_ptr<ports::ObjectReader>> Get(std::string_view key) override;
  // HEAD bucket: ok, or kUnavailable with a short reason.
  Status Check() override;

  const std::string& endpoint() const;

 private:
  // Explains a bodyless HEAD failure with the <Code> of a GET on the same resource.
  Error HeadFailure(long status, const std::string& key, const char* operation);

  std::size_t part_size_;
  std::string bucket_;
  std::string region_;
  std::shared_ptr<S3Http> http_;
};

}  // namespace intake::adapters::s3
