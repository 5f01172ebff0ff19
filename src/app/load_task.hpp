// Use case: load one claimed task (SPEC §4). Streams the CSV object, parses and validates rows,
// and hands them to the RecordStore in batches, resuming after the task's rows_done. Where the
// store overlaps batches, the next batch begins (ApplyBatchInTurn) as soon as this one holds its
// turn, on a thread of its own. The lease is extended as each batch after the first begins.
// Thread-safe: one LoadTask may run many tasks concurrently on different threads.
#pragma once

#include <chrono>
#include <cstddef>
#include <functional>
#include <optional>
#include <string>
#include <vector>

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
  // A group whose tasks took longer than this to claim and read renews their leases before it is
  // applied. Quicker groups do not: each renewal is a write, and on SQLite it would wait for the
  // other worker's write transaction instead of loading beside it.
  std::chrono::milliseconds group_lease_renewal{5000};
};

enum class LoadOutcome {
  kFinished,  // SUCCESS or FAILURE recorded: ack the task
  kLost,      // another worker owns it now (lease lost): drop without ack
  kStopped,   // stop was requested mid-task: release it for another worker
};

// A task claimable now (a claim that does not wait), or nullopt when there is none.
using ClaimNow = std::function<std::optional<ports::ClaimedTask>()>;

struct TaskOutcome {
  ports::ClaimedTask task;
  LoadOutcome outcome;
};

// Called as each task of a group ends, to ack or release it as for Run's outcome.
using SettleFn = std::function<void(const TaskOutcome&)>;

class LoadTask {
 public:
  LoadTask(ports::ObjectStore& objects, ports::RecordStore& records, ports::TaskStore& tasks,
           ports::TaskQueue& queue, const ports::Clock& clock, RecordMetrics& metrics,
           LoadOptions options);

  // Runs the task to its end. `stop_requested` is polled between batches.
  LoadOutcome Run(const ports::ClaimedTask& task, const std::function<bool()>& stop_requested);

  // Whether RunGroup groups: the record store applies several tasks' batches in one transaction.
  bool Groups() const { return records_.MaxGroupedBatches() > 1; }

  // Runs `first` and, while they are queued, more tasks claimed with `claim_now`, applying their
  // rows in one RecordStore::ApplyBatches call: each task with nothing committed yet whose
  // records fit in the group (batch_rows rows in all, MaxGroupedBatches() tasks) and whose object
  // reads whole as one batch joins it. Their leases are renewed just before the apply when
  // gathering them took longer than group_lease_renewal (a task whose lease is lost leaves). Each
  // task of an applied group is marked SUCCESS and settled at once. A claimed task that would
  // overflow the group is returned (the carry: run it next, as the first of the next group), or
  // handed back to the queue when tasks must run on their own first; one that cannot join (larger
  // than a batch, resuming, claimed twice, its object unreadable or incomplete) ends the claiming
  // and runs on its own (Run) after the group. When the group's apply fails, each of its tasks runs
  // on its own with Run. `settle` gets every task this call ended, released or lost.
  std::optional<ports::ClaimedTask> RunGroup(const ports::ClaimedTask& first,
                                             const ClaimNow& claim_now, const SettleFn& settle,
                                             const std::function<bool()>& stop_requested);

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
