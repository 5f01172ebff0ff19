// Task records: what was accepted, its progress and counters, its row errors. Thread-safe.
#pragma once

#include <chrono>
#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "domain/result.hpp"
#include "domain/task.hpp"

namespace intake::ports {

using TimePoint = std::chrono::system_clock::time_point;

struct NewTask {
  std::string task_id;
  std::string csv_filename;
  std::int64_t records_received = 0;
  TimePoint created_at;
};

struct TaskRecord {
  std::string task_id;
  std::int64_t seq = 0;  // acceptance order; positions of its rows are (seq, row)
  std::string csv_filename;
  std::int64_t records_received = 0;
  domain::TaskState state = domain::TaskState::kPending;
  domain::TaskCounters counters;
  std::int64_t rows_done = 0;  // data rows committed so far (the resume point)
  std::optional<std::string> failure_reason;
  TimePoint created_at;
  std::optional<TimePoint> started_at;
  std::optional<TimePoint> finished_at;
  std::vector<domain::RowError> errors;  // first kMaxStoredRowErrors, row order; GetTask only
};

struct TaskPage {
  std::int64_t total = 0;
  std::vector<TaskRecord> tasks;  // without errors
};

class TaskStore {
 public:
  virtual ~TaskStore() = default;
  // Durable on success; assigns seq (strictly increasing). State PENDING.
  virtual Result<TaskRecord> CreateTask(const NewTask& task) = 0;
  // kNotFound for an unknown id. Fills `errors` when with_errors.
  virtual Result<TaskRecord> GetTask(std::string_view task_id, bool with_errors) = 0;
  // Newest first. REQUIRES: page >= 1, 1 <= page_size <= 100.
  virtual Result<TaskPage> ListTasks(std::int64_t page, std::int64_t page_size) = 0;
  // PENDING → STARTED (sets started_at). A task already STARTED/PROGRESS keeps its state
  // (resume). kConflict when the task is finished.
  virtual Status MarkStarted(std::string_view task_id, TimePoint now) = 0;
  // Ends the task: state SUCCESS or FAILURE (with reason), finished_at = now.
  virtual Status FinishTask(std::string_view task_id, domain::TaskState final_state,
                            std::optional<std::string> failure_reason, TimePoint now) = 0;
  // Clears counters, errors, progress and finished_at; state PENDING; seq unchanged.
  // kNotFound; kConflict when the task is not finished.
  virtual Result<TaskRecord> ResetForReplay(std::string_view task_id) = 0;
  virtual Result<std::map<domain::TaskState, std::int64_t>> CountByState() = 0;
  virtual Status Check() = 0;
};

}  // namespace intake::ports
