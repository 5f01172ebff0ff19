#include "adapters/redis/redis_backend.hpp"

#include <cstdlib>
#include <random>

#include "adapters/contract/test_util.hpp"
#include "adapters/redis/redis_connection.hpp"
#include "adapters/redis/redis_task_queue.hpp"
#include "adapters/redis/redis_url.hpp"
#include "adapters/sqlite/sqlite_database.hpp"
#include "adapters/sqlite/sqlite_idempotency_store.hpp"
#include "adapters/sqlite/sqlite_record_store.hpp"
#include "adapters/sqlite/sqlite_task_store.hpp"

namespace intake::adapters::testing {
namespace {

using namespace intake::adapters::sqlite;
using intake::adapters::redis::RedisQueueOptions;
using intake::adapters::redis::RedisTaskQueue;

// What the first backend of a pair owns and its peers share: the SQLite folder and the stream.
struct SharedStorage {
  SharedStorage(std::string url_in, std::string stream_in)
      : url(std::move(url_in)), stream(std::move(stream_in)) {}
  ~SharedStorage() { DeleteRedisStream(url, stream); }
  SharedStorage(const SharedStorage&) = delete;
  SharedStorage& operator=(const SharedStorage&) = delete;

  TempDir dir;
  std::string url;
  std::string stream;
};

class RedisQueueBackend : public Backend {
 public:
  RedisQueueBackend(std::shared_ptr<SharedStorage> shared, std::shared_ptr<SqliteDatabase> db,
                    std::shared_ptr<SqliteInbox> inbox)
      : shared_(std::move(shared)),
        db_(std::move(db)),
        records_(db_, inbox),
        tasks_(db_, inbox),
        idempotency_(db_) {}

  static std::unique_ptr<Backend> Create(std::shared_ptr<SharedStorage> shared) {
    SqliteOptions options;
    options.busy_timeout = std::chrono::milliseconds(10000);
    auto db = SqliteDatabase::Open((shared->dir.path() / "data" / "intake.db").string(), options);
    if (!db) {
      ADD_FAILURE() << "open: " << Describe(db);
      return nullptr;
    }
    auto inbox = SqliteInbox::Open(*db, options);
    if (!inbox) {
      ADD_FAILURE() << "open the inbox: " << Describe(inbox);
      return nullptr;
    }
    return std::make_unique<RedisQueueBackend>(std::move(shared), std::move(*db),
                                               std::move(*inbox));
  }

  ports::RecordStore& records() override { return records_; }
  ports::TaskStore& tasks() override { return tasks_; }
  ports::IdempotencyStore& idempotency() override { return idempotency_; }
  // The clock is ignored: leases follow the Redis server's clock.
  std::unique_ptr<ports::TaskQueue> NewQueue(std::chrono::milliseconds lease,
                                             std::chrono::milliseconds poll,
                                             const ports::Clock* /*clock*/) override {
    RedisQueueOptions options;
    options.url = shared_->url;
    options.stream = shared_->stream;
    options.visibility_timeout = lease;
    options.poll = poll;
    return std::move(RedisTaskQueue::Open(options).value());  // throws: the test fails
  }
  std::unique_ptr<Backend> OpenPeer() override { return Create(shared_); }
  bool LeasesFollowClock() const override { return false; }
  bool QueueInDatabase() const override { return false; }

 private:
  std::shared_ptr<SharedStorage> shared_;
  std::shared_ptr<SqliteDatabase> db_;
  SqliteRecordStore records_;
  SqliteTaskStore tasks_;
  SqliteIdempotencyStore idempotency_;
};

}  // namespace

std::string RandomStreamName() {
  static std::atomic<int> counter{0};
  std::random_device rd;
  return "intake:test:" + std::to_string(rd()) + "-" + std::to_string(counter++);
}

void DeleteRedisStream(const std::string& url, const std::string& stream) {
  auto endpoint = redis::ParseRedisUrl(url);
  if (!endpoint) return;
  auto conn =
      redis::RedisConnection::Connect(*endpoint, std::chrono::seconds(5), std::chrono::seconds(5));
  if (conn) (void)(*conn)->Command({"DEL", stream});
}

BackendFactory RedisQueueBackendFactory() {
  return {
      "SqliteRedis", []() -> std::unique_ptr<Backend> {
        const char* url = std::getenv("INTAKE_TEST_REDIS_URL");
        if (url == nullptr || *url == '\0') return nullptr;
        return RedisQueueBackend::Create(std::make_shared<SharedStorage>(url, RandomStreamName()));
      }};
}

}  // namespace intake::adapters::testing
