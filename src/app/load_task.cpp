#include "app/load_task.hpp"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <condition_variable>
#include <deque>
#include <future>
#include <memory>
#include <mutex>
#include <optional>
#include <thread>
#include <utility>
#include <variant>

#include "app/batch_producer.hpp"
#include "app/load_steps.hpp"

namespace intake::app {
namespace {

constexpr std::chrono::milliseconds kSleepSlice{50};

// How one attempt ended: an outcome for the queue, or a transient error worth a retry.
struct AttemptEnd {
  std::optional<LoadOutcome> outcome;
  std::optional<Error> transient;
  bool progressed = false;  // at least one batch committed during the attempt
};

AttemptEnd Done(LoadOutcome outcome) { return AttemptEnd{outcome, std::nullopt, false}; }
AttemptEnd Transient(Error error) { return AttemptEnd{std::nullopt, std::move(error), false}; }

struct Ports {
  ports::ObjectStore& objects;
  ports::RecordStore& records;
  ports::TaskStore& tasks;
  ports::TaskQueue& queue;
  const ports::Clock& clock;
  RecordMetrics& metrics;
  const LoadOptions& options;
};

// Set once a batch begun on another thread holds its turn (RecordStore::ApplyBatchInTurn), or has
// ended.
class TurnSignal {
 public:
  void Set() {
    {
      std::lock_guard lock(mu_);
      set_ = true;
    }
    cv_.notify_all();
  }
  void Wait() {
    std::unique_lock lock(mu_);
    cv_.wait(lock, [this] { return set_; });
  }

 private:
  std::mutex mu_;
  std::condition_variable cv_;
  bool set_ = false;
};

// Sets a TurnSignal as it goes out of scope.
struct SetOnExit {
  TurnSignal& signal;
  ~SetOnExit() { signal.Set(); }
};

// A batch handed to the store whose result the run has not taken yet.
struct InFlight {
  std::int64_t rows_done_after = 0;
  std::future<Result<domain::TaskCounters>> result;
};

// One attempt at a task: streams the object from the start, skips the committed rows and applies
// the rest in batches. Where the store overlaps batches (RecordStore::OverlapsBatches), the next
// batch begins on another thread as soon as this one holds its turn, so that its stored rows are
// read while this one writes; its results are still taken in order, one batch behind. A fresh
// TaskRun per attempt, so every retry restarts from committed state.
class TaskRun {
 public:
  TaskRun(Ports ports, const ports::ClaimedTask& claimed,
          const std::function<bool()>& stop_requested, bool first_attempt)
      : p_(ports), claimed_(claimed), stop_(stop_requested), first_attempt_(first_attempt) {}

  AttemptEnd Run();

 private:
  AttemptEnd Stream(std::unique_ptr<ports::ObjectReader> reader);
  // Hands a prepared batch (the producer set its rows, rejected rows, rows_done_after and
  // total_records) to the store: applied at once, or, overlapping, begun on another thread and
  // returned from once it holds its turn.
  void Begin(ports::BatchInput batch);
  // Takes the results of the batches begun, oldest first, until `keep` are left; an AttemptEnd
  // when one failed (having waited for every batch begun).
  std::optional<AttemptEnd> Settle(std::size_t keep);
  // Extends the lease, as each batch after the first begins: an AttemptEnd when it is lost (or
  // cannot be extended now).
  std::optional<AttemptEnd> RenewLease();
  // Takes a committed batch's counters (the task's after it) into the metrics and the run.
  void Count(const domain::TaskCounters& counters, std::int64_t rows_done_after);
  AttemptEnd Succeed();
  AttemptEnd Fail(const std::string& reason);

  Ports p_;
  const ports::ClaimedTask& claimed_;
  const std::function<bool()>& stop_;
  bool first_attempt_;

