// The backends every contract suite runs on. Add a factory here to run the suites on a new
// adapter; a factory that returns nullptr (e.g. its server URL is unset) makes the tests skip.
#include <cstdlib>
#include <string_view>

#include "adapters/contract/backend.hpp"
#include "adapters/contract/object_store_contract.hpp"
#include "adapters/file/file_backend.hpp"
#include "adapters/postgres/pg_backend.hpp"
#include "adapters/redis/redis_backend.hpp"
#include "adapters/s3/s3_backend.hpp"
#include "adapters/sqlite/sqlite_backend.hpp"

namespace intake::adapters::testing {

// Under `make test` (scripts/with-test-servers.sh sets INTAKE_REQUIRE_SERVERS=1) the server-backed
// suites must run, not skip: a missing URL there is a broken test setup.
TEST(TestServers, AreConfiguredWhenRequired) {
  const char* required = std::getenv("INTAKE_REQUIRE_SERVERS");
  if (required == nullptr || std::string_view(required) != "1") return;
  for (const char* var :
       {"INTAKE_TEST_POSTGRES_URL", "INTAKE_TEST_REDIS_URL", "INTAKE_TEST_S3_URL"}) {
    const char* value = std::getenv(var);
    EXPECT_TRUE(value != nullptr && *value != '\0') << var << " is not set";
  }
}

std::vector<BackendFactory> AllBackends() {
  return {SqliteBackendFactory(), PostgresBackendFactory(), RedisQueueBackendFactory()};
}

std::vector<ObjectStoreFactory> AllObjectStores() {
  return {FileObjectStoreFactory(), S3ObjectStoreFactory()};
}

}  // namespace intake::adapters::testing
