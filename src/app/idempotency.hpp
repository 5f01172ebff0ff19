// Idempotency-Key handling for POST /ingest (SPEC §3), on top of the IdempotencyStore port.
// Flow: Begin(key) before the body is handled; if kProceed, run the request and then either
// Complete(key, body_sha256, response) on a 2xx or Abandon(key) otherwise. If kCompare, hash the
// body and call Decide(). Thread-safe.
#pragma once

#include <memory>
#include <string>
#include <string_view>

#include "domain/result.hpp"
#include "ports/clock.hpp"
#include "ports/idempotency_store.hpp"

namespace intake::app {

// Incremental SHA-256 of a request body (lower-case hex digest).
class BodyHasher {
 public:
  BodyHasher();
  ~BodyHasher();
  BodyHasher(const BodyHasher&) = delete;
  BodyHasher& operator=(const BodyHasher&) = delete;
  void Update(std::string_view bytes);
  std::string HexDigest();  // REQUIRES: called once

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

class IdempotencyGate {
 public:
  IdempotencyGate(ports::IdempotencyStore& store, const ports::Clock& clock)
      : store_(store), clock_(clock) {}

  // 1–200 printable ASCII characters (0x20–0x7E).
  static bool IsValidKey(std::string_view key);

  struct Start {
    enum class Kind {
      kProceed,     // key held by this request now
      kInProgress,  // → 409
      kCompare,     // a finished request exists: compare bodies with Decide()
    };
    Kind kind = Kind::kProceed;
    std::string stored_sha256;
    std::string stored_response;
  };
  Result<Start> Begin(std::string_view key);

  // For kCompare: the stored response when the hashes match, else kConflict (409) with a message.
  static Result<std::string> Decide(const Start& start, std::string_view body_sha256);

  Status Complete(std::string_view key, std::string_view body_sha256, std::string_view response);
  Status Abandon(std::string_view key);

 private:
  ports::IdempotencyStore& store_;
  const ports::Clock& clock_;
};

}  // namespace intake::app
