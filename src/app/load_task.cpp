#include "app/load_task.hpp"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <array>
#include <optional>
#include <thread>
#include <utility>
#include <vector>

#include "domain/csv_codec.hpp"
#include "domain/validation.hpp"

namespace intake::app {
namespace {

constexpr std::size_t kReadChunk = std::size_t{1} << 20;
constexpr std::chrono::milliseconds kSleepSlice{50};

domain::Date UtcDate(std::chrono::system_clock::time_point now) {
  const std::chrono::year_month_day ymd{std::chrono::floor<std::chrono::days>(now)};
  return domain::Date{static_cast<int>(ymd.year()), static_cast<int>(unsigned(ymd.month())),
                      static_cast<int>(unsigned(ymd.day()))};
}

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

// One attempt at a task: streams the object from the start, skips the committed rows and applies
// the rest in batches. A fresh TaskRun per attempt, so every retry restarts from committed state.
class TaskRun {
 public:
  TaskRun(Ports ports, const ports::ClaimedTask& claimed,
          const std::function<bool()>& stop_requested, bool first_attempt)
      : p_(ports), claimed_(claimed), stop_(stop_requested), first_attempt_(first_attempt) {}

  AttemptEnd Run();

 private:
  AttemptEnd Stream(ports::ObjectReader& reader);
  std::optional<AttemptEnd> OnRow(std::vector<std::string>& row, bool unterminated);
  std::optional<AttemptEnd> OnHeader(const std::vector<std::string>& row);
  void Validate();
  void Reject(std::int64_t row, std::vector<domain::Problem>& problems, bool mapped);
  std::optional<AttemptEnd> ApplyBatch(std::optional<std::int64_t> total_records);
  AttemptEnd Succeed();
  AttemptEnd Fail(const std::string& reason);

  Ports p_;
  const ports::ClaimedTask& claimed_;
  const std::function<bool()>& stop_;
  bool first_attempt_;

