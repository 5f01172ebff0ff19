// The composition root (the only one): Config → adapters (through BackendFactory) → use cases →
// HttpServer and WorkerPool. Nothing else in the program constructs an adapter or a use case.
#pragma once

#include <cstdint>
#include <memory>

#include "domain/result.hpp"
#include "main/config.hpp"

namespace intake::main_ {

struct ServiceRoles {
  bool http = true;     // serve the API
  bool workers = true;  // run WORKER_CONCURRENCY worker threads
};

// A running Intake process: the backends (kept trying in the background until they answer), the
// HTTP server and/or the workers. Not thread-safe: Start and Stop from one thread.
class Service {
 public:
  // kInvalidArgument when `config` names a backend this build does not have.
  static Result<std::unique_ptr<Service>> Build(const Config& config, ServiceRoles roles);
  ~Service();  // Stop()s
  Service(const Service&) = delete;
  Service& operator=(const Service&) = delete;

  // Tries every backend once (retrying in the background when one is down: /ready and
  // POST /ingest answer 503 until then), then starts the HTTP server and the workers.
  // Returns the bound port (0 without HTTP); kUnavailable when the address cannot be bound.
  Result<std::uint16_t> Start();

  // Drain: stop accepting, let in-flight requests finish, hand unfinished tasks back, stop the
  // background retries. Idempotent.
  void Stop();

 private:
  struct Parts;
  explicit Service(std::unique_ptr<Parts> parts);
  std::unique_ptr<Parts> parts_;
};

// `intake migrate`: opens the database and applies the migrations once (no retries).
// Returns the schema version reached.
Result<int> MigrateDatabase(const Config& config);

}  // namespace intake::main_
