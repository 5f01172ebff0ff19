#include "adapters/sqlite/sqlite_idempotency_store.hpp"

#include "adapters/sqlite/sqlite_time.hpp"

namespace intake::adapters::sqlite {
namespace {

using Kind = ports::IdempotencyBegin::Kind;

constexpr std::string_view kDeleteExpired = "DELETE FROM idempotency_keys WHERE created_at <= ?1";
constexpr std::string_view kSelectKey =
    "SELECT state, created_at, body_sha256, response_body FROM idempotency_keys WHERE key = ?1";
constexpr std::string_view kHoldKey =
    "INSERT INTO idempotency_keys (key, state, created_at) VALUES (?1, 'in_progress', ?2)"
    " ON CONFLICT (key) DO UPDATE SET state = 'in_progress', created_at = excluded.created_at,"
    " body_sha256 = NULL, response_body = NULL";
constexpr std::string_view kCompleteKey =
    "UPDATE idempotency_keys SET state = 'done', body_sha256 = ?2, response_body = ?3"
    " WHERE key = ?1 AND state = 'in_progress'";
constexpr std::string_view kAbandonKey =
    "DELETE FROM idempotency_keys WHERE key = ?1 AND state = 'in_progress'";

std::int64_t Micros(std::chrono::seconds s) {
  return std::chrono::duration_cast<std::chrono::microseconds>(s).count();
}

Status HoldKey(Connection& conn, std::string_view key, std::int64_t now) {
  auto s = conn.Prepare(kHoldKey, "hold idempotency key");
  if (!s) return s.error();
  s->Bind(1, key).Bind(2, now);
  return s->Run();
}

}  // namespace

Result<ports::IdempotencyBegin> SqliteIdempotencyStore::Begin(
    std::string_view key, std::chrono::system_clock::time_point now, std::chrono::seconds ttl,
    std::chrono::seconds stale_after) {
  std::int64_t now_us = ToMicros(now);
  return db_->Write([&](Connection& conn) -> Result<ports::IdempotencyBegin> {
    auto purge = conn.Prepare(kDeleteExpired, "expire idempotency keys");
    if (!purge) return purge.error();
    purge->Bind(1, now_us - Micros(ttl));
    if (auto run = purge->Run(); !run) return run.error();

    ports::IdempotencyBegin out;
    {
      auto s = conn.Prepare(kSelectKey, "read idempotency key");
      if (!s) return s.error();
      s->Bind(1, key);
      auto row = s->Step();
      if (!row) return row.error();
      if (*row) {
        bool done = s->Text(0) == "done";
        std::int64_t age = now_us - s->Int(1);
        if (done) {
          out.kind = Kind::kDone;
          out.body_sha256 = s->Text(2);
          out.response_body = s->Text(3);
          return out;
        }
        if (age < Micros(stale_after)) {
          out.kind = Kind::kInProgress;
          return out;
        }
      }
    }
    if (auto held = HoldKey(conn, key, now_us); !held) return held.error();
    out.kind = Kind::kStarted;
    return out;
  });
}

Status SqliteIdempotencyStore::Complete(std::string_view key, std::string_view body_sha256,
                                        std::string_view response_body) {
  return db_->Write([&](Connection& conn) -> Status {
    auto s = conn.Prepare(kCompleteKey, "complete idempotency key");
    if (!s) return s.error();
    s->Bind(1, key).Bind(2, body_sha256).Bind(3, response_body);
    if (auto run = s->Run(); !run) return run.error();
    if (conn.Changes() == 0) return Conflict("idempotency key is not held");
    return {};
  });
}

Status SqliteIdempotencyStore::Abandon(std::string_view key) {
  return db_->Write([&](Connection& conn) -> Status {
    auto s = conn.Prepare(kAbandonKey, "abandon idempotency key");
    if (!s) return s.error();
    s->Bind(1, key);
    return s->Run();
  });
}

}  // namespace intake::adapters::sqlite
