// The Redis Streams queue in the contract suites: task records in a fresh SQLite database, the
// queue in a fresh stream of the server named by INTAKE_TEST_REDIS_URL (skipped when unset).
#pragma once

#include <string>

#include "adapters/contract/backend.hpp"

namespace intake::adapters::testing {

BackendFactory RedisQueueBackendFactory();

// A stream name no other test uses ("intake:test:<random>-<n>").
std::string RandomStreamName();
// Deletes `stream` (and its consumer groups) on the server at `url`; best effort.
void DeleteRedisStream(const std::string& url, const std::string& stream);

}  // namespace intake::adapters::testing
