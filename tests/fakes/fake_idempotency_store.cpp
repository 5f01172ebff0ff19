#include "fakes/fake_idempotency_store.hpp"

namespace intake::fakes {

Result<ports::IdempotencyBegin> FakeIdempotencyStore::Begin(
    std::string_view key, std::chrono::system_clock::time_point now, std::chrono::seconds ttl,
    std::chrono::seconds stale_after) {
  if (auto error = Inject("Begin")) return *error;
  std::lock_guard lock(mu_);
  auto it = entries_.find(key);
  if (it != entries_.end()) {
    const Entry& e = it->second;
    if (e.done && now - e.started < ttl) {
      return ports::IdempotencyBegin{ports::IdempotencyBegin::Kind::kDone, e.body_sha256,
                                     e.response_body};
    }
    if (!e.done && now - e.started < stale_after) {
      return ports::IdempotencyBegin{ports::IdempotencyBegin::Kind::kInProgress, {}, {}};
    }
  }
  entries_[std::string(key)] = Entry{false, now, {}, {}};
  return ports::IdempotencyBegin{ports::IdempotencyBegin::Kind::kStarted, {}, {}};
}

Status FakeIdempotencyStore::Complete(std::string_view key, std::string_view body_sha256,
                                      std::string_view response_body) {
  if (auto error = Inject("Complete")) return *error;
  std::lock_guard lock(mu_);
  auto it = entries_.find(key);
  if (it == entries_.end() || it->second.done) return NotFound("key not held");
  it->second.done = true;
  it->second.body_sha256 = std::string(body_sha256);
  it->second.response_body = std::string(response_body);
  return {};
}

Status FakeIdempotencyStore::Abandon(std::string_view key) {
  if (auto error = Inject("Abandon")) return *error;
  std::lock_guard lock(mu_);
  auto it = entries_.find(key);
  if (it != entries_.end() && !it->second.done) entries_.erase(it);
  return {};
}

std::optional<FakeIdempotencyStore::Entry> FakeIdempotencyStore::Get(std::string_view key) const {
  std::lock_guard lock(mu_);
  auto it = entries_.find(key);
  if (it == entries_.end()) return std::nullopt;
  return it->second;
}

std::size_t FakeIdempotencyStore::Size() const {
  std::lock_guard lock(mu_);
  return entries_.size();
}

}  // namespace intake::fakes
