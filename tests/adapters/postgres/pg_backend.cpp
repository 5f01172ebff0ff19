#include "adapters/postgres/pg_backend.hpp"

#include <cstdlib>
#include <random>

#include "adapters/contract/test_util.hpp"
#include "adapters/postgres/pg_database.hpp"
#include "adapters/postgres/pg_idempotency_store.hpp"
#include "adapters/postgres/pg_record_store.hpp"
#include "adapters/postgres/pg_task_queue.hpp"
#include "adapters/postgres/pg_task_store.hpp"

namespace intake::adapters::testing {
namespace {

using namespace intake::adapters::postgres;

class PgBackend : public Backend {
 public:
  PgBackend(std::shared_ptr<PgDatabase> db, bool owner)
      : db_(std::move(db)), owner_(owner), records_(db_), tasks_(db_), idempotency_(db_) {}
  ~PgBackend() override {
    records_.search_sync().Stop();  // a round in flight would deadlock with DROP SCHEMA
    if (owner_) {
      auto dropped = DropSchema(*db_, db_->options().schema);
      if (!dropped) ADD_FAILURE() << "drop schema: " << Describe(dropped);
    }
  }

  static std::unique_ptr<Backend> Create(const PgOptions& options, bool owner) {
    auto db = PgDatabase::Open(options);
    if (!db) {
      ADD_FAILURE() << "open: " << Describe(db);
      return nullptr;
    }
    return std::make_unique<PgBackend>(std::move(*db), owner);
  }

  ports::RecordStore& records() override { return records_; }
  ports::TaskStore& tasks() override { return tasks_; }
  ports::IdempotencyStore& idempotency() override { return idempotency_; }
  std::unique_ptr<ports::TaskQueue> NewQueue(std::chrono::milliseconds lease,
                                             std::chrono::milliseconds poll,
                                             const ports::Clock* clock) override {
    return std::make_unique<PgTaskQueue>(db_, lease, poll, clock);
  }
  std::unique_ptr<Backend> OpenPeer() override { return Create(db_->options(), false); }

 private:
  std::shared_ptr<PgDatabase> db_;
  bool owner_;
  PgRecordStore records_;
  PgTaskStore tasks_;
  PgIdempotencyStore idempotency_;
};

}  // namespace

std::optional<std::string> PostgresTestUrl() {
  const char* url = std::getenv("INTAKE_TEST_POSTGRES_URL");
  if (url == nullptr || *url == '\0') return std::nullopt;
  return std::string(url);
}

std::string NewTestSchema() {
  static constexpr char kHex[] = "0123456789abcdef";
  std::random_device rd;
  std::string name = "intake_test_";
  for (int i = 0; i < 16; ++i) name.push_back(kHex[rd() & 0xf]);
  return name;
}

Status DropSchema(postgres::PgDatabase& db, const std::string& schema) {
  return db.Transaction([&](postgres::PgConnection& conn) -> Status {
    return conn.Script("DROP SCHEMA IF EXISTS " + conn.QuoteIdentifier(schema) + " CASCADE",
                       "drop schema");
  });
}

BackendFactory PostgresBackendFactory() {
  return {"Postgres", []() -> std::unique_ptr<Backend> {
            auto url = PostgresTestUrl();
            if (!url) return nullptr;
            PgOptions options;
            options.url = *url;
            options.pool_size = 4;
            options.schema = NewTestSchema();
            return PgBackend::Create(options, true);
          }};
}

}  // namespace intake::adapters::testing
