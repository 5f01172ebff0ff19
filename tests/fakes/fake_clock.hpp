// Deterministic time and identity sources. Thread-safe.
#pragma once

#include <atomic>
#include <chrono>
#include <cstdint>
#include <mutex>
#include <string>

#include "ports/clock.hpp"

namespace intake::fakes {

// A clock that moves only when told. Starts at 2024-01-01T12:00:00Z.
class FakeClock : public ports::Clock {
 public:
  using TimePoint = std::chrono::system_clock::time_point;
  FakeClock();
  explicit FakeClock(TimePoint start) : now_(start) {}
  TimePoint Now() const override;
  void Set(TimePoint t);
  void Advance(std::chrono::system_clock::duration d);

  // UTC civil time helper for tests: FakeClock::At(2024, 1, 1, 12, 0, 0).
  static TimePoint At(int year, int month, int day, int hour = 0, int minute = 0, int second = 0);

 private:
  mutable std::mutex mu_;
  TimePoint now_;
};

// Predictable ids: task ids "00000000-0000-4000-8000-000000000001", ...; suffixes "00000001", ...
class SequentialIds : public ports::IdSource {
 public:
  std::string NewTaskId() override;
  std::string NewSuffix() override;

 private:
  std::atomic<std::uint64_t> next_task_{1};
  std::atomic<std::uint64_t> next_suffix_{1};
};

}  // namespace intake::fakes
