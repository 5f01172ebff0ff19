#include "app/idempotency.hpp"

#include <openssl/evp.h>

#include <array>
#include <chrono>
#include <stdexcept>

namespace intake::app {
namespace {

constexpr std::size_t kMaxKeyLength = 200;
constexpr std::chrono::seconds kTtl = std::chrono::hours(24);
constexpr std::chrono::seconds kStaleAfter = std::chrono::minutes(10);

}  // namespace

struct BodyHasher::Impl {
  EVP_MD_CTX* ctx = nullptr;
};

BodyHasher::BodyHasher() : impl_(std::make_unique<Impl>()) {
  impl_->ctx = EVP_MD_CTX_new();
  if (impl_->ctx == nullptr || EVP_DigestInit_ex(impl_->ctx, EVP_sha256(), nullptr) != 1) {
    EVP_MD_CTX_free(impl_->ctx);
    throw std::runtime_error("SHA-256 is not available");
  }
}

BodyHasher::~BodyHasher() { EVP_MD_CTX_free(impl_->ctx); }

void BodyHasher::Update(std::string_view bytes) {
  EVP_DigestUpdate(impl_->ctx, bytes.data(), bytes.size());
}

std::string BodyHasher::HexDigest() {
  std::array<unsigned char, EVP_MAX_MD_SIZE> digest{};
  unsigned int length = 0;
  EVP_DigestFinal_ex(impl_->ctx, digest.data(), &length);
  static constexpr char kHex[] = "0123456789abcdef";
  std::string hex;
  hex.reserve(length * 2);
  for (unsigned int i = 0; i < length; ++i) {
    hex.push_back(kHex[digest[i] >> 4]);
    hex.push_back(kHex[digest[i] & 0x0F]);
  }
  return hex;
}

bool IdempotencyGate::IsValidKey(std::string_view key) {
  if (key.empty() || key.size() > kMaxKeyLength) return false;
  for (char c : key) {
    if (c < 0x20 || c > 0x7E) return false;
  }
  return true;
}

Result<IdempotencyGate::Start> IdempotencyGate::Begin(std::string_view key) {
  auto begun = store_.Begin(key, clock_.Now(), kTtl, kStaleAfter);
  if (!begun) return begun.error();
  Start start;
  switch (begun->kind) {
    case ports::IdempotencyBegin::Kind::kStarted:
      start.kind = Start::Kind::kProceed;
      break;
    case ports::IdempotencyBegin::Kind::kInProgress:
      start.kind = Start::Kind::kInProgress;
      break;
    case ports::IdempotencyBegin::Kind::kDone:
      start.kind = Start::Kind::kCompare;
      start.stored_sha256 = std::move(begun->body_sha256);
      start.stored_response = std::move(begun->response_body);
      break;
  }
  return start;
}

Result<std::string> IdempotencyGate::Decide(const Start& start, std::string_view body_sha256) {
  if (start.stored_sha256 != body_sha256) {
    return Conflict("Idempotency-Key was already used with a different request body");
  }
  return start.stored_response;
}

Status IdempotencyGate::Complete(std::string_view key, std::string_view body_sha256,
                                 std::string_view response) {
  return store_.Complete(key, body_sha256, response);
}

Status IdempotencyGate::Abandon(std::string_view key) { return store_.Abandon(key); }

}  // namespace intake::app
