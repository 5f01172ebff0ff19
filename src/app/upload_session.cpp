#include "app/upload_session.hpp"

#include <spdlog/spdlog.h>

#include <boost/json.hpp>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "domain/csv_codec.hpp"

namespace intake::app {
namespace {

constexpr std::string_view kUtf8Bom = "\xEF\xBB\xBF";

// The quoting rule of domain::AppendCsvRecord, for cells that do not form a record.
void AppendCell(std::string_view cell, std::string& out) {
  const bool quote = cell.find_first_of(",\"\r\n") != std::string_view::npos ||
                     (!cell.empty() && (cell.front() == ' ' || cell.back() == ' '));
  if (!quote) {
    out.append(cell);
    return;
  }
  out.push_back('"');
  for (char c : cell) {
    if (c == '"') out.push_back('"');
    out.push_back(c);
  }
  out.push_back('"');
}

// A CSV data row that cannot be mapped to a record is stored so that the worker rejects that row
// and only that row: its cells as they came, one empty cell added if their count happens to match
// the canonical seven, so the worker sees a row-shape problem. Like every row Intake writes, it
// ends in a line break (the worker takes an object ending inside a row for one not yet whole).
void AppendUnmappedRow(std::vector<std::string>& cells, std::string& out) {
  if (cells.size() == domain::kFieldCount) cells.emplace_back();
  for (std::size_t i = 0; i < cells.size(); ++i) {
    if (i > 0) out.push_back(',');
    AppendCell(cells[i], out);
  }
  out.append("\r\n");
}

// Buffers canonical CSV output, hands it to the object writer in ~1 MiB pieces, and ends in
// commit + register. Any failure kills the session and discards the object. The subclass writes the
// header line into out_ before the first piece is handed over.
class StreamingUpload : public UploadSession {
 public:
  StreamingUpload(std::string csv_filename, std::unique_ptr<ports::ObjectWriter> writer,
                  RegisterFn register_task)
      : filename_(std::move(csv_filename)),
        writer_(std::move(writer)),
        register_(std::move(register_task)) {}

 protected:
  Status CheckAlive() const {
    if (dead_) return *dead_;
    if (finished_) return Internal("upload already finished");
    return {};
  }

  Error Fail(Error error) {
    dead_ = error;
    writer_.reset();  // discards what was written
    out_.clear();
    return error;
  }

  Status MaybeFlush() {
    if (out_.size() < kUploadWriteBytes) return {};
    return Flush();
  }

  Result<IngestReceipt> Complete(std::int64_t rows) {
    finished_ = true;
    if (rows == 0) return Fail(InvalidArgument("no data rows"));
    if (auto flushed = Flush(); !flushed) return flushed.error();
    if (auto committed = writer_->Commit(); !committed) {
      spdlog::warn("ingest: committing {} failed", filename_);
      return Fail(committed.error());
    }
    writer_.reset();
    return register_(filename_, rows);
  }

  std::string out_;

 private:
  Status Flush() {
    if (out_.empty()) return {};
    if (auto written = writer_->Write(out_); !written) {
      spdlog::warn("ingest: writing {} failed", filename_);
      return Fail(written.error());
    }
    out_.clear();
    return {};
  }

  std::string filename_;
  std::unique_ptr<ports::ObjectWriter> writer_;
  RegisterFn register_;
  std::optional<Error> dead_;
  bool finished_ = false;
};

// The client's CSV is re-encoded to the seven canonical columns: extra columns (one named
// domain::kProblemsColumn included) are dropped, so a client cannot make the worker report
// problems other than those of its own values.
class CsvUpload : public StreamingUpload {
 public:
  CsvUpload(std::string csv_filename, std::unique_ptr<ports::ObjectWriter> writer,
            RegisterFn register_task)
      : StreamingUpload(std::move(csv_filename), std::move(writer), std::move(register_task)) {
    domain::AppendCsvHeader(out_);
  }

  Status Feed(std::string_view bytes) override {
    if (auto alive = CheckAlive(); !alive) return alive;
    FeedReader(bytes);
    while (reader_.Next(row_)) {
      if (auto handled = OnRow(row_); !handled) return handled;
    }
    return {};
  }

  Result<IngestReceipt> Finish() override {
    if (auto alive = CheckAlive(); !alive) return alive.error();
    if (!bom_done_) reader_.Feed(head_);  // a body shorter than a BOM
    reader_.Finish();
    while (reader_.Next(row_)) {
      if (auto handled = OnRow(row_); !handled) return handled.error();
    }
    // Malformed CSV, like an NDJSON line that is not JSON: the rest of the body after the open
    // quote would be one cell, so the file is refused whole rather than loaded in part.
    if (reader_.unterminated_quote()) {
      return Fail(InvalidArgument("the body ends inside a quoted field (the row starting on line " +
                                  std::to_string(reader_.row_start_line()) + ")"));
    }
    return Complete(rows_);
  }

 private:
  // Strips a UTF-8 byte-order mark at the start of the body, even when split across chunks.
  void FeedReader(std::string_view bytes) {
    if (bom_done_) {
      reader_.Feed(bytes);
      return;
    }
    head_.append(bytes);
    if (head_.size() < kUtf8Bom.size() && kUtf8Bom.starts_with(head_)) return;
    std::string_view head = head_;
    if (head.starts_with(kUtf8Bom)) head.remove_prefix(kUtf8Bom.size());
    reader_.Feed(head);
    bom_done_ = true;
    std::string().swap(head_);
  }

