// SqliteDatabase: one SQLite file shared by the SQLite adapters (record store, task store, task
// queue, idempotency store), safe for many threads and many processes on the same file.
//
// - Open() creates the parent folders, opens the file in WAL mode with synchronous=NORMAL,
//   foreign_keys=ON and a busy timeout, and (by default) applies the embedded migrations.
// - Connections come from a small pool (one per concurrent caller, created on demand, kept for
//   reuse). Each connection caches its prepared statements.
// - Write() runs a function inside BEGIN IMMEDIATE … COMMIT, so writers are serialized across
//   threads and processes; SQLITE_BUSY / SQLITE_LOCKED (after the busy timeout) are retried with
//   backoff, then reported as kUnavailable. Read() runs a function inside a deferred transaction
//   (one consistent snapshot).
// - Error mapping: busy/locked/I/O/can't-open → kUnavailable, constraint → kConflict, anything
//   else → kInternal. Messages name the operation and SQLite's generic code text, never values.
#pragma once

#include <sqlite3.h>

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <thread>
#include <type_traits>
#include <unordered_map>
#include <utility>
#include <vector>

#include "adapters/sqlite/wal_checkpointer.hpp"
#include "domain/result.hpp"

namespace intake::adapters::sqlite {

struct SqliteOptions {
  // SQLite waits this long for a lock before reporting busy.
  std::chrono::milliseconds busy_timeout{5000};
  // Attempts of a whole transaction that hit busy/locked before kUnavailable (>= 1).
  int busy_attempts = 4;
  // First backoff between attempts; doubles each time.
  std::chrono::milliseconds first_backoff{20};
  // Most connections open at once; callers beyond it wait for a free one.
  std::size_t max_connections = 16;
  // Apply the embedded migrations inside Open() (a failure fails Open).
  bool migrate_on_open = true;
  // Page cache of the writer connection, in KiB (PRAGMA cache_size = -N). SQLite's own default
  // (2 MiB) makes a large load re-read and re-write the same index pages over and over.
  std::int64_t writer_cache_kib = 128 * 1024;
  // Page cache of each read connection, in KiB.
  std::int64_t reader_cache_kib = 4 * 1024;
  // WAL pages past which a commit asks for a checkpoint. The writer's checkpoints run on a
  // thread of their own (WalCheckpointer); other connections keep SQLite's automatic one.
  std::int64_t wal_checkpoint_pages = 16000;
  // A bulk write (WriteBulk: a load's batch) lets short writes (Write) waiting for the writer go
  // first, and waits this long after the last one finished, so the same caller's next short write
  // (a worker claiming one task after another) goes first too ...
  std::chrono::milliseconds short_write_grace{2};
  // ... and this long after the last bulk write finished, so that the worker that made it marks
  // its tasks done and claims its next ones before another bulk write takes the writer (a thread
  // just woken, such as the checkpointer, may take its core for a few milliseconds first); not
  // after the caller's own bulk write (a CSV task's batches follow each other at once) ...
  std::chrono::milliseconds bulk_write_grace{20};
  // ... but for at most this long in all (counted from when it came, or from the end of the last
  // bulk write when it came before: waiting for a bulk write is not yielding): then it takes its
  // turn, however busy the short writers.
  std::chrono::milliseconds max_bulk_yield{250};
};

class Connection;

// A prepared statement borrowed from a connection's cache. Reset (and its bindings cleared) when
// destroyed. Parameters are 1-based (`?1`), columns 0-based. Not thread-safe.
class Statement {
 public:
  Statement(Connection* conn, sqlite3_stmt* stmt, std::string_view what)
      : conn_(conn), stmt_(stmt), what_(what) {}
  ~Statement();
  Statement(Statement&& o) noexcept
      : conn_(o.conn_), stmt_(std::exchange(o.stmt_, nullptr)), what_(o.what_), rc_(o.rc_) {}
  Statement(const Statement&) = delete;
  Statement& operator=(const Statement&) = delete;
  Statement& operator=(Statement&&) = delete;

