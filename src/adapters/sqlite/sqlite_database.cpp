#include "adapters/sqlite/sqlite_database.hpp"

#include <algorithm>
#include <chrono>
#include <filesystem>
#include <system_error>
#include <thread>

#include "adapters/migrations.hpp"

namespace intake::adapters::sqlite {
namespace {

constexpr std::string_view kCreateSchemaVersion =
    "CREATE TABLE IF NOT EXISTS schema_version ("
    " version INTEGER PRIMARY KEY,"
    " name TEXT NOT NULL,"
    " applied_at TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ', 'now')))";
constexpr std::string_view kSelectVersionApplied =
    "SELECT 1 FROM schema_version WHERE version = ?1";
constexpr std::string_view kInsertVersion =
    "INSERT INTO schema_version (version, name) VALUES (?1, ?2)";
constexpr std::string_view kSelectMaxVersion =
    "SELECT COALESCE(MAX(version), 0) FROM schema_version";

constexpr std::chrono::milliseconds kMaxPragmaPause{50};

bool IsBusy(int rc) {
  int primary = rc & 0xff;
  return primary == SQLITE_BUSY || primary == SQLITE_LOCKED;
}

bool IsUnavailable(int rc) {
  int primary = rc & 0xff;
  return primary == SQLITE_IOERR || primary == SQLITE_CANTOPEN || primary == SQLITE_FULL ||
         primary == SQLITE_PROTOCOL;
}

}  // namespace

// ---- Statement
// -----------------------------------------------------------------------------------

Statement::~Statement() {
  if (stmt_ != nullptr) Reset();
}

void Statement::Reset() {
  sqlite3_reset(stmt_);
  sqlite3_clear_bindings(stmt_);
  rc_ = SQLITE_OK;
}

Statement& Statement::Bind(int index, std::int64_t value) {
  int rc = sqlite3_bind_int64(stmt_, index, value);
  if (rc_ == SQLITE_OK) rc_ = rc;
  return *this;
}

Statement& Statement::Bind(int index, std::string_view value) {
  // SQLITE_TRANSIENT: the statement copies the bytes, so temporaries are fine.
  int rc =
      sqlite3_bind_text64(stmt_, index, value.data(), value.size(), SQLITE_TRANSIENT, SQLITE_UTF8);
  if (rc_ == SQLITE_OK) rc_ = rc;
  return *this;
}

Statement& Statement::Bind(int index, const std::optional<std::string>& value) {
  return value ? Bind(index, std::string_view(*value)) : BindNull(index);
}

Statement& Statement::Bind(int index, const std::optional<std::int64_t>& value) {
  return value ? Bind(index, *value) : BindNull(index);
}

Statement& Statement::BindNull(int index) {
  int rc = sqlite3_bind_null(stmt_, index);
  if (rc_ == SQLITE_OK) rc_ = rc;
  return *this;
}

Result<bool> Statement::Step() {
  if (rc_ != SQLITE_OK) return conn_->MakeError(rc_, what_);
  int rc = sqlite3_step(stmt_);
  if (rc == SQLITE_ROW) return true;
  if (rc == SQLITE_DONE) return false;
  return conn_->MakeError(rc, what_);
}

Status Statement::Run() {
  for (;;) {
    auto row = Step();
    if (!row) return row.error();
    if (!*row) return {};
  }
}

std::int64_t Statement::Int(int column) const { return sqlite3_column_int64(stmt_, column); }

std::string Statement::Text(int column) const {
  const auto* text = reinterpret_cast<const char*>(sqlite3_column_text(stmt_, column));
  if (text == nullptr) return {};
  return std::string(text, static_cast<std::size_t>(sqlite3_column_bytes(stmt_, column)));
}

bool Statement::IsNull(int column) const {
  return sqlite3_column_type(stmt_, column) == SQLITE_NULL;
}

// ---- Connection
// ----------------------------------------------------------------------------------

Connection::~Connection() {
  for (auto& [sql, stmt] : cache_) sqlite3_finalize(stmt);
  sqlite3_close_v2(db_);
}

Result<std::unique_ptr<Connection>> Connection::Open(const std::string& path,
                                                     const SqliteOptions& options,
                                                     std::int64_t cache_kib) {
  sqlite3* db = nullptr;
  int flags = SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX;
  int rc = sqlite3_open_v2(path.c_str(), &db, flags, nullptr);
  if (rc != SQLITE_OK) {
    sqlite3_close_v2(db);
    return Unavailable(std::string("sqlite: cannot open database (") + sqlite3_errstr(rc) + ")");
  }
  std::unique_ptr<Connection> conn(new Connection(db));
  sqlite3_extended_result_codes(db, 1);
  sqlite3_busy_timeout(db, static_cast<int>(options.busy_timeout.count()));
  // journal_mode=WAL is persistent in the file; setting it again is a no-op.
  const std::string sql =
      "PRAGMA journal_mode = WAL; PRAGMA synchronous = NORMAL; PRAGMA foreign_keys = ON;"
      " PRAGMA cache_size = -" +
      std::to_string(cache_kib) + ";";
  // Switching a new file to WAL needs an exclusive lock, and SQLite answers busy at once (without
  // its busy handler) while another connection holds one: retry within the busy timeout.
  const auto deadline = std::chrono::steady_clock::now() + options.busy_timeout;
  for (auto pause = std::chrono::milliseconds(2);; pause = std::min(pause * 2, kMaxPragmaPause)) {
    auto pragmas = conn->Exec(sql, "open pragmas");
    if (pragmas) return conn;
    if (!conn->busy() || std::chrono::steady_clock::now() + pause > deadline) {
      return pragmas.error();
    }
    conn->ClearBusy();
    std::this_thread::sleep_for(pause);
  }
}

Result<Statement> Connection::Prepare(std::string_view sql, std::string_view what) {
  auto it = cache_.find(sql.data());
  if (it == cache_.end()) {
    sqlite3_stmt* stmt = nullptr;
    int rc = sqlite3_prepare_v3(db_, sql.data(), static_cast<int>(sql.size()),
                                SQLITE_PREPARE_PERSISTENT, &stmt, nullptr);
    if (rc != SQLITE_OK) return MakeError(rc, what);
    it = cache_.emplace(sql.data(), stmt).first;
  }
  return Statement(this, it->second, what);
}

Status Connection::Exec(std::string_view sql, std::string_view what) {
  std::string text(sql);
  int rc = sqlite3_exec(db_, text.c_str(), nullptr, nullptr, nullptr);
  if (rc != SQLITE_OK) return MakeError(rc, what);
  return {};
}

void Connection::ReleaseMemory() { sqlite3_db_release_memory(db_); }

std::int64_t Connection::LastInsertRowid() const { return sqlite3_last_insert_rowid(db_); }

std::int64_t Connection::Changes() const { return sqlite3_changes64(db_); }

Error Connection::MakeError(int rc, std::string_view what) {
  // sqlite3_errstr gives the generic text of the code: never a value or a row.
  std::string message = "sqlite: " + std::string(what) + ": " + sqlite3_errstr(rc);
  if (IsBusy(rc)) {
    busy_ = true;
    return Unavailable(std::move(message));
  }
  if (IsUnavailable(rc)) return Unavailable(std::move(message));
  if ((rc & 0xff) == SQLITE_CONSTRAINT) return Conflict(std::move(message));
  return Internal(std::move(message));
}

// ---- SqliteDatabase
// ------------------------------------------------------------------------------

Result<std::shared_ptr<SqliteDatabase>> SqliteDatabase::Open(const std::string& path,
                                                             SqliteOptions options) {
  if (options.busy_attempts < 1) options.busy_attempts = 1;
  if (options.max_connections < 1) options.max_connections = 1;
  // Every connection to ":memory:" would be its own empty database: keep exactly one, for ever.
  if (path == kMemoryPath) options.max_connections = 1;
  std::filesystem::path parent = std::filesystem::path(path).parent_path();
  if (!parent.empty()) {
    std::error_code ec;
    std::filesystem::create_directories(parent, ec);
    if (ec) return Unavailable("sqlite: cannot create the database folder (" + ec.message() + ")");
  }
  std::shared_ptr<SqliteDatabase> db(new SqliteDatabase(path, options));
  {
    // Open one connection now so that an unusable path fails here.
    auto lease = db->Acquire(Access::kRead);
    if (!lease) return lease.error();
  }
  if (options.migrate_on_open) {
    if (auto migrated = db->Migrate(); !migrated) return migrated.error();
  }
  return db;
}

SqliteDatabase::~SqliteDatabase() = default;

std::unique_lock<std::mutex> SqliteDatabase::LockWriter(Access access) {
  using Clock = std::chrono::steady_clock;
  if (access != Access::kBulkWrite) {
    {
      std::lock_guard gate(gate_mu_);
      ++short_writers_waiting_;
    }
    struct Arrived {  // counts this writer out again, even if locking throws
      SqliteDatabase* db;
      ~Arrived() {
        std::lock_guard gate(db->gate_mu_);
        if (--db->short_writers_waiting_ == 0) db->gate_cv_.notify_all();
      }
    } arrived{this};
    return std::unique_lock(writer_mu_);
  }
  const auto arrived = Clock::now();
  while (true) {
    {
      std::unique_lock gate(gate_mu_);
      while (!BulkMayGo(arrived)) {
        const auto give_up = GiveUp(arrived);
        const auto wake = short_writers_waiting_ > 0 ? give_up : std::min(give_up, GraceEnd());
        gate_cv_.wait_until(gate, wake);
      }
    }
    std::unique_lock writer_lock(writer_mu_);
    std::lock_guard gate(gate_mu_);
    // Checked again with the writer held: a short writer that came, or finished, while this one
    // waited for the mutex still goes first.
    if (BulkMayGo(arrived)) return writer_lock;
  }
}

std::chrono::steady_clock::time_point SqliteDatabase::GiveUp(
    std::chrono::steady_clock::time_point arrived) const {
  return std::max(arrived, last_bulk_done_) + options_.max_bulk_yield;
}

bool SqliteDatabase::BulkMayGo(std::chrono::steady_clock::time_point arrived) const {
  const auto now = std::chrono::steady_clock::now();
  if (now >= GiveUp(arrived)) return true;
  return short_writers_waiting_ == 0 && now >= GraceEnd();
}

std::chrono::steady_clock::time_point SqliteDatabase::GraceEnd() const {
  const auto after_short = last_write_done_ + options_.short_write_grace;
  // A thread's own bulk writes follow each other at once (a CSV task's batches).
  if (last_bulk_thread_ == std::this_thread::get_id()) return after_short;
  return std::max(after_short, last_bulk_done_ + options_.bulk_write_grace);
}

void SqliteDatabase::NoteWriteDone(bool bulk) {
  std::lock_guard gate(gate_mu_);
  last_write_done_ = std::chrono::steady_clock::now();
  if (bulk) {
    last_bulk_done_ = last_write_done_;
    last_bulk_thread_ = std::this_thread::get_id();
  }
}

Result<SqliteDatabase::Lease> SqliteDatabase::Acquire(Access access) {
  const bool write = access != Access::kRead;
  if (write && UsesWriter()) {
    std::unique_lock writer_lock = LockWriter(access);
    if (!writer_) {
      auto conn = Connection::Open(path_, options_, options_.writer_cache_kib);
      if (!conn) return conn.error();
      if (!checkpointer_) {
        checkpointer_ = std::make_unique<WalCheckpointer>(path_, options_.wal_checkpoint_pages);
      }
      checkpointer_->Attach((*conn)->handle());
      writer_ = std::move(*conn);
    }
    return Lease(this, std::move(writer_lock), access == Access::kBulkWrite);
  }
  std::unique_lock lock(mu_);
  cv_.wait(lock, [&] { return !idle_.empty() || open_count_ < options_.max_connections; });
  if (!idle_.empty()) {
    auto conn = std::move(idle_.back());
    idle_.pop_back();
    return Lease(this, std::move(conn));
  }
  ++open_count_;
  lock.unlock();
  // The one connection of ":memory:" also writes: it gets the writer's cache.
  auto conn = Connection::Open(
      path_, options_, UsesWriter() ? options_.reader_cache_kib : options_.writer_cache_kib);
  if (!conn) {
    lock.lock();
    --open_count_;
    cv_.notify_one();
    return conn.error();
  }
  return Lease(this, std::move(*conn));
}

void SqliteDatabase::ReleaseMemory() {
  {
    std::lock_guard lock(mu_);
    for (auto& conn : idle_) conn->ReleaseMemory();
  }
  std::unique_lock writer_lock(writer_mu_, std::try_to_lock);
  if (writer_lock && writer_) writer_->ReleaseMemory();
}

void SqliteDatabase::ReleaseConnection(std::unique_ptr<Connection> conn) {
  std::lock_guard lock(mu_);
  idle_.push_back(std::move(conn));
  cv_.notify_one();
}

Status SqliteDatabase::Begin(Connection& conn, bool write) {
  return conn.Exec(write ? "BEGIN IMMEDIATE" : "BEGIN", "begin transaction");
}

Status SqliteDatabase::NoteOtherCommits(Connection& conn) {
  auto s = conn.Prepare("PRAGMA data_version", "read data version");
  if (!s) return s.error();
  auto row = s->Step();
  if (!row) return row.error();
  if (!*row) return Internal("sqlite: PRAGMA data_version returned no row");
  const std::int64_t version = s->Int(0);
  const std::uint64_t n = write_transactions_.fetch_add(1) + 1;
  // The first write transaction on a connection has nothing to compare with: it counts as having
  // seen another connection's commit.
  if (last_write_conn_ != &conn || version != last_data_version_) {
    other_commits_seen_.fetch_add(1);
    other_commit_seen_at_.store(n);
  }
  last_write_conn_ = &conn;
  last_data_version_ = version;
  return {};
}

Status SqliteDatabase::Commit(Connection& conn) { return conn.Exec("COMMIT", "commit"); }

void SqliteDatabase::Rollback(Connection& conn) {
  // Fails harmlessly when SQLite already rolled back; the busy flag only ever gets set, so the
  // caller still sees why the transaction failed.
  (void)conn.Exec("ROLLBACK", "rollback");
}

void SqliteDatabase::Backoff(int attempt) const {
  auto delay = options_.first_backoff * (1 << std::min(attempt - 1, 10));
  std::this_thread::sleep_for(delay);
}

Status SqliteDatabase::Migrate() {
  auto created = Write([&](Connection& conn) -> Status {
    return conn.Exec(kCreateSchemaVersion, "create schema_version");
  });
  if (!created) return created.error();
  for (const auto& migration : migrations::kSqlite) {
    auto applied = ApplyMigration(migration.version, migration.name, migration.sql);
    if (!applied) return applied.error();
  }
  return {};
}

Status SqliteDatabase::ApplyMigration(int version, std::string_view name, std::string_view sql) {
  return Write([&](Connection& conn) -> Status {
    auto check = conn.Prepare(kSelectVersionApplied, "read schema_version");
    if (!check) return check.error();
    check->Bind(1, std::int64_t{version});
    auto seen = check->Step();
    if (!seen) return seen.error();
    if (*seen) return {};
    if (auto run = conn.Exec(sql, "apply migration"); !run) return run.error();
    auto insert = conn.Prepare(kInsertVersion, "record migration");
    if (!insert) return insert.error();
    insert->Bind(1, std::int64_t{version}).Bind(2, name);
    return insert->Run();
  });
}

Status SqliteDatabase::Ping() {
  return Read([&](Connection& conn) -> Status {
    auto s = conn.Prepare("SELECT 1", "ping");
    if (!s) return s.error();
    return s->Run();
  });
}

Result<int> SqliteDatabase::SchemaVersion() {
  return Read([&](Connection& conn) -> Result<int> {
    auto stmt = conn.Prepare(kSelectMaxVersion, "read schema_version");
    if (!stmt) return stmt.error();
    auto row = stmt->Step();
    if (!row) return row.error();
    return static_cast<int>(stmt->Int(0));
  });
}

}  // namespace intake::adapters::sqlite
