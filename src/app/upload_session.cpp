#include "app/upload_session.hpp"

#include <spdlog/spdlog.h>

#include <boost/json.hpp>
#include <optional>
#include <utility>
#include <vector>

#include "app/result_util.hpp"
#include "domain/csv_codec.hpp"

namespace intake::app {
namespace {

constexpr std::string_view kUtf8Bom = "\xEF\xBB\xBF";

// The quoting rule of domain::AppendCsvRecord, for cells that do not form a record.
void AppendCell(std::string_view cell, std::string& out, bool leave_open = false) {
  const bool quote = leave_open || cell.find_first_of(",\"\r\n") != std::string_view::npos ||
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
  if (!leave_open) out.push_back('"');
}

// A CSV data row that cannot be mapped to a record is stored so that the worker rejects that row
// and only that row: its cells as they came (one empty cell added if their count happens to match
// the canonical seven, so the worker sees a row-shape problem), or, for input that ended inside a
// quoted field, with its last field left open so the worker sees the same unterminated quote.
void AppendUnmappedRow(std::vector<std::string>& cells, bool unterminated, std::string& out) {
  if (!unterminated && cells.size() == domain::kFieldCount) cells.emplace_back();
  for (std::size_t i = 0; i < cells.size(); ++i) {
    if (i > 0) out.push_back(',');
    AppendCell(cells[i], out, unterminated && i + 1 == cells.size());
  }
  if (!unterminated) out.append("\r\n");
}

// Buffers canonical CSV output, hands it to the object writer in ~1 MiB pieces, and ends in
// commit + register. Any failure kills the session and discards the object.
class StreamingUpload : public UploadSession {
 public:
  StreamingUpload(std::string csv_filename, std::unique_ptr<ports::ObjectWriter> writer,
                  RegisterFn register_task)
      : filename_(std::move(csv_filename)),
        writer_(std::move(writer)),
        register_(std::move(register_task)) {
    domain::AppendCsvHeader(out_);
  }

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
    if (auto flushed = Flush(); !flushed) return ErrorOf(flushed);
    if (auto committed = writer_->Commit(); !committed) {
      spdlog::warn("ingest: committing {} failed", filename_);
      return Fail(ErrorOf(committed));
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
      return Fail(ErrorOf(written));
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

class CsvUpload : public StreamingUpload {
 public:
  using StreamingUpload::StreamingUpload;

  Status Feed(std::string_view bytes) override {
    if (auto alive = CheckAlive(); !alive) return alive;
    FeedReader(bytes);
    while (reader_.Next(row_)) {
      if (auto handled = OnRow(row_, false); !handled) return handled;
    }
    return {};
  }

  Result<IngestReceipt> Finish() override {
    if (auto alive = CheckAlive(); !alive) return ErrorOf(alive);
    if (!bom_done_) reader_.Feed(head_);  // a body shorter than a BOM
    reader_.Finish();
    // One row of lookahead: only the very last row can end inside a quoted field.
    bool have = reader_.Next(row_);
    while (have) {
      std::vector<std::string> next;
      const bool more = reader_.Next(next);
      if (auto handled = OnRow(row_, !more && reader_.unterminated_quote()); !handled) {
        return ErrorOf(handled);
      }
      row_.swap(next);
      have = more;
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

  Status OnRow(std::vector<std::string>& row, bool unterminated) {
    if (!header_) {
      auto header = domain::CsvHeader::Parse(row);
      if (!header) return Fail(ErrorOf(header));
      header_ = *header;
      return {};
    }
    ++rows_;
    problems_.clear();
    if (!unterminated && header_->ToRecord(row, record_, problems_)) {
      domain::AppendCsvRecord(record_, out_);
    } else {
      AppendUnmappedRow(row, unterminated, out_);
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
    if (auto alive = CheckAlive(); !alive) return ErrorOf(alive);
    if (auto handled = OnLine(); !handled) return ErrorOf(handled);
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
    domain::AppendCsvRecord(record_, out_);
    ++rows_;
    return MaybeFlush();
  }

  // Strings are taken as they are; a missing field or null is an empty cell; any other value is
  // its JSON text (the worker then judges it by the field rules).
  void ToRecord(const boost::json::object& object) {
    for (std::size_t f = 0; f < domain::kFieldCount; ++f) {
      std::string& cell = record_.at(static_cast<domain::Field>(f));
      cell.clear();
      const boost::json::value* v = object.if_contains(domain::kFieldNames[f]);
      if (v == nullptr || v->is_null()) continue;
      if (const auto* s = v->if_string()) {
        cell.assign(s->data(), s->size());
      } else {
        cell = boost::json::serialize(*v);
      }
    }
  }

  std::string line_;
  std::int64_t line_number_ = 0;
  domain::VisitRecord record_;
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
