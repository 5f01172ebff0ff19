// Streaming CSV / NDJSON uploads (private to IngestService): structure is checked while the body
// streams through, every data row is written to the object in the canonical CSV layout, and
// Finish() commits the object and registers the task.
//
// Rows whose shape cannot be mapped (a CSV row with the wrong cell count) and NDJSON fields that
// are missing or not JSON strings are not refused here: they are written so that the worker
// rejects exactly those rows (see upload_session.cpp; NDJSON field problems go in the optional
// domain::kProblemsColumn column), because field and row rules are the worker's job (SPEC §3).
// Malformed input is refused whole (kInvalidArgument, nothing stored): a missing or duplicate
// column, no data rows, a CSV body ending inside a quoted field, an NDJSON line that is not a JSON
// object. Every row written ends in a line break, and the task's records_received is the number
// of data rows written: the worker checks the object it reads against both.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <string>

#include "app/ingest_service.hpp"
#include "ports/object_store.hpp"

namespace intake::app {

// Creates and queues the task for a committed object of `records` data rows.
using RegisterFn =
    std::function<Result<IngestReceipt>(const std::string& csv_filename, std::int64_t records)>;

// Bytes are handed to the object writer in pieces of about this size.
inline constexpr std::size_t kUploadWriteBytes = std::size_t{1} << 20;

std::unique_ptr<UploadSession> MakeCsvUpload(std::string csv_filename,
                                             std::unique_ptr<ports::ObjectWriter> writer,
                                             RegisterFn register_task);
std::unique_ptr<UploadSession> MakeNdjsonUpload(std::string csv_filename,
                                                std::unique_ptr<ports::ObjectWriter> writer,
                                                RegisterFn register_task);

}  // namespace intake::app
