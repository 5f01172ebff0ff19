// Read-side use cases: patients, tasks, replay and readiness. Thin, but they keep the HTTP layer
// free of port details. Thread-safe.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>

#include "domain/result.hpp"
#include "ports/object_store.hpp"
#include "ports/record_store.hpp"
#include "ports/task_queue.hpp"
#include "ports/task_store.hpp"

namespace intake::app {

class PatientQuery {
 public:
  explicit PatientQuery(ports::RecordStore& records) : records_(records) {}
  // kInvalidArgument when page < 1 or page_size outside 1..100.
  Result<ports::PatientPage> List(const ports::PatientFilter& filter, std::int64_t page,
                                  std::int64_t page_size);
  Result<ports::PatientView> Get(std::int64_t id);

 private:
  ports::RecordStore& records_;
};

class TaskQuery {
 public:
  TaskQuery(ports::TaskStore& tasks, ports::TaskQueue& queue) : tasks_(tasks), queue_(queue) {}
  Result<ports::TaskRecord> Get(std::string_view task_id);  // with errors
  Result<ports::TaskPage> List(std::int64_t page, std::int64_t page_size);
  // Resets a finished task and queues it again (its seq is kept). kNotFound, kConflict.
  Result<ports::TaskRecord> Replay(std::string_view task_id);
  Result<std::map<domain::TaskState, std::int64_t>> CountByState();
  Result<std::int64_t> QueueDepth();

 private:
  ports::TaskStore& tasks_;
  ports::TaskQueue& queue_;
};

struct Readiness {
  bool ready = true;
  // "database", "object_store", "queue" → "ok" or the failing check's reason.
  std::map<std::string, std::string> checks;
};

class ReadinessCheck {
 public:
  ReadinessCheck(ports::RecordStore& records, ports::ObjectStore& objects, ports::TaskQueue& queue)
      : records_(records), objects_(objects), queue_(queue) {}
  Readiness Run();

 private:
  ports::RecordStore& records_;
  ports::ObjectStore& objects_;
  ports::TaskQueue& queue_;
};

}  // namespace intake::app
