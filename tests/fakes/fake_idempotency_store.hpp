// In-memory IdempotencyStore with the port's ttl / stale rules. Failure injection method names:
// "Begin", "Complete", "Abandon". Thread-safe.
#pragma once

#include <chrono>
#include <map>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>

#include "fakes/failure_injector.hpp"
#include "ports/idempotency_store.hpp"

namespace intake::fakes {

class FakeIdempotencyStore : public ports::IdempotencyStore, public FailureInjector {
 public:
  Result<ports::IdempotencyBegin> Begin(std::string_view key,
                                        std::chrono::system_clock::time_point now,
                                        std::chrono::seconds ttl,
                                        std::chrono::seconds stale_after) override;
  // kNotFound when the key is not held in progress.
  Status Complete(std::string_view key, std::string_view body_sha256,
                  std::string_view response_body) override;
  Status Abandon(std::string_view key) override;

  // ---- Test helpers ----
  struct Entry {
    bool done = false;
    std::chrono::system_clock::time_point started;
    std::string body_sha256;
    std::string response_body;
  };
  std::optional<Entry> Get(std::string_view key) const;
  std::size_t Size() const;

 private:
  mutable std::mutex mu_;
  std::map<std::string, Entry, std::less<>> entries_;
};

}  // namespace intake::fakes
