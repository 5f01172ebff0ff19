// GET /tasks, GET /tasks/{task_id}, POST /tasks/{task_id}/replay. Thread-safe.
#pragma once

#include <boost/json/value.hpp>
#include <chrono>
#include <string>

#include "app/queries.hpp"
#include "http/message.hpp"
#include "ports/task_store.hpp"

namespace intake::http {

class TaskHandlers {
 public:
  explicit TaskHandlers(app::TaskQuery& tasks) : tasks_(tasks) {}

  Response Get(Request& request);     // 200 TaskStatusJson, 404 "Task <id> not found"
  Response List(Request& request);    // 200 {total, page, page_size, tasks: [...]}, 422 paging
  Response Replay(Request& request);  // 202 TaskStatusJson (PENDING), 404, 409

 private:
  app::TaskQuery& tasks_;
};

// {"task_id", "status", "result"} as GET /tasks/{task_id} shows it (SPEC §3):
// PENDING → null; STARTED/PROGRESS → {current, total, percent, counters so far};
// SUCCESS → {"status": "completed", ..., "errors": [...]}; FAILURE → {"status": "failed", ...}.
boost::json::value TaskStatusJson(const ports::TaskRecord& task);

// "2024-01-01T12:00:00Z" (UTC, whole seconds).
std::string IsoUtc(std::chrono::system_clock::time_point t);

}  // namespace intake::http
