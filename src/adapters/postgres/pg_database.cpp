#include "adapters/postgres/pg_database.hpp"

#include <cstdint>
#include <cstdio>
#include <set>

#include "adapters/migrations.hpp"

namespace intake::adapters::postgres {
namespace {

// Any constant shared by every Intake process: the two-key advisory lock (class, 0) guards
// migrations of every schema of the database.
constexpr std::string_view kLockMigrations = "SELECT pg_advisory_xact_lock(1769236330, 0)";
constexpr std::string_view kCreateMigrationsTable =
    "CREATE TABLE IF NOT EXISTS schema_migrations ("
    " version INTEGER PRIMARY KEY,"
    " name TEXT NOT NULL,"
    " applied_at TIMESTAMPTZ NOT NULL DEFAULT now())";
constexpr std::string_view kSelectVersions = "SELECT version FROM schema_migrations";
constexpr std::string_view kInsertVersion =
    "INSERT INTO schema_migrations (version, name) VALUES ($1, $2)";
constexpr std::string_view kSelectMaxVersion =
    "SELECT COALESCE(MAX(version), 0) FROM schema_migrations";
constexpr std::string_view kPing = "SELECT 1";
constexpr std::string_view kSchemaExists = "SELECT 1 FROM pg_namespace WHERE nspname = $1";
constexpr std::string_view kChannelPrefix = "intake_tasks";
constexpr std::size_t kMaxIdentifier = 63;

std::string ChannelFor(const std::string& schema) {
  if (schema.empty()) return std::string(kChannelPrefix);
  std::string channel = std::string(kChannelPrefix) + "_" + schema;
  if (channel.size() <= kMaxIdentifier) return channel;
  std::uint64_t hash = 14695981039346656037ull;  // FNV-1a: the same in every process and build
  for (unsigned char c : schema) hash = (hash ^ c) * 1099511628211ull;
  char hex[17];
  std::snprintf(hex, sizeof hex, "%016llx", static_cast<unsigned long long>(hash));
  return std::string(kChannelPrefix) + "_" + hex;
}

}  // namespace

PgDatabase::PgDatabase(PgOptions options)
    : options_(std::move(options)), channel_(ChannelFor(options_.schema)) {}

PgDatabase::~PgDatabase() = default;

Result<std::shared_ptr<PgDatabase>> PgDatabase::Open(const PgOptions& options) {
  PgOptions normalized = options;
  if (normalized.pool_size < 1) normalized.pool_size = 1;
  std::shared_ptr<PgDatabase> db(new PgDatabase(std::move(normalized)));
  if (auto migrated = db->Migrate(); !migrated) return migrated.error();
  return db;
}

Result<PgDatabase::Lease> PgDatabase::Acquire() {
  std::unique_lock lock(mu_);
  bool ready = cv_.wait_for(lock, kAcquireTimeout,
                            [&] { return !idle_.empty() || open_count_ < options_.pool_size; });
  if (!ready) return Unavailable("postgres: no free connection in the pool");
  while (!idle_.empty()) {
    auto conn = std::move(idle_.back());
    idle_.pop_back();
    if (!conn->broken()) return Lease(this, std::move(conn));
    --open_count_;
  }
  ++open_count_;
  lock.unlock();
  auto conn = PgConnection::Open(options_);
  if (!conn) {
    lock.lock();
    --open_count_;
    cv_.notify_one();
    return conn.error();
  }
  return Lease(this, std::move(*conn));
}

void PgDatabase::Release(std::unique_ptr<PgConnection> conn) {
  if (!conn->broken() && conn->in_transaction()) (void)conn->Script("ROLLBACK", "rollback");
  std::lock_guard lock(mu_);
  if (conn->broken() || conn->in_transaction()) {
    --open_count_;
  } else {
    idle_.push_back(std::move(conn));
  }
  cv_.notify_one();
}

Status PgDatabase::Migrate() {
  return Transaction([&](PgConnection& conn) -> Status {
    if (auto locked = conn.Script(kLockMigrations, "lock migrations"); !locked) return locked;
    if (!options_.schema.empty()) {
      // CREATE SCHEMA needs the CREATE right on the database even when the schema exists.
      auto exists = conn.Exec(kSchemaExists, {options_.schema}, "look up schema");
      if (!exists) return exists.error();
      if (exists->rows() == 0) {
        std::string create = "CREATE SCHEMA " + conn.QuoteIdentifier(options_.schema);
        if (auto created = conn.Script(create, "create schema"); !created) return created;
      }
    }
    if (auto table = conn.Script(kCreateMigrationsTable, "create schema_migrations"); !table) {
      return table;
    }
    auto rows = conn.Exec(kSelectVersions, {}, "read schema_migrations");
    if (!rows) return rows.error();
    std::set<std::int64_t> applied;
    for (int i = 0; i < rows->rows(); ++i) applied.insert(rows->Int(i, 0));
    for (const auto& migration : migrations::kPostgres) {
      if (applied.contains(migration.version)) continue;
      if (auto run = conn.Script(migration.sql, "apply migration"); !run) return run;
      auto recorded =
          conn.Exec(kInsertVersion, {migration.version, migration.name}, "record migration");
      if (!recorded) return recorded.error();
    }
    return {};
  });
}

Result<int> PgDatabase::SchemaVersion() {
  return Transaction([&](PgConnection& conn) -> Result<int> {
    auto row = conn.Exec(kSelectMaxVersion, {}, "read schema_migrations");
    if (!row) return row.error();
    return static_cast<int>(row->Int(0, 0));
  });
}

Status PgDatabase::Ping() {
  return Transaction([&](PgConnection& conn) -> Status {
    auto row = conn.Exec(kPing, {}, "ping");
    if (!row) return row.error();
    return {};
  });
}

}  // namespace intake::adapters::postgres
