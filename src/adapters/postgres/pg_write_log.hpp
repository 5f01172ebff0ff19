// The batches one PgRecordStore committed, by the counters.records_version range each one moved
// (migration 004: every statement that writes patients, persons or visits bumps it, by trigger),
// with the MRNs and visit numbers their rows named, as 64-bit hashes.
//
// A batch that loaded its stored rows before the apply lock at version `from`, and holds the lock
// at version `to`, asks Between(from, to): when the log's entries chain from `from` to `to`
// exactly, every write in between was one of this store's batches, so only the rows naming one of
// their keys can have changed (a hash collision only reloads a row more). Any other writer's
// statement (another process, other SQL) moves the version outside every entry and breaks the
// chain: the answer is then nullopt, and everything is loaded again.
//
// An entry's range must hold no one else's write: the applier locks the counters row (FOR UPDATE)
// before reading `before`, and reads `after` before it commits, so no other writer's bump can
// fall inside. An entry is added before the commit, as pending, and settled once the commit's
// outcome is known (kept if committed, dropped otherwise): the next applier holds the apply lock
// as soon as the commit is done on the server, usually before the committing thread has heard
// back, and Between waits (bounded) for a pending entry it needs. Keeps the last kCapacity
// entries. Thread-safe.
#pragma once

#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <deque>
#include <mutex>
#include <optional>
#include <string_view>
#include <unordered_set>
#include <vector>

namespace intake::adapters::postgres {

struct WrittenKeys {
  std::unordered_set<std::uint64_t> mrns;
  std::unordered_set<std::uint64_t> visit_numbers;
};

std::uint64_t KeyHash(std::string_view key);

class WriteLog {
 public:
  static constexpr std::size_t kCapacity = 16;

  // `pending_wait`: how long Between waits for a pending entry to be settled.
  explicit WriteLog(std::chrono::milliseconds pending_wait = std::chrono::seconds(2))
      : pending_wait_(pending_wait) {}

  // A batch is about to commit, having moved records_version from `before` to `after`; returns
  // the ticket for Settle. An entry that moves nothing is not kept (ticket 0).
  std::uint64_t Add(std::int64_t before, std::int64_t after, WrittenKeys keys);
  // The commit of `ticket`'s batch succeeded (the entry stays) or not (it goes).
  void Settle(std::uint64_t ticket, bool committed);

  // The keys of the entries chaining from `from` to `to` (empty when from == to), or nullopt
  // when the log cannot account for every version in between.
  std::optional<WrittenKeys> Between(std::int64_t from, std::int64_t to) const;

 private:
  struct Entry {
    std::uint64_t ticket;
    std::int64_t before;
    std::int64_t after;
    bool pending;
    WrittenKeys keys;
  };
  mutable std::mutex mu_;
  mutable std::condition_variable settled_;
  std::deque<Entry> entries_;
  std::uint64_t next_ticket_ = 1;
  const std::chrono::milliseconds pending_wait_;
};

}  // namespace intake::adapters::postgres
