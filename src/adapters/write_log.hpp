// The batches one record store committed, by the records_version range each one moved (a counter
// that every write to patients, persons or visits moves: in PostgreSQL by statement triggers,
// migration 004; in SQLite by the batch itself, with other writers caught by PRAGMA data_version),
// with the MRNs and visit numbers their rows named, as 64-bit hashes.
//
// A batch that loaded its stored rows before taking the writer (PostgreSQL: the apply lock;
// SQLite: the write transaction) at version `from`, and holds it at version `to`, asks
// Between(from, to): when the log's entries chain from `from` to `to` exactly, every write in
// between was one of this store's batches, so only the rows naming one of their keys can have
// changed (a hash collision only reloads a row more). A write the store did not make moves the
// version outside every entry and breaks the chain: the answer is then nullopt, and everything is
// loaded again.
//
// An entry's range must hold no one else's write (the stores make sure: see theirs). An entry is
// added before the commit, as pending, and settled once the commit's outcome is known (kept if
// committed, dropped otherwise): the next batch may hold the writer as soon as the commit is
// done, before the committing thread has heard back, and Between waits (bounded) for a pending
// entry it needs. Keeps the last kCapacity entries. Thread-safe.
#pragma once

#include <algorithm>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <deque>
#include <functional>
#include <iterator>
#include <mutex>
#include <optional>
#include <string_view>
#include <utility>
#include <vector>

#include "domain/merge_rules.hpp"
#include "domain/result.hpp"

namespace intake::adapters {

// A records_version: its value, and what identifies the write that set it (PostgreSQL: the
// counters row's xmin, the transaction that last bumped it; SQLite: how many other connections'
// commits the process had noticed. So the same value set again by someone else, after a restore
// or a failover, is another version).
struct RecordsVersion {
  std::int64_t value = -1;
  std::int64_t writer = 0;
  bool operator==(const RecordsVersion&) const = default;
};

// Sorted, without duplicates: 8 bytes a key (a log of 50k-row batches in hash sets held tens of
// MiB).
struct WrittenKeys {
  std::vector<std::uint64_t> mrns;
  std::vector<std::uint64_t> visit_numbers;

  bool NamesMrn(std::uint64_t hash) const {
    return std::binary_search(mrns.begin(), mrns.end(), hash);
  }
  bool NamesVisit(std::uint64_t hash) const {
    return std::binary_search(visit_numbers.begin(), visit_numbers.end(), hash);
  }
  // Adds the keys of `other` (several batches written under one entry).
  void Merge(const WrittenKeys& other) {
    for (auto [mine, theirs] :
         {std::pair{&mrns, &other.mrns}, std::pair{&visit_numbers, &other.visit_numbers}}) {
      std::vector<std::uint64_t> both;
      both.reserve(mine->size() + theirs->size());
      std::set_union(mine->begin(), mine->end(), theirs->begin(), theirs->end(),
                     std::back_inserter(both));
      mine->swap(both);
    }
  }
};

class WriteLog {
 public:
  // A batch's early load is usually one or two batches behind: with N workers, up to N (the
  // other workers' batches, and the one of its own task it overlapped).
  static constexpr std::size_t kCapacity = 8;

  // `pending_wait`: how long Between waits for a pending entry to be settled.
  explicit WriteLog(std::chrono::milliseconds pending_wait = std::chrono::seconds(2))
      : pending_wait_(pending_wait) {}

  // A batch is about to commit, having moved records_version from `before` to `after`; returns
  // the ticket for Settle. An entry that moves nothing is not kept (ticket 0).
  std::uint64_t Add(RecordsVersion before, RecordsVersion after, WrittenKeys keys);
  // The commit of `ticket`'s batch succeeded (the entry stays) or not (it goes).
  void Settle(std::uint64_t ticket, bool committed);

  // The keys of the entries chaining from `from` to `to` (empty when from == to), or nullopt
  // when the log cannot account for every version in between.
  std::optional<WrittenKeys> Between(RecordsVersion from, RecordsVersion to) const;

  // Forgets every entry (when idle: the memory goes back; the next early load loads whole).
  void Clear() {
    std::lock_guard lock(mu_);
    entries_.clear();
  }

 private:
  struct Entry {
    std::uint64_t ticket;
    RecordsVersion before;
    RecordsVersion after;
    bool pending;
    WrittenKeys keys;
  };
  mutable std::mutex mu_;
  mutable std::condition_variable settled_;
  std::deque<Entry> entries_;
  std::uint64_t next_ticket_ = 1;
  const std::chrono::milliseconds pending_wait_;
};

// One batch's entry in a WriteLog: Add before the commit, Settle with its outcome. Settled as not
// committed if it never is (an early return, an exception), so that no entry stays pending.
class PendingEntry {
 public:
  explicit PendingEntry(WriteLog& log) : log_(log) {}
  PendingEntry(const PendingEntry&) = delete;
  PendingEntry& operator=(const PendingEntry&) = delete;
  ~PendingEntry() { Settle(false); }

