// Remembers Idempotency-Key requests for 24 hours. Thread-safe.
#pragma once

#include <chrono>
#include <string>
#include <string_view>

#include "domain/result.hpp"

namespace intake::ports {

struct IdempotencyBegin {
  enum class Kind {
    kStarted,     // the key was free: it is now held in progress by the caller
    kInProgress,  // another request with this key is being handled
    kDone,        // a finished request: compare body_sha256 and answer response_body
  };
  Kind kind = Kind::kStarted;
  std::string body_sha256;    // kDone only
  std::string response_body;  // kDone only
};

class IdempotencyStore {
 public:
  virtual ~IdempotencyStore() = default;
  // Holds `key` in progress unless it is held or done within `ttl` of `now` (older records, and
  // in-progress records older than `stale_after`, are treated as free and replaced).
  virtual Result<IdempotencyBegin> Begin(std::string_view key,
                                         std::chrono::system_clock::time_point now,
                                         std::chrono::seconds ttl,
                                         std::chrono::seconds stale_after) = 0;
  // Records the successful response for the held key.
  virtual Status Complete(std::string_view key, std::string_view body_sha256,
                          std::string_view response_body) = 0;
  // Forgets the held key (the request failed).
  virtual Status Abandon(std::string_view key) = 0;
};

}  // namespace intake::ports