  Statement& Bind(int index, std::int64_t value);
  Statement& Bind(int index, std::string_view value);
  Statement& Bind(int index, const std::string& value) {
    return Bind(index, std::string_view(value));
  }
  Statement& Bind(int index, const char* value) { return Bind(index, std::string_view(value)); }
  Statement& Bind(int index, const std::optional<std::string>& value);
  Statement& Bind(int index, const std::optional<std::int64_t>& value);
  Statement& BindNull(int index);

  // Steps once: true when a row is available, false when done.
  Result<bool> Step();
  // Steps to the end, ignoring rows.
  Status Run();
  // Makes the statement ready to be bound and stepped again (bindings cleared).
  void Reset();

  std::int64_t Int(int column) const;
  std::string Text(int column) const;
  bool IsNull(int column) const;

 private:
  Connection* conn_;
  sqlite3_stmt* stmt_;
  std::string_view what_;
  int rc_ = SQLITE_OK;  // first binding error, reported by Step()
};

// One open sqlite3 handle with its statement cache. Used by one thread at a time (the pool hands
// it out exclusively).
class Connection {
 public:
  ~Connection();
  Connection(const Connection&) = delete;
  Connection& operator=(const Connection&) = delete;

  // Opens `path` and applies the connection pragmas, with a page cache of `cache_kib`.
  static Result<std::unique_ptr<Connection>> Open(const std::string& path,
                                                  const SqliteOptions& options,
                                                  std::int64_t cache_kib);
  // Frees what memory the connection can (its unused page cache).
  void ReleaseMemory();
  sqlite3* handle() const { return db_; }

  // A cached prepared statement for `sql` (which must outlive the connection: use constants).
  // `what` names the operation in error messages.
  Result<Statement> Prepare(std::string_view sql, std::string_view what);
  // Runs SQL without parameters (may hold several statements).
  Status Exec(std::string_view sql, std::string_view what);

  std::int64_t LastInsertRowid() const;
  std::int64_t Changes() const;

  // The Error for return code `rc`; remembers whether it was busy/locked (see busy()).
  Error MakeError(int rc, std::string_view what);
  bool busy() const { return busy_; }
  void ClearBusy() { busy_ = false; }

 private:
  explicit Connection(sqlite3* db) : db_(db) {}

  sqlite3* db_;
  bool busy_ = false;
  std::unordered_map<const char*, sqlite3_stmt*> cache_;
};

class SqliteDatabase {
 public:
  // A private in-memory database (tests): one connection, so every caller sees the same data.
  static constexpr std::string_view kMemoryPath = ":memory:";

  // Opens (creating if needed) the database file at `path` (or kMemoryPath). kUnavailable when it
  // cannot be opened; migration errors as Migrate().
  static Result<std::shared_ptr<SqliteDatabase>> Open(const std::string& path,
                                                      SqliteOptions options = {});
  ~SqliteDatabase();
  SqliteDatabase(const SqliteDatabase&) = delete;
  SqliteDatabase& operator=(const SqliteDatabase&) = delete;

  // Applies every embedded migration (intake::migrations::kSqlite) not yet recorded in
  // schema_version, each in its own IMMEDIATE transaction. Idempotent; safe when several processes
  // run it at once (the second waits for the first, then finds the versions recorded).
  Status Migrate();
  // Highest applied migration version (0 when none).
  Result<int> SchemaVersion();
  // Cheap reachability probe for the stores' Check(): runs SELECT 1 on a pooled connection.
  Status Ping();

  // Frees the page caches' unused memory on the idle connections (call when the workers idle).
  void ReleaseMemory();

