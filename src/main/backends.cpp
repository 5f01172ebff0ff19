#include "main/backends.hpp"

#include <filesystem>
#include <system_error>

#include "adapters/file/file_object_store.hpp"
#include "adapters/sqlite/sqlite_database.hpp"
#include "adapters/sqlite/sqlite_idempotency_store.hpp"
#include "adapters/sqlite/sqlite_record_store.hpp"
#include "adapters/sqlite/sqlite_task_queue.hpp"
#include "adapters/sqlite/sqlite_task_store.hpp"

namespace intake::main_ {
namespace {

namespace fs = std::filesystem;

Error NotBuiltIn(std::string_view variable, std::string_view backend) {
  return InvalidArgument(std::string(variable) + ": " + std::string(backend) +
                         " backend is not available in this build");
}

// Creates `dir` (and parents) when missing; kUnavailable naming it otherwise.
Status EnsureFolder(const fs::path& dir, std::string_view what) {
  std::error_code ec;
  fs::create_directories(dir, ec);
  if (ec) {
    return Unavailable("cannot create " + std::string(what) + " " + dir.string() + ": " +
                       ec.message());
  }
  return {};
}

std::string ObjectStoreName(const Config& config) {
  if (config.object_store == ObjectStoreKind::kS3) {
    return "s3 " +
           (config.s3_endpoint_url ? MaskUrl(*config.s3_endpoint_url)
                                   : "aws:" + config.aws_region) +
           " bucket " + config.s3_bucket_name;
  }
  return "file " + (fs::path(config.data_dir) / "objects" / config.s3_bucket_name).string();
}

}  // namespace

Result<BackendFactory> BackendFactory::Create(const Config& config) {
  auto db = ParseDatabaseUrl(config.database_url);
  if (!db) return db.error();
  auto queue = ParseBrokerUrl(config.broker_url);
  if (!queue) return queue.error();
  // TODO(main): the PostgreSQL, Redis and S3 adapters replace these refusals.
  if (db->kind == DatabaseKind::kPostgres) return NotBuiltIn("DATABASE_URL", "postgresql");
  if (*queue == QueueKind::kRedis) return NotBuiltIn("BROKER_URL", "redis");
  if (config.object_store == ObjectStoreKind::kS3) {
    return NotBuiltIn(config.s3_endpoint_url ? "S3_ENDPOINT_URL" : "OBJECT_STORE", "s3");
  }
  return BackendFactory(config, std::move(*db), *queue);
}

Result<std::unique_ptr<DatabaseBackend>> BackendFactory::OpenDatabase() const {
  namespace sq = adapters::sqlite;
  if (db_.kind != DatabaseKind::kSqlite) return Internal("database backend not built in");
  const fs::path path(db_.sqlite_path);
  if (db_.sqlite_path != ":memory:" && path.has_parent_path()) {
    if (auto made = EnsureFolder(path.parent_path(), "database folder"); !made) {
      return made.error();
    }
  }
  auto opened = sq::SqliteDatabase::Open(db_.sqlite_path);
  if (!opened) return opened.error();
  std::shared_ptr<sq::SqliteDatabase> db = std::move(*opened);

  auto backend = std::make_unique<DatabaseBackend>();
  auto version = db->SchemaVersion();
  if (!version) return version.error();
  backend->schema_version = *version;
  backend->records = std::make_unique<sq::SqliteRecordStore>(db);
  backend->tasks = std::make_unique<sq::SqliteTaskStore>(db);
  backend->idempotency = std::make_unique<sq::SqliteIdempotencyStore>(db);
  if (QueueInDatabase()) {
    backend->queue =
        std::make_unique<sq::SqliteTaskQueue>(db, std::chrono::seconds(config_.task_lease_seconds));
  }
  backend->handle = std::move(db);
  return backend;
}

Result<std::unique_ptr<ports::ObjectStore>> BackendFactory::OpenObjectStore() const {
  const fs::path root = fs::path(config_.data_dir) / "objects";
  if (auto made = EnsureFolder(root, "object folder"); !made) return made.error();
  auto store = std::make_unique<adapters::file::FileObjectStore>(root, config_.s3_bucket_name);
  if (auto ensured = store->EnsureBucket(); !ensured) return ensured.error();
  return std::unique_ptr<ports::ObjectStore>(std::move(store));
}

std::string BackendFactory::Describe() const {
  std::string queue =
      QueueInDatabase() ? "database table" : "redis " + MaskUrl(*config_.broker_url);
  return "database " + MaskUrl(config_.database_url) + ", object store " +
         ObjectStoreName(config_) + ", queue " + queue;
}

}  // namespace intake::main_
