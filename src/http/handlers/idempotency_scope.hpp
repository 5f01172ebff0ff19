// The Idempotency-Key protocol of POST /ingest for one request, on top of app::IdempotencyGate:
//   Open → (repeat of a finished request) hash the body, then Replay(): the stored 200 or 409
//        → (new key, now held) hash the body while handling it, then Settle(response):
//          a 2xx is remembered (Complete), anything else forgets the key (Abandon).
// Without the header the scope does nothing. A held key that is never settled is abandoned on
// destruction. Not thread-safe; blocking (talks to the IdempotencyStore).
#pragma once

#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <variant>

#include "app/idempotency.hpp"
#include "http/message.hpp"

namespace intake::http {

inline constexpr std::string_view kIdempotencyHeader = "Idempotency-Key";

class IdempotencyScope {
 public:
  // 422 for an invalid key, 409 while another request holds it, 503 when the store is down.
  static std::variant<std::unique_ptr<IdempotencyScope>, Response> Open(
      app::IdempotencyGate& gate, std::optional<std::string_view> key);

  ~IdempotencyScope();
  IdempotencyScope(const IdempotencyScope&) = delete;
  IdempotencyScope& operator=(const IdempotencyScope&) = delete;

  // True when a finished request with this key exists: only hash the body, then call Replay().
  bool is_repeat() const { return repeat_.has_value(); }
  void Update(std::string_view body_bytes);
  // REQUIRES: is_repeat(). The first response (same body) or 409 (different body).
  Response Replay();
  // Records or forgets the key according to `response` and returns it.
  Response Settle(Response response);

 private:
  IdempotencyScope(app::IdempotencyGate& gate, std::optional<std::string> key);

  app::IdempotencyGate& gate_;
  std::optional<std::string> key_;  // nullopt: no header, nothing to do
  bool held_ = false;
  std::optional<app::IdempotencyGate::Start> repeat_;
  std::unique_ptr<app::BodyHasher> hasher_;
};

}  // namespace intake::http
