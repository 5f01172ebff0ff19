// PgDatabase: the PostgreSQL connection pool and migration runner shared by the PostgreSQL adapters
// (record store, task store, task queue, idempotency store). Thread-safe; any number of processes
// may use the same database and schema at once.
//
// - Open() connects once (so an unreachable server fails there, as kUnavailable naming host:port,
//   never the password), then applies the pending embedded migrations.
// - Pool: at most options.pool_size connections, created on demand and kept; Acquire waits for a
//   free one (kUnavailable after kAcquireTimeout). A connection found broken is dropped and a new
//   one is made on a later acquire. Each connection caches its prepared statements.
// - Transaction() runs a function inside BEGIN … COMMIT (READ COMMITTED). When BEGIN fails on a
//   pooled connection that died while idle, it is retried once on a fresh connection; nothing else
//   is retried here (kUnavailable errors are the caller's to retry with backoff).
// - Migrations (intake::migrations::kPostgres, recorded in schema_migrations) are applied in one
//   transaction under a database-wide advisory lock, so processes starting together apply each
//   once; the schema (when set) is created in that transaction. Idempotent.
// Error mapping: see pg_connection.hpp.
#pragma once

#include <chrono>
#include <condition_variable>
#include <memory>
#include <mutex>
#include <string>
#include <type_traits>
#include <vector>

#include "adapters/postgres/pg_connection.hpp"
#include "domain/result.hpp"

namespace intake::adapters::postgres {

class PgDatabase {
 public:
  static constexpr std::string_view kBeginSnapshot =
      "BEGIN ISOLATION LEVEL REPEATABLE READ, READ ONLY";
  static constexpr std::chrono::seconds kAcquireTimeout{30};

  // Connects, applies pending migrations. kUnavailable when the server does not answer; other
  // codes for a broken schema or a malformed URL (kInvalidArgument).
  static Result<std::shared_ptr<PgDatabase>> Open(const PgOptions& options);
  ~PgDatabase();
  PgDatabase(const PgDatabase&) = delete;
  PgDatabase& operator=(const PgDatabase&) = delete;

  // Applies every embedded migration not yet recorded. Idempotent and safe across processes.
  Status Migrate();
  // Highest applied migration version (0 when none).
  Result<int> SchemaVersion();
  // Reachability probe for the stores' Check(): SELECT 1 on a pooled connection.
  Status Ping();

  // Runs `fn(PgConnection&)` inside BEGIN … COMMIT; `fn` returns Result<T> (or Status). On an
  // error from `fn` or COMMIT the transaction is rolled back and the error returned.
  template <class Fn>
  auto Transaction(Fn&& fn, std::string_view begin = "BEGIN")
      -> std::invoke_result_t<Fn&, PgConnection&>;
  // Runs `fn(PgConnection&)` on a pooled connection without an explicit transaction: each
  // statement is its own (one snapshot per statement). A connection found broken is retried once.
  template <class Fn>
  auto Run(Fn&& fn) -> std::invoke_result_t<Fn&, PgConnection&>;
  // Transaction() as one read-only REPEATABLE READ snapshot, begun in the same round trip.
  template <class Fn>
  auto ReadSnapshot(Fn&& fn) -> std::invoke_result_t<Fn&, PgConnection&> {
    return Transaction(std::forward<Fn>(fn), kBeginSnapshot);
  }

  // A new connection outside the pool, configured like pooled ones (e.g. for LISTEN).
  Result<std::unique_ptr<PgConnection>> Connect() const { return PgConnection::Open(options_); }
  const PgOptions& options() const { return options_; }
  // The NOTIFY channel of this schema's task queue (at most 63 bytes).
  const std::string& notify_channel() const { return channel_; }

 private:
  class Lease;
  explicit PgDatabase(PgOptions options);
  Result<Lease> Acquire();
  void Release(std::unique_ptr<PgConnection> conn);

  PgOptions options_;
  std::string channel_;
  std::mutex mu_;
  std::condition_variable cv_;
  std::vector<std::unique_ptr<PgConnection>> idle_;
  int open_count_ = 0;
};

// Exclusive use of one pooled connection; returns it to the pool when destroyed.
class PgDatabase::Lease {
 public:
  Lease(PgDatabase* db, std::unique_ptr<PgConnection> conn) : db_(db), conn_(std::move(conn)) {}
  Lease(Lease&&) noexcept = default;
  Lease& operator=(Lease&&) = delete;
  ~Lease() {
    if (conn_) db_->Release(std::move(conn_));
  }
  PgConnection& operator*() const { return *conn_; }

 private:
  PgDatabase* db_;
  std::unique_ptr<PgConnection> conn_;
};

template <class Fn>
auto PgDatabase::Transaction(Fn&& fn, std::string_view begin)
    -> std::invoke_result_t<Fn&, PgConnection&> {
  using R = std::invoke_result_t<Fn&, PgConnection&>;
  for (int attempt = 1;; ++attempt) {
    auto lease = Acquire();
    if (!lease) return R(lease.error());
    PgConnection& conn = **lease;
    if (auto begun = conn.Script(begin, "begin transaction"); !begun) {
      if (attempt < 2 && conn.broken()) continue;
      return R(begun.error());
    }
    R result = fn(conn);
    if (!result) {
      (void)conn.Script("ROLLBACK", "rollback");
      return result;
    }
    if (auto committed = conn.Script("COMMIT", "commit"); !committed) {
      (void)conn.Script("ROLLBACK", "rollback");
      return R(committed.error());
    }
    return result;
  }
}

template <class Fn>
auto PgDatabase::Run(Fn&& fn) -> std::invoke_result_t<Fn&, PgConnection&> {
  using R = std::invoke_result_t<Fn&, PgConnection&>;
  for (int attempt = 1;; ++attempt) {
    auto lease = Acquire();
    if (!lease) return R(lease.error());
    PgConnection& conn = **lease;
    R result = fn(conn);
    if (!result && attempt < 2 && conn.broken()) continue;
    return result;
  }
}

}  // namespace intake::adapters::postgres
