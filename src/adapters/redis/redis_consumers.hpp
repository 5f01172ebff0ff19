// Consumer-group hygiene. Every worker thread reads as its own consumer ("<host>-<pid>-<n>"), and
// Redis keeps a consumer in the group until told otherwise, so without cleanup the group's
// consumer list grows by the worker count at every process start.
#pragma once

#include <chrono>
#include <cstdint>
#include <string>
#include <vector>

#include "adapters/redis/redis_connection.hpp"
#include "domain/result.hpp"

namespace intake::adapters::redis {

// Deletes (XGROUP DELCONSUMER, atomically in one script) every consumer of `group` on `stream`
// that holds no pending message and has been idle for at least `min_idle`; when `only` is not
// empty, only consumers named there are considered. A consumer with pending messages is never
// deleted (that would drop them from the pending list). A deleted consumer that reads again is
// re-created by Redis. Returns how many were deleted; kUnavailable on I/O errors.
Result<std::int64_t> RemoveIdleConsumers(RedisConnection& conn, const std::string& stream,
                                         const std::string& group,
                                         std::chrono::milliseconds min_idle,
                                         const std::vector<std::string>& only = {});

}  // namespace intake::adapters::redis
