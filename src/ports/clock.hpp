// Time and identity sources, injected so tests are deterministic.
#pragma once

#include <chrono>
#include <string>

namespace intake::ports {

class Clock {
 public:
  virtual ~Clock() = default;
  virtual std::chrono::system_clock::time_point Now() const = 0;
};

class IdSource {
 public:
  virtual ~IdSource() = default;
  // A random UUID v4, lower-case with hyphens. Thread-safe.
  virtual std::string NewTaskId() = 0;
  // 8 random lower-case hex digits, the unique suffix of a CSV file name. Thread-safe.
  virtual std::string NewSuffix() = 0;
};

}  // namespace intake::ports