  ports::TaskRecord task_;
  bool progressed_ = false;
  std::deque<InFlight> in_flight_;    // oldest first
  std::int64_t begun_rows_done_ = 0;  // rows_done after the last batch begun
  bool begun_any_ = false;
};

AttemptEnd TaskRun::Run() {
  const std::string& id = claimed_.task_id;
  auto task = p_.tasks.GetTask(id, false);
  if (!task) {
    const Error error = task.error();
    if (error.code != ErrorCode::kNotFound) return Transient(error);
    spdlog::warn("task={} no longer exists; dropping it", id);
    return Done(LoadOutcome::kFinished);
  }
  task_ = std::move(*task);
  begun_rows_done_ = task_.rows_done;
  if (domain::IsFinished(task_.state)) return Done(LoadOutcome::kFinished);
  if (auto started = p_.tasks.MarkStarted(id, p_.clock.Now()); !started) {
    const Error error = started.error();
    if (error.code == ErrorCode::kConflict) return Done(LoadOutcome::kFinished);
    return Transient(error);
  }
  load_steps::LogStart(task_, first_attempt_);
  auto reader = p_.objects.Get(task_.csv_filename);
  if (!reader) {
    const Error error = reader.error();
    if (error.code == ErrorCode::kNotFound) return Fail("CSV object not found");
    return Transient(error);
  }
  spdlog::info("[STEP 2] Parsing CSV… task={}", id);
  AttemptEnd end = Stream(std::move(*reader));
  end.progressed = progressed_;
  return end;
}

AttemptEnd TaskRun::Stream(std::unique_ptr<ports::ObjectReader> reader) {
  BatchProducer producer(
      std::move(reader),
      load_steps::SettingsFor(task_, p_.options, load_steps::UtcDate(p_.clock.Now())));
  // Overlapping, one batch may still apply while the next one begins.
  const std::size_t keep = p_.records.OverlapsBatches() ? 1 : 0;
  while (true) {
    BatchProducer::Item item = producer.Next();
    if (auto* end = std::get_if<ProducerEnd>(&item)) {
      if (auto failed = Settle(0)) return *failed;
      switch (end->kind) {
        case ProducerEnd::Kind::kComplete:
          return Succeed();
        case ProducerEnd::Kind::kFail:
          return Fail(end->reason);
        case ProducerEnd::Kind::kTransient:
          return Transient(end->error);
      }
    }
    auto& batch = std::get<ports::BatchInput>(item);
    const bool last = batch.total_records.has_value();
    if (begun_any_) {
      if (auto lost = RenewLease()) {
        if (auto failed = Settle(0)) return *failed;
        return *lost;
      }
    }
    Begin(std::move(batch));
    begun_any_ = true;
    if (auto failed = Settle(keep)) return *failed;
    if (!last && stop_ && stop_()) {
      if (auto failed = Settle(0)) return *failed;
      spdlog::info("task={} stopping after row {} (stop requested)", claimed_.task_id,
                   task_.rows_done);
      return Done(LoadOutcome::kStopped);
    }
  }
}

void TaskRun::Begin(ports::BatchInput batch) {
  batch.task_id = claimed_.task_id;
  batch.task_seq = task_.seq;
  batch.rows_done_before = begun_rows_done_;
  batch.mark_progress = true;
  begun_rows_done_ = batch.rows_done_after;
  InFlight flight{batch.rows_done_after, {}};
  // The last batch has no next one to begin during its turn: it applies on this thread (so does a
  // task of one batch).
  if (!p_.records.OverlapsBatches() || batch.total_records) {
    std::promise<Result<domain::TaskCounters>> applied;
    applied.set_value(p_.records.ApplyBatch(batch));
    flight.result = applied.get_future();
  } else {
    auto turn = std::make_shared<TurnSignal>();
    flight.result =
        std::async(std::launch::async, [records = &p_.records, turn, batch = std::move(batch)] {
          // Set however the apply ends (an exception too: it then reaches the worker through the
          // future, instead of leaving it waiting here for good).
          const SetOnExit ended{*turn};
          return records->ApplyBatchInTurn(batch, [&turn] { turn->Set(); });
        });
    turn->Wait();
  }
  in_flight_.push_back(std::move(flight));
}

std::optional<AttemptEnd> TaskRun::Settle(std::size_t keep) {
  while (in_flight_.size() > keep) {
    InFlight flight = std::move(in_flight_.front());
    in_flight_.pop_front();
    auto counters = flight.result.get();
    std::optional<AttemptEnd> end;
    if (counters) {
      Count(*counters, flight.rows_done_after);
    } else if (counters.error().code == ErrorCode::kConflict) {
      spdlog::warn("task={} taken over by another worker", claimed_.task_id);
      end = Done(LoadOutcome::kLost);
    } else {
      end = Transient(counters.error());
    }
    if (!end) continue;
    // The batches begun after it fail too (their progress no longer chains) unless this one
    // committed after all (an error reading its commit's answer): count those that did.
    for (InFlight& later : in_flight_) {
      if (auto more = later.result.get()) Count(*more, later.rows_done_after);
    }
    in_flight_.clear();
    return end;
  }
  return std::nullopt;
}

std::optional<AttemptEnd> TaskRun::RenewLease() {
  if (auto extended = p_.queue.Extend(claimed_); !extended) {
    const Error error = extended.error();
    if (error.code == ErrorCode::kConflict) {
      spdlog::warn("task={} lease lost", claimed_.task_id);
      return Done(LoadOutcome::kLost);
    }
    return Transient(error);
  }
  return std::nullopt;
}

void TaskRun::Count(const domain::TaskCounters& counters, std::int64_t rows_done_after) {
  const std::int64_t processed = counters.processed_records - task_.counters.processed_records;
  const std::int64_t rejected = counters.error_count - task_.counters.error_count;
  p_.metrics.loaded += processed - rejected;
  p_.metrics.rejected += rejected;
  task_.counters = counters;
  task_.rows_done = rows_done_after;
  progressed_ = true;
  spdlog::debug("task={} committed rows_done={}", claimed_.task_id, task_.rows_done);
}

AttemptEnd TaskRun::Succeed() {
  if (auto finished = p_.tasks.FinishTask(claimed_.task_id, domain::TaskState::kSuccess,
                                          std::nullopt, p_.clock.Now());
      !finished) {
    return Transient(finished.error());
  }
  load_steps::LogComplete(claimed_.task_id, task_.counters);
  return Done(LoadOutcome::kFinished);
}

AttemptEnd TaskRun::Fail(const std::string& reason) {
  if (auto finished = p_.tasks.FinishTask(claimed_.task_id, domain::TaskState::kFailure, reason,
                                          p_.clock.Now());
      !finished) {
    return Transient(finished.error());
  }
  spdlog::error("[WORKFLOW FAILED] task={} reason={}", claimed_.task_id, reason);
  return Done(LoadOutcome::kFinished);
}

// Sleeps `d` in slices; false when a stop was requested meanwhile.
bool SleepUnlessStopped(std::chrono::milliseconds d, const std::function<bool()>& stop) {
  const auto deadline = std::chrono::steady_clock::now() + d;
  while (true) {
    if (stop && stop()) return false;
    const auto now = std::chrono::steady_clock::now();
    if (now >= deadline) return true;
    std::this_thread::sleep_for(
        std::min<std::chrono::steady_clock::duration>(deadline - now, kSleepSlice));
  }
}

// Records FAILURE after the last allowed transient failure. If even that cannot be recorded the
// task is handed back, so a later claim tries again.
LoadOutcome GiveUp(const Ports& p, const std::string& task_id, const std::string& reason) {
  const std::string failure = "retries exhausted: " + reason;
  if (auto finished =
          p.tasks.FinishTask(task_id, domain::TaskState::kFailure, failure, p.clock.Now());
      !finished) {
    spdlog::error("task={} {}; recording the failure failed too, handing it back", task_id,
                  failure);
    return LoadOutcome::kStopped;
  }
  spdlog::error("[WORKFLOW FAILED] task={} reason={}", task_id, failure);
  return LoadOutcome::kFinished;
}

}  // namespace

namespace load_steps {

domain::Date UtcDate(std::chrono::system_clock::time_point now) {
  const std::chrono::year_month_day ymd{std::chrono::floor<std::chrono::days>(now)};
  return domain::Date{static_cast<int>(ymd.year()), static_cast<int>(unsigned(ymd.month())),
                      static_cast<int>(unsigned(ymd.day()))};
}

ProducerSettings SettingsFor(const ports::TaskRecord& task, const LoadOptions& options,
                             domain::Date today) {
  ProducerSettings settings;
  settings.task_id = task.task_id;
  settings.expected_rows = task.records_received;
  settings.rows_done = task.rows_done;
  settings.known_errors = task.counters.error_count;
  settings.today = today;
  settings.batch_rows = options.batch_rows;
  settings.log_phi = options.log_phi;
  return settings;
}

void LogStart(const ports::TaskRecord& task, bool first_attempt) {
  if (first_attempt) {
    spdlog::info("[WORKFLOW START] task={} file={}", task.task_id, task.csv_filename);
    if (task.rows_done > 0) {
      spdlog::info("task={} resuming after row {}", task.task_id, task.rows_done);
    }
  } else {
    spdlog::info("task={} resuming after row {}", task.task_id, task.rows_done);
  }
  spdlog::info("[STEP 1] Downloading CSV… task={}", task.task_id);
}

void LogComplete(const std::string& task_id, const domain::TaskCounters& c) {
  spdlog::info(
      "[WORKFLOW COMPLETE] task={} processed={} created={} updated={} unchanged={} "
      "visits_created={} visits_updated={} visits_unchanged={} errors={}",
      task_id, c.processed_records, c.patients_created, c.patients_updated, c.patients_unchanged,
      c.visits_created, c.visits_updated, c.visits_unchanged, c.error_count);
}

}  // namespace load_steps

LoadTask::LoadTask(ports::ObjectStore& objects, ports::RecordStore& records,
                   ports::TaskStore& tasks, ports::TaskQueue& queue, const ports::Clock& clock,
                   RecordMetrics& metrics, LoadOptions options)
    : objects_(objects),
      records_(records),
      tasks_(tasks),
      queue_(queue),
      clock_(clock),
      metrics_(metrics),
      options_(options) {}

LoadOutcome LoadTask::Run(const ports::ClaimedTask& task,
                          const std::function<bool()>& stop_requested) {
  const Ports ports{objects_, records_, tasks_, queue_, clock_, metrics_, options_};
  std::chrono::milliseconds backoff = options_.first_backoff;
  int failures = 0;
  for (bool first = true;; first = false) {
    AttemptEnd end = TaskRun(ports, task, stop_requested, first).Run();
    if (end.outcome) return *end.outcome;
    if (end.progressed) failures = 0;  // only consecutive failures without progress count
    const std::string reason = end.transient->message;
    if (++failures >= options_.max_attempts) {
      return GiveUp(ports, task.task_id, reason);
    }
    spdlog::warn("task={} transient failure ({}/{}): {}; retrying in {} ms", task.task_id, failures,
                 options_.max_attempts, reason, backoff.count());
    if (!SleepUnlessStopped(backoff, stop_requested)) return LoadOutcome::kStopped;
    backoff = std::min(backoff * 2, options_.max_backoff);
    if (auto extended = queue_.Extend(task);
        !extended && extended.error().code == ErrorCode::kConflict) {
      spdlog::warn("task={} lease lost while backing off", task.task_id);
      return LoadOutcome::kLost;
    }
  }
}

}  // namespace intake::app
