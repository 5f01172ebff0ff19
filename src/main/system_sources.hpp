// The production Clock and IdSource: the system clock and a CSPRNG-seeded generator.
#pragma once

#include <cstdint>
#include <mutex>
#include <random>
#include <string>

#include "ports/clock.hpp"

namespace intake::main_ {

class SystemClock final : public ports::Clock {
 public:
  std::chrono::system_clock::time_point Now() const override {
    return std::chrono::system_clock::now();
  }
};

// UUID v4 task ids and 8-hex-digit suffixes from a 64-bit Mersenne Twister seeded from
// std::random_device. Thread-safe (one mutex; ids are cheap).
class RandomIdSource final : public ports::IdSource {
 public:
  RandomIdSource();
  std::string NewTaskId() override;
  std::string NewSuffix() override;

 private:
  std::uint64_t Next();

  std::mutex mu_;
  std::mt19937_64 engine_;
};

}  // namespace intake::main_