  // Replaces an entry added before (by an attempt that did not commit).
  void Add(RecordsVersion before, RecordsVersion after, WrittenKeys keys) {
    Settle(false);
    ticket_ = log_.Add(before, after, std::move(keys));
  }
  void Settle(bool committed) {
    log_.Settle(ticket_, committed);
    ticket_ = 0;
  }

 private:
  WriteLog& log_;
  std::uint64_t ticket_ = 0;
};

// ---- implementation

inline std::uint64_t KeyHash(std::string_view key) { return std::hash<std::string_view>{}(key); }

// The keys the rows name.
inline WrittenKeys KeysOf(const std::vector<domain::RowInput>& rows) {
  WrittenKeys keys;
  keys.mrns.reserve(rows.size());
  keys.visit_numbers.reserve(rows.size());
  for (const auto& input : rows) {
    keys.mrns.push_back(KeyHash(input.record.mrn));
    keys.visit_numbers.push_back(KeyHash(input.record.visit_account_number));
  }
  for (auto* v : {&keys.mrns, &keys.visit_numbers}) {
    std::sort(v->begin(), v->end());
    v->erase(std::unique(v->begin(), v->end()), v->end());
  }
  return keys;
}

// Brings `state`, loaded before the writer, up to date after the store's own batches `written`
// committed: loads again (`load(rows)`: the store's LoadExisting) the rows naming one of their
// keys, and takes what it finds for those keys. Returns how many rows it loaded again.
inline Result<std::size_t> Refresh(
    const std::vector<domain::RowInput>& rows, const WrittenKeys& written,
    domain::ExistingState& state,
    const std::function<Result<domain::ExistingState>(const std::vector<domain::RowInput>&)>&
        load) {
  std::vector<domain::RowInput> named;
  for (const auto& input : rows) {
    if (written.NamesMrn(KeyHash(input.record.mrn)) ||
        written.NamesVisit(KeyHash(input.record.visit_account_number))) {
      named.push_back(input);
    }
  }
  if (named.empty()) return std::size_t{0};
  auto fresh = load(named);
  if (!fresh) return fresh.error();
  for (const auto& input : named) {
    state.patients_by_mrn.erase(input.record.mrn);
    state.visits_by_number.erase(input.record.visit_account_number);
  }
  state.patients_by_mrn.merge(fresh->patients_by_mrn);
  state.visits_by_number.merge(fresh->visits_by_number);
  return named.size();
}

inline std::uint64_t WriteLog::Add(RecordsVersion before, RecordsVersion after, WrittenKeys keys) {
  if (after.value <= before.value) return 0;
  std::lock_guard lock(mu_);
  // Ranges of one history never overlap; an overlap means the counter went back (a restore):
  // what was logged before no longer describes this database.
  std::erase_if(entries_, [&](const Entry& e) {
    return e.before.value < after.value && before.value < e.after.value;
  });
  const std::uint64_t ticket = next_ticket_++;
  entries_.push_back(Entry{ticket, before, after, true, std::move(keys)});
  while (entries_.size() > kCapacity) entries_.pop_front();
  return ticket;
}

inline void WriteLog::Settle(std::uint64_t ticket, bool committed) {
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

inline std::optional<WrittenKeys> WriteLog::Between(RecordsVersion from, RecordsVersion to) const {
  WrittenKeys out;
  if (from == to) return out;
  if (from.value >= to.value) return std::nullopt;
  std::unique_lock lock(mu_);
  const auto deadline = std::chrono::steady_clock::now() + pending_wait_;
  // Each step looks for the entry that starts where the last one ended (the same value, set by
  // the same writer). A pending one is waited for, then the walk starts again.
  for (RecordsVersion at = from; at != to;) {
    const Entry* next = nullptr;
    for (const Entry& e : entries_) {
      if (e.before == at) next = &e;
    }
    if (next == nullptr || next->after.value > to.value) return std::nullopt;  // not ours
    if (next->pending) {
      if (settled_.wait_until(lock, deadline) == std::cv_status::timeout) return std::nullopt;
      out = WrittenKeys{};
      at = from;
      continue;
    }
    for (auto [into, from_keys] : {std::pair{&out.mrns, &next->keys.mrns},
                                   std::pair{&out.visit_numbers, &next->keys.visit_numbers}}) {
      std::vector<std::uint64_t> merged;
      merged.reserve(into->size() + from_keys->size());
      std::set_union(into->begin(), into->end(), from_keys->begin(), from_keys->end(),
                     std::back_inserter(merged));
      into->swap(merged);
    }
    at = next->after;
  }
  return out;
}

}  // namespace intake::adapters
