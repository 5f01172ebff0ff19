#include "adapters/postgres/pg_idempotency_store.hpp"

#include "adapters/postgres/pg_time.hpp"

namespace intake::adapters::postgres {
namespace {

using Kind = ports::IdempotencyBegin::Kind;

constexpr std::string_view kDeleteExpired = "DELETE FROM idempotency_keys WHERE created_at <= $1";
// Holds the key when it is free or its in-progress record is stale ($3 = now - stale_after); a
// row comes back only when the caller now holds it. A concurrent holder makes this wait for it.
constexpr std::string_view kHoldKey =
    "INSERT INTO idempotency_keys AS k (key, state, created_at) VALUES ($1, 'in_progress', $2)"
    " ON CONFLICT (key) DO UPDATE SET state = 'in_progress', created_at = excluded.created_at,"
    " body_sha256 = NULL, response_body = NULL"
    " WHERE k.state = 'in_progress' AND k.created_at <= $3"
    " RETURNING 1";
constexpr std::string_view kSelectKey =
    "SELECT state, body_sha256, response_body FROM idempotency_keys WHERE key = $1";
constexpr std::string_view kCompleteKey =
    "UPDATE idempotency_keys SET state = 'done', body_sha256 = $2, response_body = $3"
    " WHERE key = $1 AND state = 'in_progress'";
constexpr std::string_view kAbandonKey =
    "DELETE FROM idempotency_keys WHERE key = $1 AND state = 'in_progress'";

std::int64_t Micros(std::chrono::seconds s) {
  return std::chrono::duration_cast<std::chrono::microseconds>(s).count();
}

}  // namespace

Result<ports::IdempotencyBegin> PgIdempotencyStore::Begin(std::string_view key,
                                                          std::chrono::system_clock::time_point now,
                                                          std::chrono::seconds ttl,
                                                          std::chrono::seconds stale_after) {
  std::int64_t now_us = ToMicros(now);
  return db_->Transaction([&](PgConnection& conn) -> Result<ports::IdempotencyBegin> {
    auto purge = conn.Exec(kDeleteExpired, {now_us - Micros(ttl)}, "expire idempotency keys");
    if (!purge) return purge.error();
    ports::IdempotencyBegin out;
    auto held =
        conn.Exec(kHoldKey, {key, now_us, now_us - Micros(stale_after)}, "hold idempotency key");
    if (!held) return held.error();
    if (held->rows() > 0) {
      out.kind = Kind::kStarted;
      return out;
    }
    auto r = conn.Exec(kSelectKey, {key}, "read idempotency key");
    if (!r) return r.error();
    if (r->rows() == 0) return Internal("postgres: idempotency key vanished");
    if (r->Text(0, 0) == "done") {
      out.kind = Kind::kDone;
      out.body_sha256 = r->Text(0, 1);
      out.response_body = r->Text(0, 2);
    } else {
      out.kind = Kind::kInProgress;
    }
    return out;
  });
}

Status PgIdempotencyStore::Complete(std::string_view key, std::string_view body_sha256,
                                    std::string_view response_body) {
  return db_->Transaction([&](PgConnection& conn) -> Status {
    auto r = conn.Exec(kCompleteKey, {key, body_sha256, response_body}, "complete idempotency key");
    if (!r) return r.error();
    if (r->Affected() == 0) return Conflict("idempotency key is not held");
    return {};
  });
}

Status PgIdempotencyStore::Abandon(std::string_view key) {
  return db_->Transaction([&](PgConnection& conn) -> Status {
    auto r = conn.Exec(kAbandonKey, {key}, "abandon idempotency key");
    if (!r) return r.error();
    return {};
  });
}

}  // namespace intake::adapters::postgres
