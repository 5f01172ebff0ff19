#include "fakes/fake_clock.hpp"

#include <cstdio>

namespace intake::fakes {

FakeClock::FakeClock() : now_(At(2024, 1, 1, 12, 0, 0)) {}

FakeClock::TimePoint FakeClock::Now() const {
  std::lock_guard lock(mu_);
  return now_;
}

void FakeClock::Set(TimePoint t) {
  std::lock_guard lock(mu_);
  now_ = t;
}

void FakeClock::Advance(std::chrono::system_clock::duration d) {
  std::lock_guard lock(mu_);
  now_ += d;
}

FakeClock::TimePoint FakeClock::At(int year, int month, int day, int hour, int minute, int second) {
  using namespace std::chrono;
  auto days = sys_days(std::chrono::year(year) / std::chrono::month(static_cast<unsigned>(month)) /
                       std::chrono::day(static_cast<unsigned>(day)));
  return TimePoint(days) + hours(hour) + minutes(minute) + seconds(second);
}

std::string SequentialIds::NewTaskId() {
  char buf[40];
  std::snprintf(buf, sizeof buf, "00000000-0000-4000-8000-%012llx",
                static_cast<unsigned long long>(next_task_++));
  return buf;
}

std::string SequentialIds::NewSuffix() {
  char buf[16];
  std::snprintf(buf, sizeof buf, "%08llx",
                static_cast<unsigned long long>(next_suffix_++ & 0xffffffffULL));
  return buf;
}

}  // namespace intake::fakes
