// Totals of filtered patient lists, remembered per data version: counting every patient whose
// folded name contains a substring reads all of them, while the load bumps the version only when a
// batch creates a patient or changes a person (counters.data_version, migration 002). A total
// cached for the current version is exact. Shared by the database adapters; thread-safe.
#pragma once

#include <cstddef>
#include <cstdint>
#include <mutex>
#include <optional>
#include <string>
#include <unordered_map>

#include "ports/record_store.hpp"

namespace intake::adapters {

class CountCache {
 public:
  // Cached filters; past it the cache starts afresh.
  static constexpr std::size_t kMaxEntries = 1024;

  // The key of a filter, its needles already case-folded.
  static std::string Key(const std::optional<std::string>& mrn,
                         const std::optional<std::string>& first_name,
                         const std::optional<std::string>& last_name) {
    std::string key;
    for (const auto* needle : {&mrn, &first_name, &last_name}) {
      key += needle->has_value() ? '+' : '-';
      key += needle->value_or("");
      key += '\x1f';
    }
    return key;
  }

  std::optional<std::int64_t> Get(const std::string& key, std::int64_t version) {
    std::lock_guard lock(mu_);
    auto it = totals_.find(key);
    if (it == totals_.end() || it->second.version != version) return std::nullopt;
    return it->second.total;
  }

  void Put(const std::string& key, std::int64_t version, std::int64_t total) {
    std::lock_guard lock(mu_);
    if (totals_.size() >= kMaxEntries) totals_.clear();
    totals_[key] = Entry{version, total};
  }

 private:
  struct Entry {
    std::int64_t version = 0;
    std::int64_t total = 0;
  };
  std::mutex mu_;
  std::unordered_map<std::string, Entry> totals_;
};

}  // namespace intake::adapters