  // Runs `fn(Connection&)` inside BEGIN IMMEDIATE … COMMIT; `fn` returns Result<T> (or Status).
  // Writes of this process share one writer connection (SQLite allows one writer anyway), so its
  // large page cache stays warm from one batch to the next; they queue on a mutex.
  // On an error from `fn` or COMMIT the transaction is rolled back. Busy/locked → the whole
  // transaction is retried with backoff (so `fn` may run more than once), then kUnavailable.
  template <class Fn>
  auto Write(Fn&& fn) -> std::invoke_result_t<Fn&, Connection&> {
    return RunTransaction(Access::kWrite, fn);
  }
  // Write() for a long transaction (a load's batch): it lets every short Write() waiting for the
  // writer go first, so a short write never waits behind a queue of batches (at most behind the
  // one batch in flight).
  template <class Fn>
  auto WriteBulk(Fn&& fn) -> std::invoke_result_t<Fn&, Connection&> {
    return RunTransaction(Access::kBulkWrite, fn);
  }
  // Same with a deferred (read) transaction: one consistent snapshot.
  template <class Fn>
  auto Read(Fn&& fn) -> std::invoke_result_t<Fn&, Connection&> {
    return RunTransaction(Access::kRead, fn);
  }

  const std::string& path() const { return path_; }

  // Commits by other connections (other processes, other programs). At the start of each write
  // transaction the writer asks SQLite whether the file changed since its previous one (PRAGMA
  // data_version, which counts other connections' commits): WriteTransactions() is how many
  // write transactions have begun so far, and OtherCommitSeenAfter(n) whether one begun after
  // the n-th found such a change. A commit by another connection after a reader took
  // WriteTransactions() is seen by the next write transaction to begin: call it inside one.
  std::uint64_t WriteTransactions() const { return write_transactions_.load(); }
  bool OtherCommitSeenAfter(std::uint64_t n) const { return other_commit_seen_at_.load() > n; }
  // How many write transactions found such a change: what a records version set by this process
  // is tagged with (the same value after another connection's commit is another version).
  std::uint64_t OtherCommitsSeen() const { return other_commits_seen_.load(); }

 private:
  class Lease;
  enum class Access { kRead, kWrite, kBulkWrite };
  SqliteDatabase(std::string path, SqliteOptions options)
      : path_(std::move(path)), options_(options) {}

  Result<Lease> Acquire(Access access);
  // Locks writer_mu_. A bulk writer first waits until no short writer is waiting for it and the
  // last write finished short_write_grace ago, or until GiveUp (SqliteOptions).
  std::unique_lock<std::mutex> LockWriter(Access access);
  // With gate_mu_ held: when a bulk writer that came at `arrived` stops yielding to short writes:
  // max_bulk_yield after it came, or after the last bulk write finished when that was later (the
  // time spent waiting for another bulk write is not yielding).
  std::chrono::steady_clock::time_point GiveUp(std::chrono::steady_clock::time_point arrived) const;
  // With gate_mu_ held: when the grace after the last write ends for the calling bulk writer (no
  // bulk_write_grace after its own bulk write).
  std::chrono::steady_clock::time_point GraceEnd() const;
  // With gate_mu_ held: may a bulk writer that came at `arrived` go now?
  bool BulkMayGo(std::chrono::steady_clock::time_point arrived) const;
  // Called by a writer's Lease while it still holds the writer.
  void NoteWriteDone(bool bulk);
  void ReleaseConnection(std::unique_ptr<Connection> conn);
  bool UsesWriter() const { return path_ != kMemoryPath; }
  Status Begin(Connection& conn, bool write);
  // After a write transaction began: numbers it, and notes whether another connection committed
  // since the previous one (with the writer held).
  Status NoteOtherCommits(Connection& conn);
  Status Commit(Connection& conn);
  void Rollback(Connection& conn);
  void Backoff(int attempt) const;
  Status ApplyMigration(int version, std::string_view name, std::string_view sql);

  template <class Fn>
  auto RunTransaction(Access access, Fn& fn) -> std::invoke_result_t<Fn&, Connection&>;

