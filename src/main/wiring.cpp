#include "main/wiring.hpp"

#include <malloc.h>
#include <spdlog/spdlog.h>
#include <unistd.h>

#include <algorithm>
#include <optional>
#include <string>
#include <thread>

#include "app/idempotency.hpp"
#include "app/ingest_service.hpp"
#include "app/load_task.hpp"
#include "app/metrics.hpp"
#include "app/queries.hpp"
#include "app/worker_pool.hpp"
#include "http/server.hpp"
#include "main/backend_ensurer.hpp"
#include "main/backends.hpp"
#include "main/deferred_ports.hpp"
#include "main/system_sources.hpp"

namespace intake::main_ {
namespace {

// "<hostname>-<pid>": tells workers of different processes and machines apart.
std::string WorkerIdPrefix() {
  char host[256] = {};
  if (gethostname(host, sizeof host - 1) != 0) host[0] = '\0';
  return std::string(host[0] != '\0' ? host : "intake") + "-" + std::to_string(getpid());
}

http::ServerOptions MakeServerOptions(const Config& config) {
  http::ServerOptions o;
  o.host = config.host;
  o.blocking_threads = std::max(2, 2 * static_cast<int>(std::thread::hardware_concurrency()));
  o.port = config.port;
  o.max_body_bytes = config.max_body_bytes;
  o.max_upload_bytes = config.max_upload_bytes;
  o.max_records_per_request = config.max_records_per_request;
  o.log_phi = config.log_phi;
  return o;
}

app::LoadOptions MakeLoadOptions(const Config& config) {
  app::LoadOptions o;
  o.batch_rows = config.batch_rows;
  o.log_phi = config.log_phi;
  return o;
}

}  // namespace

// Declaration order is construction order; destruction runs backwards, so the server and the
// workers go first and the backends (owned by the ensurer) last.
struct Service::Parts {
  Parts(const Config& c, BackendFactory f, ServiceRoles r)
      : config(c), roles(r), factory(std::move(f)) {}

  Config config;
  ServiceRoles roles;
  BackendFactory factory;
  BackendGates gates;
  BackendEnsurer ensurer{factory, gates};

  DeferredRecordStore records{gates.database};
  DeferredTaskStore tasks{gates.database};
  DeferredIdempotencyStore idempotency_store{gates.database};
  DeferredObjectStore objects{gates.objects};
  DeferredTaskQueue queue{gates.queue};

  SystemClock clock;
  RandomIdSource ids;
  app::RecordMetrics metrics;

  app::IngestService ingest{objects, tasks, queue, clock, ids, metrics};
  app::PatientQuery patient_query{records};
  app::TaskQuery task_query{tasks, queue};
  app::ReadinessCheck readiness{records, objects, queue};
  app::IdempotencyGate idempotency{idempotency_store, clock};
  app::LoadTask load{objects, records, tasks, queue, clock, metrics, MakeLoadOptions(config)};

  std::optional<http::HttpServer> server;
  std::optional<app::WorkerPool> pool;
  bool stopped = false;
};

Result<std::unique_ptr<Service>> Service::Build(const Config& config, ServiceRoles roles) {
  auto factory = BackendFactory::Create(config);
  if (!factory) return factory.error();
  auto parts = std::make_unique<Parts>(config, std::move(*factory), roles);
  return std::unique_ptr<Service>(new Service(std::move(parts)));
}

Service::Service(std::unique_ptr<Parts> parts) : parts_(std::move(parts)) {}

Service::~Service() { Stop(); }

Result<std::uint16_t> Service::Start() {
  Parts& p = *parts_;
  spdlog::info("backends: {}", p.factory.Describe());
  if (!p.ensurer.TryOnce()) p.ensurer.StartRetrying();

  std::uint16_t port = 0;
  if (p.roles.http) {
    p.server.emplace(MakeServerOptions(p.config),
                     http::ApiServices{p.ingest, p.patient_query, p.task_query, p.readiness,
                                       p.idempotency, p.metrics, p.clock});
    auto bound = p.server->Start();
    if (!bound) {
      p.server.reset();
      return bound.error();
    }
    port = *bound;
  }
  if (p.roles.workers) {
    p.pool.emplace(p.queue, p.load, p.config.worker_concurrency, WorkerIdPrefix(), [&p] {
      p.records.ReleaseIdleMemory();
      malloc_trim(0);  // hands the freed batches back to the system
    });
    p.pool->Start();
    spdlog::info("started {} worker thread(s)", p.config.worker_concurrency);
  }
  return port;
}

void Service::Stop() {
  Parts& p = *parts_;
  if (p.stopped) return;
  p.stopped = true;
  if (p.server) {
    spdlog::info("stopping: no new connections, finishing requests in flight");
    p.server->Stop();
  }
  if (p.pool) {
    spdlog::info("stopping workers: unfinished tasks go back to the queue");
    p.pool->Stop();
  }
  p.ensurer.Stop();
  spdlog::info("stopped");
}

Result<int> MigrateDatabase(const Config& config) {
  auto factory = BackendFactory::Create(config);
  if (!factory) return factory.error();
  auto db = factory->OpenDatabase();
  if (!db) return db.error();
  return (*db)->schema_version;
}

}  // namespace intake::main_
