#include "fakes/fake_task_store.hpp"

#include <algorithm>

namespace intake::fakes {

Result<ports::TaskRecord> FakeTaskStore::CreateTask(const ports::NewTask& task) {
  if (auto error = Inject("CreateTask")) return *error;
  std::lock_guard lock(mu_);
  if (tasks_.contains(task.task_id)) return Conflict("task id already exists");
  ports::TaskRecord record;
  record.task_id = task.task_id;
  record.seq = next_seq_++;
  record.csv_filename = task.csv_filename;
  record.records_received = task.records_received;
  record.created_at = task.created_at;
  tasks_[task.task_id] = record;
  return record;
}

Result<ports::TaskRecord> FakeTaskStore::GetTask(std::string_view task_id, bool with_errors) {
  if (auto error = Inject("GetTask")) return *error;
  std::lock_guard lock(mu_);
  auto it = tasks_.find(task_id);
  if (it == tasks_.end()) return NotFound("task not found");
  ports::TaskRecord record = it->second;
  if (!with_errors) record.errors.clear();
  return record;
}

Result<ports::TaskPage> FakeTaskStore::ListTasks(std::int64_t page, std::int64_t page_size) {
  if (auto error = Inject("ListTasks")) return *error;
  if (page < 1 || page_size < 1 || page_size > 100) return InvalidArgument("bad paging");
  std::lock_guard lock(mu_);
  std::vector<const ports::TaskRecord*> all;
  for (const auto& [id, record] : tasks_) all.push_back(&record);
  std::sort(all.begin(), all.end(), [](auto* a, auto* b) { return a->seq > b->seq; });
  ports::TaskPage result;
  result.total = static_cast<std::int64_t>(all.size());
  auto first = static_cast<std::size_t>((page - 1) * page_size);
  for (std::size_t i = first; i < all.size() && i < first + page_size; ++i) {
    result.tasks.push_back(*all[i]);
    result.tasks.back().errors.clear();
  }
  return result;
}

Status FakeTaskStore::MarkStarted(std::string_view task_id, ports::TimePoint now) {
  if (auto error = Inject("MarkStarted")) return *error;
  std::lock_guard lock(mu_);
  auto it = tasks_.find(task_id);
  if (it == tasks_.end()) return NotFound("task not found");
  auto& record = it->second;
  if (domain::IsFinished(record.state)) return Conflict("task is finished");
  if (record.state == domain::TaskState::kPending) {
    record.state = domain::TaskState::kStarted;
    record.started_at = now;
  }
  return {};
}

Status FakeTaskStore::FinishTask(std::string_view task_id, domain::TaskState final_state,
                                 std::optional<std::string> failure_reason, ports::TimePoint now) {
  if (auto error = Inject("FinishTask")) return *error;
  std::lock_guard lock(mu_);
  auto it = tasks_.find(task_id);
  if (it == tasks_.end()) return NotFound("task not found");
  auto& record = it->second;
  record.state = final_state;
  record.failure_reason = std::move(failure_reason);
  record.finished_at = now;
  return {};
}

Result<ports::TaskRecord> FakeTaskStore::ResetForReplay(std::string_view task_id) {
  if (auto error = Inject("ResetForReplay")) return *error;
  std::lock_guard lock(mu_);
  auto it = tasks_.find(task_id);
  if (it == tasks_.end()) return NotFound("task not found");
  auto& record = it->second;
  if (!domain::IsFinished(record.state)) return Conflict("task is not finished");
  record.state = domain::TaskState::kPending;
  record.counters = {};
  record.errors.clear();
  record.rows_done = 0;
  record.failure_reason.reset();
  record.started_at.reset();
  record.finished_at.reset();
  return record;
}

Result<std::map<domain::TaskState, std::int64_t>> FakeTaskStore::CountByState() {
  if (auto error = Inject("CountByState")) return *error;
  std::lock_guard lock(mu_);
  std::map<domain::TaskState, std::int64_t> counts;
  for (const auto& [id, record] : tasks_) ++counts[record.state];
  return counts;
}

Status FakeTaskStore::Check() { return InjectStatus("Check"); }

std::optional<ports::TaskRecord> FakeTaskStore::Task(std::string_view task_id) const {
  std::lock_guard lock(mu_);
  auto it = tasks_.find(task_id);
  if (it == tasks_.end()) return std::nullopt;
  return it->second;
}

std::vector<std::string> FakeTaskStore::TaskIds() const {
  std::lock_guard lock(mu_);
  std::vector<std::pair<std::int64_t, std::string>> ids;
  for (const auto& [id, record] : tasks_) ids.emplace_back(record.seq, id);
  std::sort(ids.begin(), ids.end());
  std::vector<std::string> out;
  for (auto& [seq, id] : ids) out.push_back(id);
  return out;
}

std::size_t FakeTaskStore::TaskCount() const {
  std::lock_guard lock(mu_);
  return tasks_.size();
}

void FakeTaskStore::PutTask(ports::TaskRecord record) {
  std::lock_guard lock(mu_);
  if (record.seq == 0) record.seq = next_seq_++;
  next_seq_ = std::max(next_seq_, record.seq + 1);
  tasks_[record.task_id] = std::move(record);
}

Result<domain::TaskCounters> FakeTaskStore::ApplyProgress(
    const ports::BatchInput& batch, const std::function<BatchEffect()>& apply) {
  std::lock_guard lock(mu_);
  auto it = tasks_.find(batch.task_id);
  if (it == tasks_.end()) return NotFound("task not found");
  auto& record = it->second;
  if (record.rows_done != batch.rows_done_before) return Conflict("task progress moved on");
  BatchEffect effect = apply();
  record.counters += effect.counters;
  for (auto& error : effect.errors) {
    if (record.errors.size() >= domain::kMaxStoredRowErrors) break;
    record.errors.push_back(std::move(error));
  }
  record.rows_done = batch.rows_done_after;
  if (batch.total_records) record.counters.total_records = *batch.total_records;
  if (batch.mark_progress && !domain::IsFinished(record.state)) {
    record.state = domain::TaskState::kProgress;
  }
  return record.counters;
}

}  // namespace intake::fakes
