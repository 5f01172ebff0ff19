// S3Http: the libcurl client under S3ObjectStore. One SigV4-signed HTTP exchange per Perform():
// curl signs (CURLOPT_AWS_SIGV4 "aws:amz:<region>:s3"); we add x-amz-content-sha256 (the body's
// SHA-256, which curl 7.88 then signs as the payload hash) and write the query already in
// canonical form, because curl 7.88 signs the query string exactly as written.
//
// Thread-safe: easy handles come from a small pool (connections are reused between calls); a
// handle serves one call at a time. curl_global_init runs once per process.
#pragma once

#include <chrono>
#include <cstdint>
#include <mutex>
#include <string>
#include <string_view>
#include <vector>

#include "domain/result.hpp"

namespace intake::adapters::s3 {

struct HttpRequest {
  std::string_view method = "GET";  // GET, HEAD, PUT, POST or DELETE
  std::string url;                  // from ObjectUrl(); the query already canonical
  std::string_view body;            // sent for PUT and POST (may be empty); the caller owns it
  std::string content_type;         // sent and signed when non-empty
  std::string range;                // "bytes=a-b" when non-empty
  // A longer answer body fails the call (kUnavailable): bounds memory on reads and errors.
  std::size_t max_response_bytes = 1 << 20;
  // Idempotent calls are retried (up to 3 attempts with backoff) on 5xx, 429 and broken
  // connections; never on a refused connection, a DNS failure or a timeout.
  bool idempotent = true;
};

struct HttpResponse {
  long status = 0;
  std::string body;
  std::string etag;                  // the ETag header, quotes kept; empty when absent
  std::int64_t content_length = -1;  // the Content-Length header; -1 when absent
};

class S3Http {
 public:
  // `endpoint` as from NormalizeEndpoint(). Empty `access_key_id` → unsigned (anonymous) calls.
  S3Http(std::string endpoint, const std::string& region, std::string access_key_id,
         std::string secret_access_key, std::chrono::milliseconds connect_timeout,
         std::chrono::milliseconds request_timeout);
  ~S3Http();
  S3Http(const S3Http&) = delete;
  S3Http& operator=(const S3Http&) = delete;

  // Any HTTP answer, 4xx and 5xx included, is a value (map it with ErrorFromResponse). A transport
  // failure (refused, DNS, TLS, timeout, broken connection) → kUnavailable
  // "cannot reach S3 endpoint <endpoint> (<curl reason>)"; an oversized answer → kUnavailable.
  Result<HttpResponse> Perform(const HttpRequest& request);

  const std::string& endpoint() const { return endpoint_; }

 private:
  void* Acquire();
  void Release(void* handle);
  Result<HttpResponse> PerformOnce(void* handle, const HttpRequest& request, bool& retryable);

  const std::string endpoint_;
  const std::string sigv4_;
  const std::string access_key_id_;
  const std::string secret_access_key_;
  const std::chrono::milliseconds connect_timeout_;
  const std::chrono::milliseconds request_timeout_;
  std::mutex mu_;
  std::vector<void*> idle_;  // CURL* handles, guarded by mu_
};

}  // namespace intake::adapters::s3
