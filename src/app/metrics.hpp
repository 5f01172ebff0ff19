// Process-wide counters the use cases and the HTTP layer update and /metrics renders.
// Lock-free increments; thread-safe. Owned by the composition root and passed by reference.
#pragma once

#include <atomic>
#include <cstdint>

namespace intake::app {

struct RecordMetrics {
  std::atomic<std::int64_t> accepted{0};  // records in successful ingest requests
  std::atomic<std::int64_t> loaded{0};    // rows the worker applied
  std::atomic<std::int64_t> rejected{0};  // rows the worker rejected
};

}  // namespace intake::app
