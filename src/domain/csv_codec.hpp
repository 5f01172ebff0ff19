// CSV per RFC 4180, both directions, with no type guessing: every field is text.
// The format Intake writes is described in docs/csv_format.md.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "domain/result.hpp"
#include "domain/validation.hpp"
#include "domain/visit_record.hpp"

namespace intake::domain {

// ---- Problems column --------------------------------------------------------------------------
// A bulk conversion that cannot represent a field as text (an NDJSON line whose field is missing or
// is not a JSON string) writes an empty cell for it and names the field in an optional eighth
// column, kProblemsColumn, as a value-free list of "field:type" tokens separated by ';'
// ("first_name:string_type;reason:missing"). The worker reports those fields with the type and
// message the JSON-array path of POST /ingest gives. See docs/csv_format.md.
inline constexpr std::string_view kProblemsColumn = "_intake_problems";

enum class StructuralKind : std::uint8_t {
  kMissing,     // the field is absent
  kStringType,  // the field is present but not a string (a number, true/false, null, [..], {..})
};

struct StructuralProblemText {
  StructuralKind kind;
  std::string_view type;     // the token in the problems column and Problem::type
  std::string_view message;  // Problem::message; identical to the JSON path's (Pydantic's)
};

// The one table of structural problem types and messages, indexed by StructuralKind.
inline constexpr std::array<StructuralProblemText, 2> kStructuralProblems = {{
    {StructuralKind::kMissing, "missing", "Field required"},
    {StructuralKind::kStringType, "string_type", "Input should be a valid string"},
}};

// The Problem for `field` of `kind`, with the standard type and message.
Problem StructuralProblem(Field field, StructuralKind kind);

// Appends the token "field:type" to a problems cell, with a ';' before it unless `cell` is empty.
void AppendProblemToken(Field field, StructuralKind kind, std::string& cell);

// Appends the problems a problems cell names, in field order, one per field. An empty cell names
// none. A cell that is not a well-formed list of known tokens gives, in addition to the fields it
// does name, one row-level problem (type "value_error"), so such a row is rejected, never loaded.
void ParseProblemsCell(std::string_view cell, std::vector<Problem>& out);

// ---- Writing ----------------------------------------------------------------------------------
// Appends the canonical header line (the seven columns in kFieldNames order, then kProblemsColumn
// when `with_problems_column`) and CRLF.
void AppendCsvHeader(std::string& out, bool with_problems_column = false);
// Appends one record in canonical column order, CRLF-terminated. A field is quoted when it holds a
// comma, a double quote, CR or LF, or starts/ends with a space; quotes are doubled.
void AppendCsvRecord(const VisitRecord& record, std::string& out);
// The same with an eighth cell, `problems_cell` (empty for a clean row), for a header written with
// the problems column.
void AppendCsvRecord(const VisitRecord& record, std::string_view problems_cell, std::string& out);

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

// Whether CsvHeader::Parse honours a kProblemsColumn column. Only files Intake wrote itself (the
// worker's input) may carry one; in a client's CSV upload it is an ordinary extra column, ignored.
enum class ProblemsColumn : std::uint8_t { kIgnore, kRead };

// Maps a header row to the seven columns: any order, extra columns ignored, names matched exactly
// (after stripping an optional UTF-8 byte-order mark from the first name).
class CsvHeader {
 public:
  // kInvalidArgument naming the first missing column ("missing column: visit_date") or a column
  // named twice (with ProblemsColumn::kRead, kProblemsColumn included).
  static Result<CsvHeader> Parse(const std::vector<std::string>& header_row,
                                 ProblemsColumn problems_column = ProblemsColumn::kIgnore);

  // Builds a record from a data row. A row whose cell count differs from the header's column
  // count gives false and a row-level problem ("expected 7 fields, got 5"). Otherwise true, and
  // when the header has a problems column, the problems its cell names are appended (see
  // ParseProblemsCell): the row is then to be rejected.
  bool ToRecord(std::vector<std::string>& row, VisitRecord& out,
                std::vector<Problem>& problems) const;

  std::size_t column_count() const { return column_count_; }
  bool has_problems_column() const { return problems_index_.has_value(); }

 private:
  std::array<std::size_t, kFieldCount> index_{};
  std::optional<std::size_t> problems_index_;
  std::size_t column_count_ = 0;
};

}  // namespace intake::domain
