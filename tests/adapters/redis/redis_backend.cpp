#include "adapters/redis/redis_backend.hpp"

namespace intake::adapters::testing {

// TODO(redis): the Redis adapter fills this in.
BackendFactory RedisQueueBackendFactory() {
  return {"SqliteRedis", []() -> std::unique_ptr<Backend> { return nullptr; }};
}

}  // namespace intake::adapters::testing
