// The one factory where configuration picks adapters: the database by DATABASE_URL's scheme
// (SQLite or PostgreSQL), the object store by OBJECT_STORE (folder or S3), the task queue by
// BROKER_URL (the database's own queue table, or Redis Streams).
#pragma once

#include <memory>

#include "domain/result.hpp"
#include "main/config.hpp"
#include "main/deferred_ports.hpp"
#include "ports/clock.hpp"
#include "ports/idempotency_store.hpp"
#include "ports/object_store.hpp"
#include "ports/record_store.hpp"
#include "ports/task_queue.hpp"
#include "ports/task_store.hpp"

namespace intake::main_ {

// An opened, migrated database and the adapters living in it. Owns them.
struct DatabaseBackend {
  std::shared_ptr<void> handle;  // the connection pool the adapters share
  std::unique_ptr<ports::RecordStore> records;
  std::unique_ptr<ports::TaskStore> tasks;
  std::unique_ptr<ports::IdempotencyStore> idempotency;
  std::unique_ptr<ports::TaskQueue> queue;  // the queue table; nullptr when BROKER_URL is set
  int schema_version = 0;                   // after the migrations

  DatabasePorts Ports() const { return {records.get(), tasks.get(), idempotency.get()}; }
};

class BackendFactory {
 public:
  // kInvalidArgument (one line naming the variable) when `config` names no usable backend.
  static Result<BackendFactory> Create(const Config& config);

  // Creates the folders the embedded database needs, opens the database and applies the
  // migrations. kUnavailable (retry later) when the backend does not answer or a path is not
  // writable; other codes for a broken schema.
  Result<std::unique_ptr<DatabaseBackend>> OpenDatabase() const;

  // Builds the object store and ensures its bucket. kUnavailable: retry later.
  Result<std::unique_ptr<ports::ObjectStore>> OpenObjectStore() const;

  // True when the task queue lives in the database (DatabaseBackend::queue).
  bool QueueInDatabase() const { return queue_ == QueueKind::kDatabase; }

  // REQUIRES: !QueueInDatabase(). Connects to the broker and ensures the stream and its consumer
  // group. kUnavailable: retry later.
  Result<std::unique_ptr<ports::TaskQueue>> OpenQueue() const;

  // A description of the backends for the start-up log line (passwords masked).
  std::string Describe() const;

 private:
  BackendFactory(const Config& config, DatabaseTarget db, QueueKind queue)
      : config_(config), db_(std::move(db)), queue_(queue) {}

  Config config_;
  DatabaseTarget db_;
  QueueKind queue_;
};

}  // namespace intake::main_
