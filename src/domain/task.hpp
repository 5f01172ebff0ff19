// Tasks: one accepted batch (one CSV object) and what loading it did.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "domain/visit_record.hpp"

namespace intake::domain {

// Celery's words, as the API shows them.
enum class TaskState { kPending, kStarted, kProgress, kSuccess, kFailure };
std::string_view TaskStateName(TaskState s);  // "PENDING", "STARTED", ...
std::optional<TaskState> TaskStateFromName(std::string_view name);
inline bool IsFinished(TaskState s) { return s == TaskState::kSuccess || s == TaskState::kFailure; }

// Row counters. Invariant once a task has processed rows:
//   processed_records == error_count + patients_created + patients_updated + patients_unchanged
//   processed_records == error_count + visits_created + visits_updated + visits_unchanged
struct TaskCounters {
  std::int64_t total_records = 0;  // data rows in the CSV (known once parsing reaches the end)
  std::int64_t processed_records = 0;
  std::int64_t patients_created = 0;
  std::int64_t patients_updated = 0;
  std::int64_t patients_unchanged = 0;
  std::int64_t visits_created = 0;
  std::int64_t visits_updated = 0;
  std::int64_t visits_unchanged = 0;
  std::int64_t error_count = 0;

  TaskCounters& operator+=(const TaskCounters& o);
  bool operator==(const TaskCounters&) const = default;
};

// One rejected row (or one bad field of it). Never carries the value.
struct RowError {
  std::int64_t row = 0;        // 1-based data row
  std::optional<Field> field;  // nullopt for a row-level problem (e.g. visit conflict)
  std::string message;
  bool operator==(const RowError&) const = default;
};

inline constexpr std::size_t kMaxStoredRowErrors = 1000;

}  // namespace intake::domain
