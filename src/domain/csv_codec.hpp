// CSV per RFC 4180, both directions, with no type guessing: every field is text.
// The format Intake writes is described in docs/csv_format.md.
#pragma once

#include <array>
#include <cstddef>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "domain/result.hpp"
#include "domain/validation.hpp"
#include "domain/visit_record.hpp"

namespace intake::domain {

// ---- Writing ----------------------------------------------------------------------------------
// Appends the canonical header line (the seven columns in kFieldNames order) and CRLF.
void AppendCsvHeader(std::string& out);
// Appends one record in canonical column order, CRLF-terminated. A field is quoted when it holds a
// comma, a double quote, CR or LF, or starts/ends with a space; quotes are doubled.
void AppendCsvRecord(const VisitRecord& record, std::string& out);

// ---- Reading ----------------------------------------------------------------------------------
// Incremental RFC 4180 parser: push bytes in chunks of any size (a row, a quoted field or a CRLF
// may span chunks), pull complete rows. Accepts CRLF or LF (and a lone CR) as row ends; quoted
// fields may hold commas, doubled quotes and line breaks. A quote inside an unquoted field is kept
// literally. A line that is entirely empty is skipped (it is not a data row).
// Memory: holds only the unfinished row plus the rows not yet pulled.
// Not thread-safe.
class CsvReader {
 public:
  CsvReader();

  // Appends bytes. REQUIRES: Finish() not yet called.
  void Feed(std::string_view bytes);
  // Marks end of input: the last row needs no line break. After Finish(), an unterminated quoted
  // field yields one final row and sets unterminated_quote().
  void Finish();
  // Moves the next complete row into `fields` (cleared first). False when no complete row is
  // available yet (or, after Finish(), no more rows).
  bool Next(std::vector<std::string>& fields);
  // True when the input ended inside a quoted field.
  bool unterminated_quote() const { return unterminated_quote_; }
  // 1-based physical line on which the most recently returned row started (for diagnostics).
  std::size_t row_start_line() const { return row_start_line_; }

 private:
  enum class State { kFieldStart, kUnquoted, kQuoted, kQuoteInQuoted, kAfterCr };
  void FeedFieldStart(const char*& p);
  void FeedUnquoted(const char*& p, const char* end);
  void FeedQuoted(const char*& p, const char* end);
  void FeedQuoteInQuoted(const char*& p);
  void EndField();
  void StartField();
  void EndLine(bool is_cr);
  void EndRow();

  State state_ = State::kFieldStart;
  bool quoted_prev_cr_ = false;  // inside a quoted field: the last byte was CR (CRLF counts once)
  // The row being built: entries [0, row_size_) are its finished fields and row_[row_size_] the
  // field being read (it always exists); entries beyond keep their capacity for reuse.
  std::vector<std::string> row_;
  std::size_t row_size_ = 0;
  bool row_has_content_ = false;
  // Complete rows [ready_head_, ready_count_) wait to be pulled; slots beyond are spare vectors
  // kept for their capacity.
  std::vector<std::vector<std::string>> ready_;
  std::vector<std::size_t> ready_lines_;
  std::size_t ready_head_ = 0;
  std::size_t ready_count_ = 0;
  std::size_t line_ = 1;
  std::size_t current_row_line_ = 1;
  std::size_t row_start_line_ = 0;
  bool finished_ = false;
  bool unterminated_quote_ = false;
};

// Maps a header row to the seven columns: any order, extra columns ignored, names matched exactly
// (after stripping an optional UTF-8 byte-order mark from the first name).
class CsvHeader {
 public:
  // kInvalidArgument naming the first missing column ("missing column: visit_date") or a column
  // named twice.
  static Result<CsvHeader> Parse(const std::vector<std::string>& header_row);

  // Builds a record from a data row. A row with fewer cells than the header needs gives false and
  // a row-level problem ("expected 7 fields, got 5"); extra cells beyond the header are ignored
  // only when the header had extra columns, otherwise a row with more cells than the header is a
  // row-level problem too.
  bool ToRecord(std::vector<std::string>& row, VisitRecord& out,
                std::vector<Problem>& problems) const;

  std::size_t column_count() const { return column_count_; }

 private:
  std::array<std::size_t, kFieldCount> index_{};
  std::size_t column_count_ = 0;
};

}  // namespace intake::domain
