#include "app/queries.hpp"

#include <chrono>

namespace intake::app {
namespace {

constexpr std::int64_t kMaxPageSize = 100;

Status CheckPaging(std::int64_t page, std::int64_t page_size) {
  if (page < 1) return InvalidArgument("page must be at least 1");
  if (page_size < 1 || page_size > kMaxPageSize) {
    return InvalidArgument("page_size must be between 1 and 100");
  }
  return {};
}

std::string Reason(const Status& status) {
  if (status) return "ok";
  std::string message = status.error().message;
  return message.empty() ? "unavailable" : message;
}

}  // namespace

Result<ports::PatientPage> PatientQuery::List(const ports::PatientFilter& filter, std::int64_t page,
                                              std::int64_t page_size) {
  if (auto paging = CheckPaging(page, page_size); !paging) return paging.error();
  return records_.ListPatients(filter, page, page_size);
}

Result<ports::PatientView> PatientQuery::Get(std::int64_t id) { return records_.GetPatient(id); }

Result<ports::TaskRecord> TaskQuery::Get(std::string_view task_id) {
  return tasks_.GetTask(task_id, true);
}

Result<ports::TaskPage> TaskQuery::List(std::int64_t page, std::int64_t page_size) {
  if (auto paging = CheckPaging(page, page_size); !paging) return paging.error();
  return tasks_.ListTasks(page, page_size);
}

Result<ports::TaskRecord> TaskQuery::Replay(std::string_view task_id) {
  auto reset = tasks_.ResetForReplay(task_id);
  if (!reset) return reset;
  if (auto queued = queue_.Enqueue(task_id); !queued) {
    // Leave the task finished (and so replayable again) rather than PENDING with nobody to run it.
    (void)tasks_.FinishTask(task_id, domain::TaskState::kFailure,
                            "replay could not be queued; replay it again",
                            std::chrono::system_clock::now());
    return queued.error();
  }
  return reset;
}

Result<std::map<domain::TaskState, std::int64_t>> TaskQuery::CountByState() {
  return tasks_.CountByState();
}

Result<std::int64_t> TaskQuery::QueueDepth() { return queue_.Depth(); }

Readiness ReadinessCheck::Run() {
  Readiness readiness;
  readiness.checks["database"] = Reason(records_.Check());
  readiness.checks["object_store"] = Reason(objects_.Check());
  readiness.checks["queue"] = Reason(queue_.Check());
  for (const auto& [name, value] : readiness.checks) {
    if (value != "ok") readiness.ready = false;
  }
  return readiness;
}

}  // namespace intake::app
