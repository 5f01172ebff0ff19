// Helpers shared by the adapter contract suites: ASSERT_OK / EXPECT_OK, a temp folder
// per test and a manual clock.
#pragma once

#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <filesystem>
#include <mutex>
#include <random>
#include <string>

#include "domain/result.hpp"
#include "ports/clock.hpp"

namespace intake::adapters::testing {

// The error of a failed Result (Error has no default constructor, so not via error()).
template <class T>
Error ErrorFrom(const Result<T>& r) {
  try {
    r.value();
  } catch (const ErrorException& e) {
    return Error(e.code(), e.what());
  }
  return Internal("not an error");
}

template <class T>
std::string Describe(const Result<T>& r) {
  if (r) return "ok";
  return "error " + std::to_string(static_cast<int>(ErrorFrom(r).code)) + ": " +
         ErrorFrom(r).message;
}

template <class T>
ErrorCode CodeOf(const Result<T>& r) {
  return ErrorFrom(r).code;
}

#define ASSERT_OK(expr)                                                                         \
  do {                                                                                          \
    const auto& assert_ok_result_ = (expr);                                                     \
    ASSERT_TRUE(assert_ok_result_.has_value()) << #expr << ": " << Describe(assert_ok_result_); \
  } while (false)
#define EXPECT_OK(expr)                                                                         \
  do {                                                                                          \
    const auto& expect_ok_result_ = (expr);                                                     \
    EXPECT_TRUE(expect_ok_result_.has_value()) << #expr << ": " << Describe(expect_ok_result_); \
  } while (false)
#define EXPECT_CODE(expr, expected_code)                                                    \
  do {                                                                                      \
    const auto& expect_code_result_ = (expr);                                               \
    ASSERT_FALSE(expect_code_result_.has_value()) << #expr << " succeeded unexpectedly";    \
    EXPECT_EQ(CodeOf(expect_code_result_), expected_code) << Describe(expect_code_result_); \
  } while (false)

// A fresh folder under the system temp folder, removed (recursively) on destruction.
class TempDir {
 public:
  TempDir() {
    static std::atomic<int> counter{0};
    std::random_device rd;
    path_ = std::filesystem::temp_directory_path() /
            ("intake-adapter-test-" + std::to_string(rd()) + "-" + std::to_string(counter++));
    std::filesystem::create_directories(path_);
  }
  ~TempDir() {
    std::error_code ec;
    std::filesystem::remove_all(path_, ec);
  }
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;
  const std::filesystem::path& path() const { return path_; }

 private:
  std::filesystem::path path_;
};

// A clock that moves only when told. Thread-safe.
class ManualClock : public ports::Clock {
 public:
  ManualClock() : now_(std::chrono::sys_days(std::chrono::year(2025) / 1 / 1)) {}
  std::chrono::system_clock::time_point Now() const override {
    std::lock_guard lock(mu_);
    return now_;
  }
  void Advance(std::chrono::milliseconds d) {
    std::lock_guard lock(mu_);
    now_ += d;
  }

 private:
  mutable std::mutex mu_;
  std::chrono::system_clock::time_point now_;
};

}  // namespace intake::adapters::testing
