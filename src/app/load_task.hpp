// Use case: load one claimed task (SPEC §4). Streams the CSV object, parses and validates rows,
// and hands them to RecordStore::ApplyBatch in batches, resuming after the task's rows_done.
// Thread-safe: one LoadTask may run many tasks concurrently on different threads.
#pragma once

#include <chrono>
#include <cstddef>
#include <functional>
#include <string>

#include "app/metrics.hpp"
#include "domain/result.hpp"
#include "ports/clock.hpp"
#include "ports/object_store.hpp"
#include "ports/record_store.hpp"
#include "ports/task_queue.hpp"
#include "ports/task_store.hpp"

namespace intake::app {

struct LoadOptions {
  std::size_t batch_rows = 50000;  // rows per transaction
  int max_attempts = 8;            // transient failures per task before FAILURE
  std::chrono::milliseconds first_backoff{200};
  std::chrono::milliseconds max_backoff{10000};
  bool log_phi = false;  // when false no MRN/name/date/reason reaches a log line
};

enum class LoadOutcome {
  kFinished,  // SUCCESS or FAILURE recorded: ack the task
  kLost,      // another worker owns it now (lease lost): drop without ack
  kStopped,   // stop was requested mid-task: release it for another worker
};

class LoadTask {
 public:
  LoadTask(ports::ObjectStore& objects, ports::RecordStore& records, ports::TaskStore& tasks,
           ports::TaskQueue& queue, const ports::Clock& clock, RecordMetrics& metrics,
           LoadOptions options);

  // Runs the task to its end. `stop_requested` is polled between batches.
  LoadOutcome Run(const ports::ClaimedTask& task, const std::function<bool()>& stop_requested);

 private:
  ports::ObjectStore& objects_;
  ports::RecordStore& records_;
  ports::TaskStore& tasks_;
  ports::TaskQueue& queue_;
  const ports::Clock& clock_;
  RecordMetrics& metrics_;
  LoadOptions options_;
};

}  // namespace intake::app
