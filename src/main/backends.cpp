#include "main/backends.hpp"

#include <algorithm>
#include <filesystem>
#include <system_error>

#include "adapters/file/file_object_store.hpp"
#include "adapters/postgres/pg_database.hpp"
#include "adapters/postgres/pg_idempotency_store.hpp"
#include "adapters/postgres/pg_record_store.hpp"
#include "adapters/postgres/pg_task_queue.hpp"
#include "adapters/postgres/pg_task_store.hpp"
#include "adapters/redis/redis_task_queue.hpp"
#include "adapters/s3/s3_object_store.hpp"
#include "adapters/sqlite/sqlite_database.hpp"
#include "adapters/sqlite/sqlite_idempotency_store.hpp"
#include "adapters/sqlite/sqlite_record_store.hpp"
#include "adapters/sqlite/sqlite_task_queue.hpp"
#include "adapters/sqlite/sqlite_task_store.hpp"

namespace intake::main_ {
namespace {

namespace fs = std::filesystem;

// Connections beside the workers' own (two each: a task's next batch begins while this one
// applies): the HTTP blocking pool (8 threads), the queue's waiters and the ensurer.
constexpr int kExtraPgConnections = 10;

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

std::chrono::milliseconds Lease(const Config& config) {
  return std::chrono::seconds(config.task_lease_seconds);
}

// The adapters living in an opened, migrated database `db`, whatever its technology; `with` is
// what the record store, the task store and the queue take besides (SQLite: its inbox).
template <typename Records, typename Tasks, typename Idempotency, typename Queue, typename Db,
          typename... With>
Result<std::unique_ptr<DatabaseBackend>> Assemble(std::shared_ptr<Db> db, const Config& config,
                                                  bool queue_in_database, const With&... with) {
  auto version = db->SchemaVersion();
  if (!version) return version.error();
  auto backend = std::make_unique<DatabaseBackend>();
  backend->schema_version = *version;
  backend->records = std::make_unique<Records>(db, with...);
  backend->tasks = std::make_unique<Tasks>(db, with...);
  backend->idempotency = std::make_unique<Idempotency>(db);
  if (queue_in_database) backend->queue = std::make_unique<Queue>(db, with..., Lease(config));
  backend->handle = std::move(db);
  return backend;
}

Result<std::unique_ptr<DatabaseBackend>> OpenSqlite(const Config& config,
                                                    const std::string& path_text,
                                                    bool queue_in_database) {
  namespace sq = adapters::sqlite;
  const fs::path path(path_text);
  if (path_text != ":memory:" && path.has_parent_path()) {
    if (auto made = EnsureFolder(path.parent_path(), "database folder"); !made) {
      return made.error();
    }
  }
  auto opened = sq::SqliteDatabase::Open(path_text);
  if (!opened) return opened.error();
  auto inbox = sq::SqliteInbox::Open(*opened);
  if (!inbox) return inbox.error();
  return Assemble<sq::SqliteRecordStore, sq::SqliteTaskStore, sq::SqliteIdempotencyStore,
                  sq::SqliteTaskQueue>(std::move(*opened), config, queue_in_database, *inbox);
}

Result<std::unique_ptr<DatabaseBackend>> OpenPostgres(const Config& config,
                                                      bool queue_in_database) {
  namespace pg = adapters::postgres;
  pg::PgOptions options;
  options.url = config.database_url;
  options.pool_size = 2 * config.worker_concurrency + kExtraPgConnections;
  auto opened = pg::PgDatabase::Open(options);
  if (!opened) return opened.error();
  return Assemble<pg::PgRecordStore, pg::PgTaskStore, pg::PgIdempotencyStore, pg::PgTaskQueue>(
      std::move(*opened), config, queue_in_database);
}

}  // namespace

Result<BackendFactory> BackendFactory::Create(const Config& config) {
  auto db = ParseDatabaseUrl(config.database_url);
  if (!db) return db.error();
  auto queue = ParseBrokerUrl(config.broker_url);
  if (!queue) return queue.error();
  return BackendFactory(config, std::move(*db), *queue);
}

Result<std::unique_ptr<DatabaseBackend>> BackendFactory::OpenDatabase() const {
  if (db_.kind == DatabaseKind::kPostgres) return OpenPostgres(config_, QueueInDatabase());
  return OpenSqlite(config_, db_.sqlite_path, QueueInDatabase());
}

Result<std::unique_ptr<ports::ObjectStore>> BackendFactory::OpenObjectStore() const {
  std::unique_ptr<ports::ObjectStore> store;
  if (config_.object_store == ObjectStoreKind::kS3) {
    adapters::s3::S3Options options;
    options.endpoint_url = config_.s3_endpoint_url.value_or("");
    options.region = config_.aws_region;
    options.bucket = config_.s3_bucket_name;
    options.access_key_id = config_.aws_access_key_id.value_or("");
    options.secret_access_key = config_.aws_secret_access_key.value_or("");
    store = std::make_unique<adapters::s3::S3ObjectStore>(std::move(options));
  } else {
    const fs::path root = fs::path(config_.data_dir) / "objects";
    if (auto made = EnsureFolder(root, "object folder"); !made) return made.error();
    store = std::make_unique<adapters::file::FileObjectStore>(root, config_.s3_bucket_name);
  }
  if (auto ensured = store->EnsureBucket(); !ensured) return ensured.error();
  return store;
}

Result<std::unique_ptr<ports::TaskQueue>> BackendFactory::OpenQueue() const {
  if (QueueInDatabase() || !config_.broker_url) return Internal("the queue lives in the database");
  adapters::redis::RedisQueueOptions options;
  options.url = *config_.broker_url;
  options.visibility_timeout = Lease(config_);
  auto opened = adapters::redis::RedisTaskQueue::Open(options);
  if (!opened) return opened.error();
  return std::unique_ptr<ports::TaskQueue>(std::move(*opened));
}

std::string BackendFactory::Describe() const {
  std::string queue =
      QueueInDatabase() ? "database table" : "redis " + MaskUrl(*config_.broker_url);
  return "database " + MaskUrl(config_.database_url) + ", object store " +
         ObjectStoreName(config_) + ", queue " + queue;
}

}  // namespace intake::main_
