#include "http/handlers/task_handlers.hpp"

#include <boost/json/array.hpp>
#include <boost/json/object.hpp>
#include <ctime>
#include <variant>

#include "http/errors.hpp"
#include "http/query.hpp"

namespace intake::http {
namespace {

namespace json = boost::json;
using domain::TaskState;

void AddCounters(const domain::TaskCounters& c, json::object& out) {
  out["total_records"] = c.total_records;
  out["processed_records"] = c.processed_records;
  out["patients_created"] = c.patients_created;
  out["patients_updated"] = c.patients_updated;
  out["patients_unchanged"] = c.patients_unchanged;
  out["visits_created"] = c.visits_created;
  out["visits_updated"] = c.visits_updated;
  out["visits_unchanged"] = c.visits_unchanged;
  out["error_count"] = c.error_count;
}

json::array ErrorsJson(const std::vector<domain::RowError>& errors) {
  json::array out;
  out.reserve(errors.size());
  for (const domain::RowError& e : errors) {
    json::value field = nullptr;
    if (e.field) field = domain::FieldName(*e.field);
    out.push_back(json::object{{"row", e.row}, {"field", field}, {"message", e.message}});
  }
  return out;
}

json::object RunningResult(const ports::TaskRecord& task) {
  std::int64_t total = task.records_received;
  std::int64_t percent = total > 0 ? task.rows_done * 100 / total : 0;
  json::object result{{"current", task.rows_done}, {"total", total}, {"percent", percent}};
  result["csv_filename"] = task.csv_filename;
  AddCounters(task.counters, result);
  return result;
}

json::object CompletedResult(const ports::TaskRecord& task) {
  json::object result{{"status", "completed"}, {"csv_filename", task.csv_filename}};
  AddCounters(task.counters, result);
  result["errors"] = ErrorsJson(task.errors);
  return result;
}

json::value ResultJson(const ports::TaskRecord& task) {
  switch (task.state) {
    case TaskState::kPending:
      return nullptr;
    case TaskState::kStarted:
    case TaskState::kProgress:
      return RunningResult(task);
    case TaskState::kSuccess:
      return CompletedResult(task);
    case TaskState::kFailure:
      break;
  }
  return json::object{{"status", "failed"},
                      {"csv_filename", task.csv_filename},
                      {"error", task.failure_reason.value_or("unknown failure")}};
}

Response TaskError(const Error& error, const std::string& task_id) {
  if (error.code == ErrorCode::kNotFound)
    return DetailResponse(404, "Task " + task_id + " not found");
  return ErrorResponse(error);
}

json::object TaskSummaryJson(const ports::TaskRecord& task) {
  json::value finished = nullptr;
  if (task.finished_at) finished = IsoUtc(*task.finished_at);
  return json::object{{"task_id", task.task_id},
                      {"status", domain::TaskStateName(task.state)},
                      {"csv_filename", task.csv_filename},
                      {"records_received", task.records_received},
                      {"created_at", IsoUtc(task.created_at)},
                      {"finished_at", finished}};
}

}  // namespace

std::string IsoUtc(std::chrono::system_clock::time_point t) {
  std::time_t seconds =
      std::chrono::system_clock::to_time_t(std::chrono::floor<std::chrono::seconds>(t));
  std::tm tm{};
  gmtime_r(&seconds, &tm);
  char buf[32];
  std::size_t n = std::strftime(buf, sizeof(buf), "%Y-%m-%dT%H:%M:%SZ", &tm);
  return std::string(buf, n);
}

json::value TaskStatusJson(const ports::TaskRecord& task) {
  return json::object{{"task_id", task.task_id},
                      {"status", domain::TaskStateName(task.state)},
                      {"result", ResultJson(task)}};
}

Response TaskHandlers::Get(Request& request) {
  const std::string& id = request.Param("task_id");
  Result<ports::TaskRecord> task = tasks_.Get(id);
  if (!task) return TaskError(task.error(), id);
  return JsonResponse(200, TaskStatusJson(*task));
}

Response TaskHandlers::List(Request& request) {
  auto paging = ParsePaging(request);
  if (auto* early = std::get_if<Response>(&paging)) return std::move(*early);
  const Paging& p = std::get<Paging>(paging);
  Result<ports::TaskPage> page = tasks_.List(p.page, p.page_size);
  if (!page) return ErrorResponse(page.error());
  json::array tasks;
  tasks.reserve(page->tasks.size());
  for (const ports::TaskRecord& task : page->tasks) tasks.push_back(TaskSummaryJson(task));
  return JsonResponse(200, json::object{{"total", page->total},
                                        {"page", p.page},
                                        {"page_size", p.page_size},
                                        {"tasks", std::move(tasks)}});
}

Response TaskHandlers::Replay(Request& request) {
  const std::string& id = request.Param("task_id");
  Result<ports::TaskRecord> task = tasks_.Replay(id);
  if (!task) {
    if (task.error().code == ErrorCode::kConflict) {
      return DetailResponse(
          409, "Task " + id + " is not finished; only a finished task can be replayed");
    }
    return TaskError(task.error(), id);
  }
  return JsonResponse(202, TaskStatusJson(*task));
}

}  // namespace intake::http
