// The Redis Streams queue in the contract suites: task records in a fresh SQLite database, the
// queue in a fresh stream of the server named by INTAKE_TEST_REDIS_URL (skipped when unset).
#pragma once

#include "adapters/contract/backend.hpp"

namespace intake::adapters::testing {

BackendFactory RedisQueueBackendFactory();

}  // namespace intake::adapters::testing
