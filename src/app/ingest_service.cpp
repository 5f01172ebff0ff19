#include "app/ingest_service.hpp"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <chrono>
#include <cstdio>

#include "app/upload_session.hpp"
#include "domain/csv_codec.hpp"

namespace intake::app {
namespace {

domain::Date UtcDate(std::chrono::system_clock::time_point now) {
  const std::chrono::year_month_day ymd{std::chrono::floor<std::chrono::days>(now)};
  return domain::Date{static_cast<int>(ymd.year()), static_cast<int>(unsigned(ymd.month())),
                      static_cast<int>(unsigned(ymd.day()))};
}

// Row-level problems first, then field order.
bool FieldOrderLess(const domain::Problem& a, const domain::Problem& b) {
  if (!a.field || !b.field) return !a.field && b.field;
  return *a.field < *b.field;
}

bool NamesField(const std::vector<domain::Problem>& problems, domain::Field field) {
  return std::any_of(problems.begin(), problems.end(),
                     [&](const domain::Problem& p) { return p.field == field; });
}

// The problems of one record: the structural ones plus the field rules for the fields they do
// not name, in field order. A record with a row-level structural problem (not an object) has no
// fields to check.
std::vector<domain::Problem> RecordProblems(const domain::VisitRecord& record,
                                            std::vector<domain::Problem> structural,
                                            const domain::Date& today) {
  const bool whole_row = std::any_of(structural.begin(), structural.end(),
                                     [](const domain::Problem& p) { return !p.field; });
  if (whole_row) return structural;
  std::vector<domain::Problem> found;
  domain::ValidateRecord(record, today, found);
  for (auto& problem : found) {
    if (!problem.field || !NamesField(structural, *problem.field)) {
      structural.push_back(std::move(problem));
    }
  }
  std::stable_sort(structural.begin(), structural.end(), FieldOrderLess);
  return structural;
}

}  // namespace

IngestService::IngestService(ports::ObjectStore& objects, ports::TaskStore& tasks,
                             ports::TaskQueue& queue, const ports::Clock& clock,
                             ports::IdSource& ids, RecordMetrics& metrics)
    : objects_(objects),
      tasks_(tasks),
      queue_(queue),
      clock_(clock),
      ids_(ids),
      metrics_(metrics) {}

Result<IngestReceipt> IngestService::IngestRecords(const std::vector<domain::VisitRecord>& records,
                                                   const std::vector<RecordProblem>& structural,
                                                   std::vector<RecordProblem>& problems) {
  problems.clear();
  if (records.empty()) return InvalidArgument("no records");
  std::vector<std::vector<domain::Problem>> by_record(records.size());
  for (const auto& p : structural) {
    if (p.index < records.size()) by_record[p.index].push_back(p.problem);
  }
  const domain::Date today = UtcDate(clock_.Now());
  bool invalid = false;
  for (std::size_t i = 0; i < records.size() && problems.size() < kMaxReportedProblems; ++i) {
    for (auto& problem : RecordProblems(records[i], std::move(by_record[i]), today)) {
      invalid = true;
      if (problems.size() == kMaxReportedProblems) break;
      problems.push_back(RecordProblem{i, std::move(problem)});
    }
  }
  if (invalid) {
    return InvalidArgument("invalid records");
  }

  std::string csv;
  domain::AppendCsvHeader(csv);
  for (const auto& record : records) domain::AppendCsvRecord(record, csv);
  const std::string filename = NewCsvFilename();
  if (auto put = objects_.Put(filename, csv); !put) {
    const Error error = put.error();
    spdlog::warn("ingest: storing {} failed: {}", filename, error.message);
    return error;
  }
  return Register(filename, static_cast<std::int64_t>(records.size()));
}

Result<std::unique_ptr<UploadSession>> IngestService::BeginUpload(UploadFormat format) {
  std::string filename = NewCsvFilename();
  auto writer = objects_.BeginPut(filename);
  if (!writer) {
    const Error error = writer.error();
    spdlog::warn("ingest: opening {} failed: {}", filename, error.message);
    return error;
  }
  RegisterFn register_fn = [this](const std::string& name, std::int64_t rows) {
    return Register(name, rows);
  };
  if (format == UploadFormat::kCsv) {
    return MakeCsvUpload(std::move(filename), std::move(*writer), std::move(register_fn));
  }
  return MakeNdjsonUpload(std::move(filename), std::move(*writer), std::move(register_fn));
}

std::string IngestService::NewCsvFilename() {
  const auto now = clock_.Now();
  const auto day = std::chrono::floor<std::chrono::days>(now);
  const std::chrono::year_month_day ymd{day};
  const std::chrono::hh_mm_ss hms{std::chrono::floor<std::chrono::seconds>(now - day)};
  char stamp[32];
  std::snprintf(stamp, sizeof stamp, "%04d%02u%02u_%02d%02d%02d", static_cast<int>(ymd.year()),
                unsigned(ymd.month()), unsigned(ymd.day()), static_cast<int>(hms.hours().count()),
                static_cast<int>(hms.minutes().count()), static_cast<int>(hms.seconds().count()));
  return "patient_intake_" + std::string(stamp) + "_" + ids_.NewSuffix() + ".csv";
}

Result<IngestReceipt> IngestService::Register(const std::string& csv_filename,
                                              std::int64_t records) {
  ports::NewTask task{ids_.NewTaskId(), csv_filename, records, clock_.Now()};
  auto created = tasks_.CreateTask(task);
  if (!created) {
    const Error error = created.error();
    // The object stays as an orphan: the client gets an error, so no accepted data is lost.
    spdlog::warn("ingest: creating the task for {} failed: {}", csv_filename, error.message);
    return error;
  }
  if (auto queued = queue_.Enqueue(task.task_id); !queued) {
    const Error error = queued.error();
    spdlog::warn("ingest: queueing task={} failed: {}", task.task_id, error.message);
    // Best effort: a task nobody will run should not stay PENDING forever.
    (void)tasks_.FinishTask(task.task_id, domain::TaskState::kFailure,
                            "the task could not be queued; the request was refused", clock_.Now());
    return error;
  }
  metrics_.accepted += records;
  spdlog::info("ingest: accepted task={} file={} records={}", task.task_id, csv_filename, records);
  return IngestReceipt{records, csv_filename, task.task_id};
}

}  // namespace intake::app