  Status OnRow(std::vector<std::string>& row) {
    if (!header_) {
      auto header = domain::CsvHeader::Parse(row);
      if (!header) return Fail(header.error());
      header_ = *header;
      return {};
    }
    ++rows_;
    problems_.clear();
    if (header_->ToRecord(row, record_, problems_)) {
      domain::AppendCsvRecord(record_, out_);
    } else {
      AppendUnmappedRow(row, out_);
    }
    return MaybeFlush();
  }

  domain::CsvReader reader_;
  std::optional<domain::CsvHeader> header_;
  std::vector<std::string> row_;
  domain::VisitRecord record_;
  std::vector<domain::Problem> problems_;
  std::string head_;
  bool bom_done_ = false;
  std::int64_t rows_ = 0;
};

// Each JSON object becomes one canonical row. Strings are taken as they are; a field that is
// missing or not a string (a number, true/false, null, an array or an object) becomes an empty cell
// named in the domain::kProblemsColumn cell ("first_name:string_type"), so the worker rejects that
// row with the JSON path's type and message and never loads a re-typed value.
//
// The problems column is added only when needed, so a clean upload is stored as plain seven-column
// CSV: the header is decided before the first piece reaches the object writer. Until then rows are
// buffered both with the column (out_) and, while no row has needed it, without (plain_); at the
// end, the seven-column form is kept when no row needed the column. An upload that grows past one
// write piece first commits to the column (a later line might need it; its clean rows get an
// empty cell), so memory stays bounded.
class NdjsonUpload : public StreamingUpload {
 public:
  using StreamingUpload::StreamingUpload;

  Status Feed(std::string_view bytes) override {
    if (auto alive = CheckAlive(); !alive) return alive;
    while (!bytes.empty()) {
      const auto newline = bytes.find('\n');
      if (newline == std::string_view::npos) {
        line_.append(bytes);
        break;
      }
      line_.append(bytes.substr(0, newline));
      bytes.remove_prefix(newline + 1);
      if (auto handled = OnLine(); !handled) return handled;
    }
    return {};
  }

  Result<IngestReceipt> Finish() override {
    if (auto alive = CheckAlive(); !alive) return alive.error();
    if (auto handled = OnLine(); !handled) return handled.error();
    if (!header_written_) WriteHeader(needs_column_);
    return Complete(rows_);
  }

 private:
  Status OnLine() {
    ++line_number_;
    std::string_view line = line_;
    if (line_number_ == 1 && line.starts_with(kUtf8Bom)) line.remove_prefix(kUtf8Bom.size());
    if (line.ends_with('\r')) line.remove_suffix(1);
    if (line.find_first_not_of(" \t\r") == std::string_view::npos) {
      line_.clear();
      return {};
    }
    boost::json::parse_options options;
    options.allow_invalid_utf8 = true;  // the worker reports invalid UTF-8 per row
    boost::system::error_code ec;
    boost::json::value value = boost::json::parse(line, ec, {}, options);
    line_.clear();
    if (ec || !value.is_object()) {
      return Fail(
          InvalidArgument("line " + std::to_string(line_number_) + " is not a JSON object"));
    }
    ToRecord(value.as_object());
    ++rows_;
    if (!header_written_) {
      if (!problems_.empty() && !needs_column_) {
        needs_column_ = true;
        std::string().swap(plain_);
      }
      if (!needs_column_) domain::AppendCsvRecord(record_, plain_);
    }
    domain::AppendCsvRecord(record_, problems_, out_);
    if (!header_written_ && out_.size() >= kUploadWriteBytes) WriteHeader(true);
    return MaybeFlush();
  }

  // Puts the header in front of the buffered rows, with or without the problems column.
  void WriteHeader(bool with_column) {
    std::string csv;
    domain::AppendCsvHeader(csv, with_column);
    csv.append(with_column ? out_ : plain_);
    out_.swap(csv);
    std::string().swap(plain_);
    header_written_ = true;
  }

  // Fills record_ and problems_ (the problems cell) from one JSON object. A repeated key keeps its
  // last value, as on the JSON-array path.
  void ToRecord(const boost::json::object& object) {
    problems_.clear();
    for (std::size_t f = 0; f < domain::kFieldCount; ++f) {
      const auto field = static_cast<domain::Field>(f);
      std::string& cell = record_.at(field);
      cell.clear();
      const boost::json::value* v = object.if_contains(domain::kFieldNames[f]);
      if (v == nullptr) {
        domain::AppendProblemToken(field, domain::StructuralKind::kMissing, problems_);
      } else if (const auto* s = v->if_string()) {
        cell.assign(s->data(), s->size());
      } else {
        domain::AppendProblemToken(field, domain::StructuralKind::kStringType, problems_);
      }
    }
  }

  std::string line_;
  std::int64_t line_number_ = 0;
  domain::VisitRecord record_;
  std::string problems_;
  std::string plain_;  // the buffered rows without the problems column, until the header is written
  bool needs_column_ = false;
  bool header_written_ = false;
  std::int64_t rows_ = 0;
};

}  // namespace

std::unique_ptr<UploadSession> MakeCsvUpload(std::string csv_filename,
                                             std::unique_ptr<ports::ObjectWriter> writer,
                                             RegisterFn register_task) {
  return std::make_unique<CsvUpload>(std::move(csv_filename), std::move(writer),
                                     std::move(register_task));
}

std::unique_ptr<UploadSession> MakeNdjsonUpload(std::string csv_filename,
                                                std::unique_ptr<ports::ObjectWriter> writer,
                                                RegisterFn register_task) {
  return std::make_unique<NdjsonUpload>(std::move(csv_filename), std::move(writer),
                                        std::move(register_task));
}

}  // namespace intake::app
