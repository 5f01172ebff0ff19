// Timestamps as every database adapter stores them: integer microseconds since
// 1970-01-01T00:00:00Z (UTC), so the injected clock's values are stored and compared exactly.
#pragma once

#include <chrono>
#include <cstdint>

namespace intake::adapters {

inline std::int64_t ToMicros(std::chrono::system_clock::time_point t) {
  return std::chrono::duration_cast<std::chrono::microseconds>(t.time_since_epoch()).count();
}

inline std::chrono::system_clock::time_point FromMicros(std::int64_t micros) {
  return std::chrono::system_clock::time_point(
      std::chrono::duration_cast<std::chrono::system_clock::duration>(
          std::chrono::microseconds(micros)));
}

}  // namespace intake::adapters