  std::string path_;
  SqliteOptions options_;
  std::mutex mu_;
  std::condition_variable cv_;
  std::vector<std::unique_ptr<Connection>> idle_;
  std::size_t open_count_ = 0;
  std::mutex writer_mu_;             // held by the Lease of a write transaction
  std::mutex gate_mu_;               // guards the two fields below gate_cv_
  std::condition_variable gate_cv_;  // signalled when it drops to 0
  int short_writers_waiting_ = 0;
  std::chrono::steady_clock::time_point last_write_done_;  // guarded by gate_mu_
  std::chrono::steady_clock::time_point last_bulk_done_;   // guarded by gate_mu_
  std::thread::id last_bulk_thread_;                       // guarded by gate_mu_
  std::unique_ptr<WalCheckpointer> checkpointer_;  // guarded by writer_mu_; outlives writer_
  std::unique_ptr<Connection> writer_;             // guarded by writer_mu_; opened on first use
  std::atomic<std::uint64_t> write_transactions_{0};
  std::atomic<std::uint64_t> other_commit_seen_at_{0};
  std::atomic<std::uint64_t> other_commits_seen_{0};
  // The data_version the last write transaction saw, and on which connection (guarded by the
  // writer: writer_mu_, or the one connection of ":memory:").
  const Connection* last_write_conn_ = nullptr;
  std::int64_t last_data_version_ = 0;
};

// Exclusive use of one connection: a pooled one, returned to the pool when destroyed, or the
// writer, whose mutex the lease holds.
class SqliteDatabase::Lease {
 public:
  Lease(SqliteDatabase* db, std::unique_ptr<Connection> conn) : db_(db), conn_(std::move(conn)) {}
  Lease(SqliteDatabase* db, std::unique_lock<std::mutex> writer_lock, bool bulk)
      : db_(db), writer_lock_(std::move(writer_lock)), bulk_(bulk) {}
  Lease(Lease&&) noexcept = default;
  Lease& operator=(Lease&&) = delete;
  ~Lease() {
    if (conn_) db_->ReleaseConnection(std::move(conn_));
    // Noted before the writer is unlocked (by writer_lock_), so that a bulk writer waiting for the
    // mutex sees it when it gets the mutex. After a bulk write too: a bulk writer that took the
    // writer the moment another's commit freed it would make that worker's next short writes (its
    // tasks' SUCCESS, its next claims) wait for its whole transaction, and the two workers would
    // prepare their groups at the same time instead of one while the other writes.
    if (writer_lock_) db_->NoteWriteDone(bulk_);
  }
  Connection& operator*() const { return writer_lock_ ? *db_->writer_ : *conn_; }

 private:
  SqliteDatabase* db_;
  std::unique_ptr<Connection> conn_;
  std::unique_lock<std::mutex> writer_lock_;
  bool bulk_ = false;
};

template <class Fn>
auto SqliteDatabase::RunTransaction(Access access, Fn& fn)
    -> std::invoke_result_t<Fn&, Connection&> {
  using R = std::invoke_result_t<Fn&, Connection&>;
  const bool write = access != Access::kRead;
  auto lease = Acquire(access);
  if (!lease) return R(lease.error());
  Connection& conn = **lease;
  for (int attempt = 1;; ++attempt) {
    conn.ClearBusy();
    R result = [&]() -> R {
      if (auto begun = Begin(conn, write); !begun) return R(begun.error());
      if (write) {
        if (auto noted = NoteOtherCommits(conn); !noted) {
          Rollback(conn);
          return R(noted.error());
        }
      }
      R inner = fn(conn);
      if (!inner) {
        Rollback(conn);
        return inner;
      }
      if (auto committed = Commit(conn); !committed) {
        Rollback(conn);
        return R(committed.error());
      }
      return inner;
    }();
    if (result || !conn.busy() || attempt >= options_.busy_attempts) return result;
    Backoff(attempt);
  }
}

}  // namespace intake::adapters::sqlite
