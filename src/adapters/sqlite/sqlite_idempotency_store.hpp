// SqliteIdempotencyStore: ports::IdempotencyStore on the `idempotency_keys` table
// (docs/schema.md). A record's age counts from Begin(); records older than the ttl are deleted by
// later Begin() calls. Complete() of a key no longer held (taken over as stale) → kConflict.
// Thread-safe and process-safe (Begin is one IMMEDIATE transaction). REQUIRES: migrated database.
#pragma once

#include <memory>

#include "adapters/sqlite/sqlite_database.hpp"
#include "ports/idempotency_store.hpp"

namespace intake::adapters::sqlite {

class SqliteIdempotencyStore : public ports::IdempotencyStore {
 public:
  explicit SqliteIdempotencyStore(std::shared_ptr<SqliteDatabase> db) : db_(std::move(db)) {}

  Result<ports::IdempotencyBegin> Begin(std::string_view key,
                                        std::chrono::system_clock::time_point now,
                                        std::chrono::seconds ttl,
                                        std::chrono::seconds stale_after) override;
  Status Complete(std::string_view key, std::string_view body_sha256,
                  std::string_view response_body) override;
  Status Abandon(std::string_view key) override;

 private:
  std::shared_ptr<SqliteDatabase> db_;
};

}  // namespace intake::adapters::sqlite
