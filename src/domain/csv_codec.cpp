#include "domain/csv_codec.hpp"

#include <algorithm>
#include <cstring>
#include <utility>

namespace intake::domain {

namespace {

constexpr std::string_view kUtf8Bom = "\xEF\xBB\xBF";

bool NeedsQuotes(std::string_view value) {
  if (value.empty()) return false;
  if (value.front() == ' ' || value.back() == ' ') return true;
  // A plain loop: string_view::find_first_of calls memchr once per byte.
  for (char c : value) {
    if (c == ',' || c == '"' || c == '\r' || c == '\n') return true;
  }
  return false;
}

void AppendField(std::string_view value, std::string& out) {
  if (!NeedsQuotes(value)) {
    out.append(value);
    return;
  }
  out.push_back('"');
  std::size_t start = 0;
  for (std::size_t q = value.find('"'); q != std::string_view::npos; q = value.find('"', start)) {
    out.append(value.substr(start, q + 1 - start));
    out.push_back('"');
    start = q + 1;
  }
  out.append(value.substr(start));
  out.push_back('"');
}

// Bytes that end a run of plain bytes in an unquoted field.
constexpr std::array<bool, 256> MakeUnquotedStops() {
  std::array<bool, 256> stops{};
  stops[static_cast<unsigned char>(',')] = true;
  stops[static_cast<unsigned char>('\r')] = true;
  stops[static_cast<unsigned char>('\n')] = true;
  return stops;
}
constexpr std::array<bool, 256> kUnquotedStops = MakeUnquotedStops();

void AppendFields(const VisitRecord& record, std::string& out) {
  for (std::size_t i = 0; i < kFieldCount; ++i) {
    if (i != 0) out.push_back(',');
    AppendField(record.at(static_cast<Field>(i)), out);
  }
}

std::optional<StructuralKind> KindFromType(std::string_view type) {
  for (const StructuralProblemText& entry : kStructuralProblems) {
    if (entry.type == type) return entry.kind;
  }
  return std::nullopt;
}

}  // namespace

// ---- Problems column --------------------------------------------------------------------------

Problem StructuralProblem(Field field, StructuralKind kind) {
  const StructuralProblemText& text = kStructuralProblems[static_cast<std::size_t>(kind)];
  return Problem{field, std::string(text.type), std::string(text.message)};
}

void AppendProblemToken(Field field, StructuralKind kind, std::string& cell) {
  if (!cell.empty()) cell.push_back(';');
  cell.append(FieldName(field));
  cell.push_back(':');
  cell.append(kStructuralProblems[static_cast<std::size_t>(kind)].type);
}

void ParseProblemsCell(std::string_view cell, std::vector<Problem>& out) {
  if (cell.empty()) return;
  std::array<std::optional<StructuralKind>, kFieldCount> named{};
  bool unreadable = false;
  while (true) {
    const std::size_t end = std::min(cell.find(';'), cell.size());
    const std::string_view token = cell.substr(0, end);
    const std::size_t colon = token.find(':');
    const std::optional<Field> field =
        colon == std::string_view::npos ? std::nullopt : FieldFromName(token.substr(0, colon));
    const std::optional<StructuralKind> kind =
        field ? KindFromType(token.substr(colon + 1)) : std::nullopt;
    if (!field || !kind) {
      unreadable = true;
    } else if (!named[static_cast<std::size_t>(*field)]) {
      named[static_cast<std::size_t>(*field)] = kind;  // one problem per field: the first named
    }
    if (end == cell.size()) break;
    cell.remove_prefix(end + 1);
  }
  if (unreadable) {
    out.push_back(Problem{std::nullopt, "value_error",
                          "unreadable " + std::string(kProblemsColumn) + " cell"});
  }
  for (std::size_t f = 0; f < kFieldCount; ++f) {
    if (named[f]) out.push_back(StructuralProblem(static_cast<Field>(f), *named[f]));
  }
}

// ---- Writing ----------------------------------------------------------------------------------

void AppendCsvHeader(std::string& out, bool with_problems_column) {
  for (std::size_t i = 0; i < kFieldCount; ++i) {
    if (i != 0) out.push_back(',');
    out.append(kFieldNames[i]);
  }
  if (with_problems_column) {
    out.push_back(',');
    out.append(kProblemsColumn);
  }
  out.append("\r\n");
}

void AppendCsvRecord(const VisitRecord& record, std::string& out) {
  AppendFields(record, out);
  out.append("\r\n");
}

void AppendCsvRecord(const VisitRecord& record, std::string_view problems_cell, std::string& out) {
  AppendFields(record, out);
  out.push_back(',');
  AppendField(problems_cell, out);
  out.append("\r\n");
}

// ---- Reading ----------------------------------------------------------------------------------

CsvReader::CsvReader() : row_(1) {}

void CsvReader::Feed(std::string_view bytes) {
  if (finished_) return;
  const char* p = bytes.data();
  const char* const end = p + bytes.size();
  while (p < end) {
    switch (state_) {
      case State::kFieldStart:
        FeedFieldStart(p);
        break;
      case State::kUnquoted:
        FeedUnquoted(p, end);
        break;
      case State::kQuoted:
        FeedQuoted(p, end);
        break;
      case State::kQuoteInQuoted:
        FeedQuoteInQuoted(p);
        break;
      case State::kAfterCr:  // CRLF is one row end: swallow the LF
        if (*p == '\n') ++p;
        state_ = State::kFieldStart;
        break;
    }
  }
}

void CsvReader::FeedFieldStart(const char*& p) {
  switch (*p) {
    case '"':
      ++p;
      row_has_content_ = true;
      quoted_prev_cr_ = false;
      state_ = State::kQuoted;
      break;
    case ',':
      ++p;
      row_has_content_ = true;
      EndField();
      break;
    case '\n':
      ++p;
      EndLine(false);
      break;
    case '\r':
      ++p;
      EndLine(true);
      break;
    default:
      row_has_content_ = true;
      state_ = State::kUnquoted;
      break;
  }
}

void CsvReader::FeedUnquoted(const char*& p, const char* end) {
  const char* q = p;
  while (q < end && !kUnquotedStops[static_cast<unsigned char>(*q)]) ++q;
  row_[row_size_].append(p, q);
  p = q;
  if (p == end) return;
  const char c = *p++;
  if (c == ',') {
    EndField();
    state_ = State::kFieldStart;
  } else {
    EndLine(c == '\r');
  }
}

void CsvReader::FeedQuoted(const char*& p, const char* end) {
  const auto* quote =
      static_cast<const char*>(std::memchr(p, '"', static_cast<std::size_t>(end - p)));
  const char* run_end = quote != nullptr ? quote : end;
  // Line breaks inside a quoted field still advance the physical line (CRLF counts once).
  for (const char* q = p; q < run_end; ++q) {
    const char c = *q;
    if (c == '\n') {
      line_ += quoted_prev_cr_ ? 0 : 1;
    } else if (c == '\r') {
      ++line_;
    }
    quoted_prev_cr_ = c == '\r';
  }
  row_[row_size_].append(p, run_end);
  p = run_end;
  if (quote != nullptr) {
    ++p;
    quoted_prev_cr_ = false;
    state_ = State::kQuoteInQuoted;
  }
}

void CsvReader::FeedQuoteInQuoted(const char*& p) {
  if (*p == '"') {  // a doubled quote stands for one quote
    row_[row_size_].push_back('"');
    ++p;
    state_ = State::kQuoted;
  } else {
    // The quoted part ended. Text before the next delimiter is kept literally (lenient).
    state_ = State::kUnquoted;
  }
}

void CsvReader::EndField() {
  ++row_size_;
  StartField();
}

void CsvReader::StartField() {
  if (row_size_ == row_.size()) {
    row_.emplace_back();
  } else {
    row_[row_size_].clear();
  }
}

void CsvReader::EndLine(bool is_cr) {
  ++line_;
  if (row_has_content_) {
    EndField();
    EndRow();
  }
  current_row_line_ = line_;
  state_ = is_cr ? State::kAfterCr : State::kFieldStart;
}

void CsvReader::EndRow() {
  if (ready_count_ == ready_.size() && ready_head_ > 0) {
    // Slots already pulled are reused before the queue grows, so a caller that pulls as it feeds
    // keeps memory bounded even if it never drains the queue completely.
    const auto head = static_cast<std::ptrdiff_t>(ready_head_);
    const auto count = static_cast<std::ptrdiff_t>(ready_count_);
    std::rotate(ready_.begin(), ready_.begin() + head, ready_.begin() + count);
    std::rotate(ready_lines_.begin(), ready_lines_.begin() + head, ready_lines_.begin() + count);
    ready_count_ -= ready_head_;
    ready_head_ = 0;
  }
  if (ready_count_ == ready_.size()) {
    ready_.emplace_back();
    ready_lines_.push_back(0);
  }
  row_.resize(row_size_);
  ready_[ready_count_].swap(row_);  // row_ now holds a spare vector, reused for the next row
  ready_lines_[ready_count_] = current_row_line_;
  ++ready_count_;
  row_size_ = 0;
  row_has_content_ = false;
  StartField();
}

void CsvReader::Finish() {
  if (finished_) return;
  finished_ = true;
  if (state_ == State::kQuoted) unterminated_quote_ = true;
  if (state_ != State::kAfterCr && row_has_content_) {
    EndField();
    EndRow();
  }
  state_ = State::kFieldStart;
}

bool CsvReader::Next(std::vector<std::string>& fields) {
  if (ready_head_ == ready_count_) return false;
  fields.swap(ready_[ready_head_]);
  row_start_line_ = ready_lines_[ready_head_];
  ++ready_head_;
  if (ready_head_ == ready_count_) ready_head_ = ready_count_ = 0;
  return true;
}

// ---- Header -----------------------------------------------------------------------------------

Result<CsvHeader> CsvHeader::Parse(const std::vector<std::string>& header_row,
                                   ProblemsColumn problems_column) {
  CsvHeader header;
  header.column_count_ = header_row.size();
  std::array<bool, kFieldCount> seen{};
  for (std::size_t i = 0; i < header_row.size(); ++i) {
    std::string_view name = header_row[i];
    if (i == 0 && name.starts_with(kUtf8Bom)) name.remove_prefix(kUtf8Bom.size());
    if (problems_column == ProblemsColumn::kRead && name == kProblemsColumn) {
      if (header.problems_index_) {
        return InvalidArgument("duplicate column: " + std::string(kProblemsColumn));
      }
      header.problems_index_ = i;
      continue;
    }
    const std::optional<Field> field = FieldFromName(name);
    if (!field) continue;  // extra columns are ignored
    const auto f = static_cast<std::size_t>(*field);
    if (seen[f]) return InvalidArgument("duplicate column: " + std::string(kFieldNames[f]));
    seen[f] = true;
    header.index_[f] = i;
  }
  for (std::size_t f = 0; f < kFieldCount; ++f) {
    if (!seen[f]) return InvalidArgument("missing column: " + std::string(kFieldNames[f]));
  }
  return header;
}

bool CsvHeader::ToRecord(std::vector<std::string>& row, VisitRecord& out,
                         std::vector<Problem>& problems) const {
  if (row.size() != column_count_) {
    problems.push_back(Problem{std::nullopt, "row_shape",
                               "expected " + std::to_string(column_count_) + " fields, got " +
                                   std::to_string(row.size())});
    return false;
  }
  for (std::size_t f = 0; f < kFieldCount; ++f) {
    // Swapping keeps both strings' buffers in circulation for the next rows.
    out.at(static_cast<Field>(f)).swap(row[index_[f]]);
  }
  if (problems_index_) ParseProblemsCell(row[*problems_index_], problems);
  return true;
}

}  // namespace intake::domain
