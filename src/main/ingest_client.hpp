// A small blocking HTTP/1.1 client (Boost.Beast) for `intake ingest`: streams a file as a request
// body without loading it in memory, and issues GETs. One connection per request. Not thread-safe.
#pragma once

#include <chrono>
#include <cstdint>
#include <filesystem>
#include <string>
#include <string_view>

#include "domain/result.hpp"

namespace intake::main_ {

struct HttpReply {
  int status = 0;
  std::string body;
};

class IngestClient {
 public:
  // `base_url`: http://host[:port][/prefix]. kInvalidArgument ("--url: …") when malformed or not
  // http.
  static Result<IngestClient> Create(std::string_view base_url);

  // POSTs the file at `file` to `path` with Content-Length = its size, streaming it in chunks.
  // kUnavailable ("cannot connect to …: Connection refused") on a transport failure; any HTTP
  // status is a value.
  Result<HttpReply> PostFile(std::string_view path, const std::filesystem::path& file,
                             std::string_view content_type);
  Result<HttpReply> Get(std::string_view path);

  const std::string& base_url() const { return base_url_; }

 private:
  IngestClient(std::string base_url, std::string host, std::string port, std::string prefix)
      : base_url_(std::move(base_url)),
        host_(std::move(host)),
        port_(std::move(port)),
        prefix_(std::move(prefix)) {}

  std::string base_url_;
  std::string host_;
  std::string port_;
  std::string prefix_;  // path prefix without a trailing '/'
  std::chrono::seconds timeout_{120};
};

}  // namespace intake::main_