  ports::TaskRecord task_;
  domain::Date today_;
  std::optional<domain::CsvHeader> header_;
  std::int64_t row_number_ = 0;  // data rows seen so far
  std::int64_t rows_in_batch_ = 0;
  ports::BatchInput batch_;
  domain::VisitRecord record_;
  std::vector<domain::Problem> problems_;
  std::vector<domain::Problem> checked_;  // scratch for Validate()
  bool progressed_ = false;
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
  if (domain::IsFinished(task_.state)) return Done(LoadOutcome::kFinished);
  if (auto started = p_.tasks.MarkStarted(id, p_.clock.Now()); !started) {
    const Error error = started.error();
    if (error.code == ErrorCode::kConflict) return Done(LoadOutcome::kFinished);
    return Transient(error);
  }
  if (first_attempt_) {
    spdlog::info("[WORKFLOW START] task={} file={}", id, task_.csv_filename);
    if (task_.rows_done > 0) spdlog::info("task={} resuming after row {}", id, task_.rows_done);
  } else {
    spdlog::info("task={} resuming after row {}", id, task_.rows_done);
  }
  today_ = UtcDate(p_.clock.Now());
  spdlog::info("[STEP 1] Downloading CSV… task={}", id);
  auto reader = p_.objects.Get(task_.csv_filename);
  if (!reader) {
    const Error error = reader.error();
    if (error.code == ErrorCode::kNotFound) return Fail("CSV object not found");
    return Transient(error);
  }
  spdlog::info("[STEP 2] Parsing CSV… task={}", id);
  AttemptEnd end = Stream(**reader);
  end.progressed = progressed_;
  return end;
}

AttemptEnd TaskRun::Stream(ports::ObjectReader& reader) {
  domain::CsvReader csv;
  std::vector<char> buffer(kReadChunk);
  std::vector<std::string> row;
  while (true) {
    auto read = reader.Read(buffer.data(), buffer.size());
    if (!read) {
      const Error error = read.error();
      if (error.code == ErrorCode::kNotFound) return Fail("CSV object not found");
      return Transient(error);
    }
    if (*read == 0) break;
    csv.Feed(std::string_view(buffer.data(), *read));
    while (csv.Next(row)) {
      if (auto end = OnRow(row, false)) return *end;
    }
  }
  csv.Finish();
  // One row of lookahead: only the very last row can end inside a quoted field.
  bool have = csv.Next(row);
  while (have) {
    std::vector<std::string> next;
    const bool more = csv.Next(next);
    if (auto end = OnRow(row, !more && csv.unterminated_quote())) return *end;
    row.swap(next);
    have = more;
  }
  if (!header_) return Fail("CSV has no header row");
  if (auto end = ApplyBatch(row_number_)) return *end;
  return Succeed();
}

std::optional<AttemptEnd> TaskRun::OnHeader(const std::vector<std::string>& row) {
  auto header = domain::CsvHeader::Parse(row, domain::ProblemsColumn::kRead);
  if (!header) return Fail(header.error().message);
  header_ = *header;
  spdlog::info("[STEP 3] Processing records… task={}", claimed_.task_id);
  return std::nullopt;
}

std::optional<AttemptEnd> TaskRun::OnRow(std::vector<std::string>& row, bool unterminated) {
  if (!header_) return OnHeader(row);
  const std::int64_t number = ++row_number_;
  if (number <= task_.rows_done) return std::nullopt;  // committed by an earlier run
  problems_.clear();
  bool mapped = false;
  if (unterminated) {
    problems_.push_back(
        domain::Problem{std::nullopt, "value_error", "unterminated quoted field at end of file"});
  } else if (header_->ToRecord(row, record_, problems_)) {
    mapped = true;
    Validate();
  }
  if (problems_.empty()) {
    batch_.rows.push_back(domain::RowInput{number, record_});
  } else {
    Reject(number, problems_, mapped);
  }
  if (++rows_in_batch_ < static_cast<std::int64_t>(p_.options.batch_rows)) return std::nullopt;
  if (auto end = ApplyBatch(std::nullopt)) return end;
  if (stop_ && stop_()) {
    spdlog::info("task={} stopping after row {} (stop requested)", claimed_.task_id, number);
    return Done(LoadOutcome::kStopped);
  }
  return std::nullopt;
}

// Adds the field-rule problems of record_ to problems_, which holds those of the problems column
// (an NDJSON field that was missing or not a string). A field named there is not checked again
// (its cell is empty): one problem per bad field. The result is in field order, row-level first.
void TaskRun::Validate() {
  if (problems_.empty()) {
    domain::ValidateRecord(record_, today_, problems_);
    return;
  }
  std::array<bool, domain::kFieldCount> named{};
  for (const domain::Problem& problem : problems_) {
    if (problem.field) named[static_cast<std::size_t>(*problem.field)] = true;
  }
  checked_.clear();
  domain::ValidateRecord(record_, today_, checked_);
  for (domain::Problem& problem : checked_) {
    if (!problem.field || !named[static_cast<std::size_t>(*problem.field)]) {
      problems_.push_back(std::move(problem));
    }
  }
  std::stable_sort(problems_.begin(), problems_.end(),
                   [](const domain::Problem& a, const domain::Problem& b) {
                     const auto rank = [](const domain::Problem& p) {
                       return p.field ? 1 + static_cast<int>(*p.field) : 0;
                     };
                     return rank(a) < rank(b);
                   });
}

void TaskRun::Reject(std::int64_t row, std::vector<domain::Problem>& problems, bool mapped) {
  ++batch_.rejected_rows;
  // The store keeps only the first kMaxStoredRowErrors per task; every rejected row before this
  // one left at least one, so past that point more would be dropped anyway.
  const auto known = static_cast<std::size_t>(task_.counters.error_count);
  for (auto& problem : problems) {
    if (known + batch_.row_errors.size() >= domain::kMaxStoredRowErrors) break;
    batch_.row_errors.push_back(domain::RowError{row, problem.field, std::move(problem.message)});
  }
  if (p_.options.log_phi && mapped) {
    spdlog::debug("task={} row={} mrn={} rejected ({} problems)", claimed_.task_id, row,
                  record_.mrn, problems.size());
  } else {
    spdlog::debug("task={} row={} rejected ({} problems)", claimed_.task_id, row, problems.size());
  }
}

std::optional<AttemptEnd> TaskRun::ApplyBatch(std::optional<std::int64_t> total_records) {
  batch_.task_id = claimed_.task_id;
  batch_.task_seq = task_.seq;
  batch_.rows_done_before = task_.rows_done;
  batch_.rows_done_after = std::max(row_number_, task_.rows_done);
  batch_.total_records = total_records;
  batch_.mark_progress = true;
  auto counters = p_.records.ApplyBatch(batch_);
  if (!counters) {
    const Error error = counters.error();
    if (error.code == ErrorCode::kConflict) {
      spdlog::warn("task={} taken over by another worker", claimed_.task_id);
      return Done(LoadOutcome::kLost);
    }
    return Transient(error);
  }
  const std::int64_t processed = counters->processed_records - task_.counters.processed_records;
  const std::int64_t rejected = counters->error_count - task_.counters.error_count;
  p_.metrics.loaded += processed - rejected;
  p_.metrics.rejected += rejected;
  task_.counters = *counters;
  task_.rows_done = batch_.rows_done_after;
  batch_ = ports::BatchInput{};
  rows_in_batch_ = 0;
  progressed_ = true;
  spdlog::debug("task={} committed rows_done={}", claimed_.task_id, task_.rows_done);
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

AttemptEnd TaskRun::Succeed() {
  if (auto finished = p_.tasks.FinishTask(claimed_.task_id, domain::TaskState::kSuccess,
                                          std::nullopt, p_.clock.Now());
      !finished) {
    return Transient(finished.error());
  }
  const domain::TaskCounters& c = task_.counters;
  spdlog::info(
      "[WORKFLOW COMPLETE] task={} processed={} created={} updated={} unchanged={} "
      "visits_created={} visits_updated={} visits_unchanged={} errors={}",
      claimed_.task_id, c.processed_records, c.patients_created, c.patients_updated,
      c.patients_unchanged, c.visits_created, c.visits_updated, c.visits_unchanged, c.error_count);
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
