#include "http/handlers/idempotency_scope.hpp"

#include <spdlog/spdlog.h>

#include "http/errors.hpp"

namespace intake::http {
namespace {

Response InvalidKeyResponse() {
  return ValidationResponse(
      ValidationItem{"value_error",
                     {"header", kIdempotencyHeader},
                     "Idempotency-Key must be 1 to 200 printable ASCII characters"});
}

}  // namespace

IdempotencyScope::IdempotencyScope(app::IdempotencyGate& gate, std::optional<std::string> key)
    : gate_(gate), key_(std::move(key)) {
  if (key_) hasher_ = std::make_unique<app::BodyHasher>();
}

IdempotencyScope::~IdempotencyScope() {
  if (!held_) return;
  if (!gate_.Abandon(*key_)) spdlog::warn("could not release an idempotency key");
}

std::variant<std::unique_ptr<IdempotencyScope>, Response> IdempotencyScope::Open(
    app::IdempotencyGate& gate, std::optional<std::string_view> key) {
  if (!key) return std::unique_ptr<IdempotencyScope>(new IdempotencyScope(gate, std::nullopt));
  if (!app::IdempotencyGate::IsValidKey(*key)) return InvalidKeyResponse();
  Result<app::IdempotencyGate::Start> start = gate.Begin(*key);
  if (!start) return ErrorResponse(start.error());
  using Kind = app::IdempotencyGate::Start::Kind;
  if (start->kind == Kind::kInProgress) {
    return DetailResponse(409, "A request with this Idempotency-Key is still being handled");
  }
  std::unique_ptr<IdempotencyScope> scope(new IdempotencyScope(gate, std::string(*key)));
  if (start->kind == Kind::kCompare) {
    scope->repeat_ = std::move(*start);
  } else {
    scope->held_ = true;
  }
  return scope;
}

void IdempotencyScope::Update(std::string_view body_bytes) {
  if (hasher_) hasher_->Update(body_bytes);
}

Response IdempotencyScope::Replay() {
  Result<std::string> stored = app::IdempotencyGate::Decide(*repeat_, hasher_->HexDigest());
  if (!stored) {
    if (stored.error().code == ErrorCode::kConflict) {
      return DetailResponse(409, "Idempotency-Key was already used with a different request body");
    }
    return ErrorResponse(stored.error());
  }
  Response r;
  r.status = 200;
  r.body = std::move(*stored);
  return r;
}

Response IdempotencyScope::Settle(Response response) {
  if (!held_) return response;
  held_ = false;
  if (response.status >= 200 && response.status < 300) {
    Status done = gate_.Complete(*key_, hasher_->HexDigest(), response.body);
    if (!done) spdlog::warn("could not record an idempotent response: {}", done.error().message);
  } else if (!gate_.Abandon(*key_)) {
    spdlog::warn("could not release an idempotency key");
  }
  return response;
}

}  // namespace intake::http
