// In-memory TaskStore. Shares its task rows with FakeRecordStore (whose ApplyBatch updates a task's
// progress, counters and errors in the same critical section, as a database transaction would).
// Failure injection method names: "CreateTask", "GetTask", "ListTasks", "MarkStarted",
// "FinishTask", "ResetForReplay", "CountByState", "Check". Thread-safe.
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "fakes/failure_injector.hpp"
#include "ports/record_store.hpp"
#include "ports/task_store.hpp"

namespace intake::fakes {

class FakeTaskStore : public ports::TaskStore, public FailureInjector {
 public:
  Result<ports::TaskRecord> CreateTask(const ports::NewTask& task) override;
  Result<ports::TaskRecord> GetTask(std::string_view task_id, bool with_errors) override;
  Result<ports::TaskPage> ListTasks(std::int64_t page, std::int64_t page_size) override;
  Status MarkStarted(std::string_view task_id, ports::TimePoint now) override;
  Status FinishTask(std::string_view task_id, domain::TaskState final_state,
                    std::optional<std::string> failure_reason, ports::TimePoint now) override;
  Result<ports::TaskRecord> ResetForReplay(std::string_view task_id) override;
  Result<std::map<domain::TaskState, std::int64_t>> CountByState() override;
  Status Check() override;

  // ---- Test helpers (no failure injection) ----
  std::optional<ports::TaskRecord> Task(std::string_view task_id) const;  // with errors
  std::vector<std::string> TaskIds() const;                               // by seq
  std::size_t TaskCount() const;
  // Inserts or replaces a task as is (errors included); keeps seq ordering for new ids.
  void PutTask(ports::TaskRecord record);

  // ---- For FakeRecordStore ----
  // What a batch's plan adds to its task.
  struct BatchEffect {
    domain::TaskCounters counters;
    std::vector<domain::RowError> errors;
  };
  // Under the task lock: checks the task exists (kNotFound) and that its rows_done equals
  // batch.rows_done_before (kConflict), runs `apply` (which writes the rows and returns the
  // effect), then adds the effect, sets rows_done / total_records / PROGRESS. Returns the task's
  // counters after the batch.
  Result<domain::TaskCounters> ApplyProgress(const ports::BatchInput& batch,
                                             const std::function<BatchEffect()>& apply);

 private:
  mutable std::mutex mu_;
  std::map<std::string, ports::TaskRecord, std::less<>> tasks_;
  std::int64_t next_seq_ = 1;
};

}  // namespace intake::fakes
