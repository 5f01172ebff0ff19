// Use case: accept a batch. Validates, writes the CSV object, creates and queues the task; answers
// only once both are durable. Thread-safe (stateless apart from the injected ports).
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "app/metrics.hpp"
#include "domain/result.hpp"
#include "domain/validation.hpp"
#include "domain/visit_record.hpp"
#include "ports/clock.hpp"
#include "ports/object_store.hpp"
#include "ports/task_queue.hpp"
#include "ports/task_store.hpp"

namespace intake::app {

struct IngestReceipt {
  std::int64_t records_received = 0;
  std::string csv_filename;
  std::string task_id;
};

// A problem of record `index` (0-based position in the request array).
struct RecordProblem {
  std::size_t index = 0;
  domain::Problem problem;
};

inline constexpr std::size_t kMaxReportedProblems = 100;

// A streamed CSV or NDJSON upload. Feed the body in chunks, then Finish. Memory stays bounded by
// the chunk size plus one unfinished row. Destroying it without a successful Finish discards the
// object. Not thread-safe.
class UploadSession {
 public:
  virtual ~UploadSession() = default;
  // kInvalidArgument with a value-free message on a structural problem (missing column, NDJSON
  // line that is not a JSON object): the upload is dead, nothing will be stored.
  // kUnavailable when the object store fails.
  virtual Status Feed(std::string_view bytes) = 0;
  // kInvalidArgument when there was no data row. On success the object and the task are durable.
  virtual Result<IngestReceipt> Finish() = 0;
};

enum class UploadFormat { kCsv, kNdjson };

class IngestService {
 public:
  IngestService(ports::ObjectStore& objects, ports::TaskStore& tasks, ports::TaskQueue& queue,
                const ports::Clock& clock, ports::IdSource& ids, RecordMetrics& metrics);

  // `records` came from a JSON array; `structural` holds the problems the JSON mapping already
  // found (missing field, not a string, not an object), by record index. Fields named there are
  // not validated again; a record with a row-level structural problem is not validated at all. Any
  // problem → kInvalidArgument and `problems` holds the first kMaxReportedProblems in record order,
  // then field order; nothing is stored. REQUIRES: !records.empty().
  Result<IngestReceipt> IngestRecords(const std::vector<domain::VisitRecord>& records,
                                      const std::vector<RecordProblem>& structural,
                                      std::vector<RecordProblem>& problems);

  Result<std::unique_ptr<UploadSession>> BeginUpload(UploadFormat format);

  // "patient_intake_YYYYMMDD_HHMMSS_<suffix>.csv" for `now` (UTC).
  std::string NewCsvFilename();

 private:
  Result<IngestReceipt> Register(const std::string& csv_filename, std::int64_t records);

  ports::ObjectStore& objects_;
  ports::TaskStore& tasks_;
  ports::TaskQueue& queue_;
  const ports::Clock& clock_;
  ports::IdSource& ids_;
  RecordMetrics& metrics_;
};

}  // namespace intake::app
