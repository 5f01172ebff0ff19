// PgIdempotencyStore: ports::IdempotencyStore on the `idempotency_keys` table of PostgreSQL
// (docs/schema.md, "PostgreSQL"). A record's age counts from Begin(); records older than the ttl
// are deleted by later Begin() calls. Begin() takes a key with one atomic upsert that replaces only
// a stale in-progress record, so two processes beginning the same key at once never both get
// kStarted. Complete() of a key no longer held (taken over as stale) → kConflict. Thread-safe and
// process-safe. REQUIRES: migrated database.
#pragma once

#include <memory>

#include "adapters/postgres/pg_database.hpp"
#include "ports/idempotency_store.hpp"

namespace intake::adapters::postgres {

class PgIdempotencyStore : public ports::IdempotencyStore {
 public:
  explicit PgIdempotencyStore(std::shared_ptr<PgDatabase> db) : db_(std::move(db)) {}

  Result<ports::IdempotencyBegin> Begin(std::string_view key,
                                        std::chrono::system_clock::time_point now,
                                        std::chrono::seconds ttl,
                                        std::chrono::seconds stale_after) override;
  Status Complete(std::string_view key, std::string_view body_sha256,
                  std::string_view response_body) override;
  Status Abandon(std::string_view key) override;

 private:
  std::shared_ptr<PgDatabase> db_;
};

}  // namespace intake::adapters::postgres
