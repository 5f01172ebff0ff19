#include "adapters/postgres/pg_write_log.hpp"

#include <functional>

namespace intake::adapters::postgres {

std::uint64_t KeyHash(std::string_view key) { return std::hash<std::string_view>{}(key); }

std::uint64_t WriteLog::Add(std::int64_t before, std::int64_t after, WrittenKeys keys) {
  if (after <= before) return 0;
  std::lock_guard lock(mu_);
  // Ranges of one history never overlap; an overlap means the counter went back (a restore):
  // what was logged before no longer describes this database.
  std::erase_if(entries_, [&](const Entry& e) { return e.before < after && before < e.after; });
  const std::uint64_t ticket = next_ticket_++;
  entries_.push_back(Entry{ticket, before, after, true, std::move(keys)});
  while (entries_.size() > kCapacity) entries_.pop_front();
  return ticket;
}

void WriteLog::Settle(std::uint64_t ticket, bool committed) {
  if (ticket == 0) return;
  {
    std::lock_guard lock(mu_);
    for (auto it = entries_.begin(); it != entries_.end(); ++it) {
      if (it->ticket != ticket) continue;
      if (committed) {
        it->pending = false;
      } else {
        entries_.erase(it);
      }
      break;
    }
  }
  settled_.notify_all();
}

std::optional<WrittenKeys> WriteLog::Between(std::int64_t from, std::int64_t to) const {
  WrittenKeys out;
  if (from == to) return out;
  if (from > to) return std::nullopt;
  std::unique_lock lock(mu_);
  const auto deadline = std::chrono::steady_clock::now() + pending_wait_;
  // Entries may be added out of commit order: each step looks for the entry that starts where
  // the last one ended. A pending one is waited for, then the walk starts again.
  for (std::int64_t at = from; at != to;) {
    const Entry* next = nullptr;
    for (const Entry& e : entries_) {
      if (e.before == at) next = &e;
    }
    if (next == nullptr || next->after > to) return std::nullopt;  // a write nobody here made
    if (next->pending) {
      if (settled_.wait_until(lock, deadline) == std::cv_status::timeout) return std::nullopt;
      out = WrittenKeys{};
      at = from;
      continue;
    }
    out.mrns.insert(next->keys.mrns.begin(), next->keys.mrns.end());
    out.visit_numbers.insert(next->keys.visit_numbers.begin(), next->keys.visit_numbers.end());
    at = next->after;
  }
  return out;
}

}  // namespace intake::adapters::postgres
