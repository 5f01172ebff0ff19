// The backends every contract suite runs on. Add a factory here to run the suites on a new
// adapter; a factory that returns nullptr (e.g. its server URL is unset) makes the tests skip.
#include "adapters/contract/backend.hpp"
#include "adapters/contract/object_store_contract.hpp"
#include "adapters/file/file_backend.hpp"
#include "adapters/postgres/pg_backend.hpp"
#include "adapters/redis/redis_backend.hpp"
#include "adapters/s3/s3_backend.hpp"
#include "adapters/sqlite/sqlite_backend.hpp"

namespace intake::adapters::testing {

std::vector<BackendFactory> AllBackends() {
  return {SqliteBackendFactory(), PostgresBackendFactory(), RedisQueueBackendFactory()};
}

std::vector<ObjectStoreFactory> AllObjectStores() {
  return {FileObjectStoreFactory(), S3ObjectStoreFactory()};
}

}  // namespace intake::adapters::testing
