// Shared helpers for the use-case tests: a fixture wiring every fake port, record builders and
// Result matchers.
#pragma once

#include <gtest/gtest.h>

#include <chrono>
#include <cstddef>
#include <string>
#include <vector>

#include "app/load_task.hpp"
#include "app/metrics.hpp"
#include "domain/csv_codec.hpp"
#include "domain/visit_record.hpp"
#include "fakes/fakes.hpp"

namespace intake::app::testing {

#define ASSERT_OK(expr)                                                  \
  do {                                                                   \
    const auto& assert_ok_result_ = (expr);                              \
    ASSERT_TRUE(assert_ok_result_) << assert_ok_result_.error().message; \
  } while (0)
#define EXPECT_OK(expr)                                                  \
  do {                                                                   \
    const auto& expect_ok_result_ = (expr);                              \
    EXPECT_TRUE(expect_ok_result_) << expect_ok_result_.error().message; \
  } while (0)

// The error code of a failed result (fails the test when it succeeded).
template <class T>
ErrorCode CodeOf(const Result<T>& r) {
  if (r) {
    ADD_FAILURE() << "expected an error, got a value";
    return ErrorCode::kInternal;
  }
  return r.error().code;
}

// A valid record whose values are derived from `i`: MRN "MRN-<i>", visit "VST-<i>".
inline domain::VisitRecord Record(int i) {
  return domain::VisitRecord{"MRN-" + std::to_string(i),    "First" + std::to_string(i),
                             "Last" + std::to_string(i),    "1990-02-14",
                             "VST-" + std::to_string(i),    "2024-11-01",
                             "Checkup " + std::to_string(i)};
}

inline std::string CsvOf(const std::vector<domain::VisitRecord>& records) {
  std::string csv;
  domain::AppendCsvHeader(csv);
  for (const auto& r : records) domain::AppendCsvRecord(r, csv);
  return csv;
}

// Load options for tests: `batch_rows` rows a batch, 3 attempts, backoffs of a few milliseconds.
inline LoadOptions FastLoadOptions(std::size_t batch_rows) {
  LoadOptions options;
  options.batch_rows = batch_rows;
  options.max_attempts = 3;
  options.first_backoff = std::chrono::milliseconds(1);
  options.max_backoff = std::chrono::milliseconds(4);
  return options;
}

// Every fake port, wired the way main/ wires the real ones.
struct FakeWorld {
  fakes::FakeClock clock{fakes::FakeClock::At(2024, 12, 1, 12, 0, 0)};
  fakes::SequentialIds ids;
  fakes::FakeObjectStore objects;
  fakes::FakeTaskStore tasks;
  fakes::FakeRecordStore records{tasks};
  fakes::FakeTaskQueue queue{clock};
  fakes::FakeIdempotencyStore idempotency;
  RecordMetrics metrics;
};

}  // namespace intake::app::testing
