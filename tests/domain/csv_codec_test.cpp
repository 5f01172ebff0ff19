#include "domain/csv_codec.hpp"

#include <gtest/gtest.h>

#include <algorithm>
#include <random>
#include <string>
#include <vector>

namespace intake::domain {
namespace {

using Rows = std::vector<std::vector<std::string>>;

struct ReadResult {
  Rows rows;
  std::vector<std::size_t> lines;
  bool unterminated = false;
};

// Feeds `input` in chunks of `chunk` bytes (0 = all at once), pulling rows as they complete.
ReadResult ReadAll(std::string_view input, std::size_t chunk = 0) {
  CsvReader reader;
  ReadResult result;
  std::vector<std::string> fields;
  auto drain = [&] {
    while (reader.Next(fields)) {
      result.rows.push_back(fields);
      result.lines.push_back(reader.row_start_line());
    }
  };
  if (chunk == 0) chunk = input.size() + 1;
  for (std::size_t i = 0; i < input.size(); i += chunk) {
    reader.Feed(input.substr(i, chunk));
    drain();
  }
  reader.Finish();
  drain();
  result.unterminated = reader.unterminated_quote();
  return result;
}

Rows Read(std::string_view input) { return ReadAll(input).rows; }

VisitRecord Record(std::string mrn = "MRN-1") {
  return VisitRecord{std::move(mrn), "John", "Doe", "1990-02-14", "VST-1", "2024-11-01", "Checkup"};
}

std::string EncodedField(std::string_view value) {
  VisitRecord r{std::string(value), "", "", "", "", "", ""};
  std::string out;
  AppendCsvRecord(r, out);
  return out.substr(0, out.size() - std::string_view(",,,,,,\r\n").size());
}

// ---- Writing ----------------------------------------------------------------------------------

TEST(CsvWriter, HeaderIsCanonicalWithCrlf) {
  std::string out;
  AppendCsvHeader(out);
  EXPECT_EQ(out, "mrn,first_name,last_name,birth_date,visit_account_number,visit_date,reason\r\n");
}

TEST(CsvWriter, AppendsInsteadOfReplacing) {
  std::string out = "x";
  AppendCsvRecord(Record(), out);
  EXPECT_EQ(out, "xMRN-1,John,Doe,1990-02-14,VST-1,2024-11-01,Checkup\r\n");
}

TEST(CsvWriter, PlainFieldsAreNotQuoted) {
  for (std::string_view v : {"", "abc", "a b", "00123", "NA", "Zoë", "a\tb", "a'b", "-1.5e3"}) {
    EXPECT_EQ(EncodedField(v), v) << v;
  }
}

TEST(CsvWriter, QuotesFieldsThatNeedIt) {
  const std::pair<std::string_view, std::string_view> cases[] = {
      {"a,b", "\"a,b\""},       {"say \"hi\"", "\"say \"\"hi\"\"\""},
      {"\"", "\"\"\"\""},       {"line1\nline2", "\"line1\nline2\""},
      {"a\r\nb", "\"a\r\nb\""}, {"a\rb", "\"a\rb\""},
      {" lead", "\" lead\""},   {"trail ", "\"trail \""},
      {" ", "\" \""},           {",", "\",\""},
      {"\"\"", "\"\"\"\"\"\""}, {"x\"", "\"x\"\"\""},
  };
  for (auto [value, encoded] : cases) EXPECT_EQ(EncodedField(value), encoded) << value;
}

// ---- Reading ----------------------------------------------------------------------------------

TEST(CsvReader, ReadsLfRows) { EXPECT_EQ(Read("a,b\nc,d\n"), (Rows{{"a", "b"}, {"c", "d"}})); }

TEST(CsvReader, ReadsCrlfRows) {
  EXPECT_EQ(Read("a,b\r\nc,d\r\n"), (Rows{{"a", "b"}, {"c", "d"}}));
}

TEST(CsvReader, ReadsLoneCrRows) { EXPECT_EQ(Read("a,b\rc,d\r"), (Rows{{"a", "b"}, {"c", "d"}})); }

TEST(CsvReader, ReadsMixedLineEnds) {
  EXPECT_EQ(Read("a\r\nb\nc\rd"), (Rows{{"a"}, {"b"}, {"c"}, {"d"}}));
}

TEST(CsvReader, LastRowNeedsNoLineBreak) {
  EXPECT_EQ(Read("a,b\nc,d"), (Rows{{"a", "b"}, {"c", "d"}}));
}

TEST(CsvReader, EmptyInputHasNoRows) {
  EXPECT_TRUE(Read("").empty());
  EXPECT_TRUE(Read("\n\r\n\r").empty());
}

TEST(CsvReader, SkipsEmptyLines) {
  EXPECT_EQ(Read("\n\na,b\n\n\r\nc,d\r\n\r\n\n"), (Rows{{"a", "b"}, {"c", "d"}}));
}

TEST(CsvReader, LineOfCommasIsARowOfEmptyFields) { EXPECT_EQ(Read(",,\n"), (Rows{{"", "", ""}})); }

TEST(CsvReader, EmptyQuotedFieldIsARow) { EXPECT_EQ(Read("\"\"\n"), (Rows{{""}})); }

TEST(CsvReader, TrailingCommaGivesTrailingEmptyField) {
  EXPECT_EQ(Read("a,\nb,"), (Rows{{"a", ""}, {"b", ""}}));
}

TEST(CsvReader, QuotedFieldsHoldDelimitersQuotesAndLineBreaks) {
  EXPECT_EQ(Read("\"a,b\",\"say \"\"hi\"\"\",\"l1\nl2\",\"c1\r\nc2\",\"r\rr\"\r\n"),
            (Rows{{"a,b", "say \"hi\"", "l1\nl2", "c1\r\nc2", "r\rr"}}));
}

TEST(CsvReader, QuotedEmptyLinesAreContent) {
  EXPECT_EQ(Read("\"\n\n\",x\n"), (Rows{{"\n\n", "x"}}));
}

TEST(CsvReader, KeepsWhitespaceAndLeadingZeros) {
  EXPECT_EQ(Read(" a , 00123 ,NA,Null\n"), (Rows{{" a ", " 00123 ", "NA", "Null"}}));
}

TEST(CsvReader, KeepsNonAsciiBytes) {
  EXPECT_EQ(Read("Zoë,山田,\"Ünal, Ö\"\n"), (Rows{{"Zoë", "山田", "Ünal, Ö"}}));
}

TEST(CsvReader, QuoteInsideUnquotedFieldIsLiteral) {
  EXPECT_EQ(Read("ab\"c,d\"\"e\n"), (Rows{{"ab\"c", "d\"\"e"}}));
}

TEST(CsvReader, TextAfterClosingQuoteIsKeptLiterally) {
  EXPECT_EQ(Read("\"ab\"c,\"x\" ,\"q\"\"\"z\"\n"), (Rows{{"abc", "x ", "q\"z\""}}));
}

TEST(CsvReader, UnterminatedQuoteYieldsFinalRow) {
  const ReadResult r = ReadAll("a,b\nc,\"de\nf");
  EXPECT_EQ(r.rows, (Rows{{"a", "b"}, {"c", "de\nf"}}));
  EXPECT_TRUE(r.unterminated);
}

TEST(CsvReader, ClosedQuoteAtEndIsNotUnterminated) {
  const ReadResult r = ReadAll("a,\"b\"");
  EXPECT_EQ(r.rows, (Rows{{"a", "b"}}));
  EXPECT_FALSE(r.unterminated);
}

TEST(CsvReader, LoneQuoteAtEndIsUnterminated) {
  const ReadResult r = ReadAll("a,\"");
  EXPECT_EQ(r.rows, (Rows{{"a", ""}}));
  EXPECT_TRUE(r.unterminated);
}

TEST(CsvReader, RowIsAvailableOnlyOnceItsLineEnds) {
  CsvReader reader;
  std::vector<std::string> fields;
  reader.Feed("a,b");
  EXPECT_FALSE(reader.Next(fields));
  reader.Feed("\nc");
  ASSERT_TRUE(reader.Next(fields));
  EXPECT_EQ(fields, (std::vector<std::string>{"a", "b"}));
  EXPECT_FALSE(reader.Next(fields));
  reader.Finish();
  ASSERT_TRUE(reader.Next(fields));
  EXPECT_EQ(fields, (std::vector<std::string>{"c"}));
  EXPECT_FALSE(reader.Next(fields));
}

TEST(CsvReader, CrAtChunkEndWaitsForPossibleLf) {
  CsvReader reader;
  std::vector<std::string> fields;
  reader.Feed("a\r");
  ASSERT_TRUE(reader.Next(fields));
  reader.Feed("\nb\n");
  ASSERT_TRUE(reader.Next(fields));
  EXPECT_EQ(fields, (std::vector<std::string>{"b"}));
  EXPECT_EQ(reader.row_start_line(), 2u);
  EXPECT_FALSE(reader.Next(fields));
}

TEST(CsvReader, NextReplacesPreviousContents) {
  CsvReader reader;
  std::vector<std::string> fields = {"old", "stuff", "here"};
  reader.Feed("x\n");
  ASSERT_TRUE(reader.Next(fields));
  EXPECT_EQ(fields, (std::vector<std::string>{"x"}));
}

TEST(CsvReader, ManyRowsBeforePullingAreKeptInOrder) {
  std::string input;
  for (int i = 0; i < 1000; ++i) input += std::to_string(i) + ",\"v" + std::to_string(i) + "\"\n";
  const Rows rows = Read(input);
  ASSERT_EQ(rows.size(), 1000u);
  for (int i = 0; i < 1000; ++i) {
    EXPECT_EQ(rows[static_cast<std::size_t>(i)],
              (std::vector<std::string>{std::to_string(i), "v" + std::to_string(i)}));
  }
}

TEST(CsvReader, PullingOneRowPerFeedKeepsOrder) {
  CsvReader reader;
  std::vector<std::string> fields;
  std::vector<std::string> pulled;
  for (int i = 0; i < 100; ++i) {
    reader.Feed(std::to_string(2 * i) + "\n" + std::to_string(2 * i + 1) + "\n");
    ASSERT_TRUE(reader.Next(fields));
    pulled.push_back(fields.at(0));
  }
  reader.Finish();
  while (reader.Next(fields)) pulled.push_back(fields.at(0));
  ASSERT_EQ(pulled.size(), 200u);
  for (int i = 0; i < 200; ++i) EXPECT_EQ(pulled[static_cast<std::size_t>(i)], std::to_string(i));
}

TEST(CsvReader, ReportsRowStartLines) {
  const ReadResult r = ReadAll("h1,h2\r\n\r\n\"multi\r\nline\",x\n\"a\nb\rc\",y\nlast,z");
  ASSERT_EQ(r.rows.size(), 4u);
  EXPECT_EQ(r.lines, (std::vector<std::size_t>{1, 3, 5, 8}));
}

TEST(CsvReader, FeedAfterFinishIsIgnored) {
  CsvReader reader;
  std::vector<std::string> fields;
  reader.Feed("a");
  reader.Finish();
  reader.Feed("b\n");
  ASSERT_TRUE(reader.Next(fields));
  EXPECT_EQ(fields, (std::vector<std::string>{"a"}));
  EXPECT_FALSE(reader.Next(fields));
}

const std::string kTricky =
    "\xEF\xBB\xBFmrn,first_name\r\n"
    "\"a,\"\"b\"\"\r\nc\",\"\"\"\"\r\n"
    "\r\n"
    "x\"y,\"q\"z\n"
    "\"\",\r"
    "Zoë,\"山\r田\"\r\n"
    ",\n"
    "\"end\"\"\"";

TEST(CsvReader, SameRowsForEveryChunkSize) {
  const ReadResult whole = ReadAll(kTricky);
  ASSERT_EQ(whole.rows.size(), 7u);
  EXPECT_EQ(whole.rows[1], (std::vector<std::string>{"a,\"b\"\r\nc", "\""}));
  for (std::size_t chunk = 1; chunk <= kTricky.size(); ++chunk) {
    const ReadResult r = ReadAll(kTricky, chunk);
    EXPECT_EQ(r.rows, whole.rows) << "chunk " << chunk;
    EXPECT_EQ(r.lines, whole.lines) << "chunk " << chunk;
    EXPECT_EQ(r.unterminated, whole.unterminated);
  }
}

TEST(CsvReader, SameRowsWhenSplitAtEveryPosition) {
  const ReadResult whole = ReadAll(kTricky);
  for (std::size_t split = 0; split <= kTricky.size(); ++split) {
    CsvReader reader;
    Rows rows;
    std::vector<std::string> fields;
    reader.Feed(std::string_view(kTricky).substr(0, split));
    while (reader.Next(fields)) rows.push_back(fields);
    reader.Feed(std::string_view(kTricky).substr(split));
    reader.Finish();
    while (reader.Next(fields)) rows.push_back(fields);
    EXPECT_EQ(rows, whole.rows) << "split at " << split;
  }
}

// ---- Header -----------------------------------------------------------------------------------

std::vector<std::string> CanonicalHeader() { return {kFieldNames.begin(), kFieldNames.end()}; }

TEST(CsvHeader, ParsesCanonicalHeader) {
  auto header = CsvHeader::Parse(CanonicalHeader());
  ASSERT_TRUE(header.has_value());
  EXPECT_EQ(header->column_count(), 7u);
}

TEST(CsvHeader, ParsesWhatTheWriterWrites) {
  std::string out;
  AppendCsvHeader(out);
  const Rows rows = Read(out);
  ASSERT_EQ(rows.size(), 1u);
  EXPECT_TRUE(CsvHeader::Parse(rows[0]).has_value());
}

TEST(CsvHeader, MapsColumnsInAnyOrder) {
  auto header = CsvHeader::Parse({"reason", "visit_date", "visit_account_number", "birth_date",
                                  "last_name", "first_name", "mrn"});
  ASSERT_TRUE(header.has_value());
  std::vector<std::string> row = {"r", "vd", "van", "bd", "ln", "fn", "m"};
  VisitRecord record;
  std::vector<Problem> problems;
  ASSERT_TRUE(header->ToRecord(row, record, problems));
  EXPECT_TRUE(problems.empty());
  EXPECT_EQ(record, (VisitRecord{"m", "fn", "ln", "bd", "van", "vd", "r"}));
}

TEST(CsvHeader, StripsByteOrderMarkFromFirstColumn) {
  std::vector<std::string> names = CanonicalHeader();
  names[0] = "\xEF\xBB\xBFmrn";
  EXPECT_TRUE(CsvHeader::Parse(names).has_value());
}

TEST(CsvHeader, ByteOrderMarkOnlyStrippedFromFirstColumn) {
  std::vector<std::string> names = CanonicalHeader();
  names[1] =
      "\xEF\xBB\xBF"
      "first_name";
  auto header = CsvHeader::Parse(names);
  ASSERT_FALSE(header.has_value());
  EXPECT_EQ(header.error().message, "missing column: first_name");
}

TEST(CsvHeader, IgnoresExtraColumns) {
  auto header = CsvHeader::Parse({"extra", "mrn", "first_name", "last_name", "birth_date", "note",
                                  "visit_account_number", "visit_date", "reason", "MRN"});
  ASSERT_TRUE(header.has_value());
  EXPECT_EQ(header->column_count(), 10u);
  std::vector<std::string> row = {"e", "m", "fn", "ln", "bd", "n", "van", "vd", "r", "M"};
  VisitRecord record;
  std::vector<Problem> problems;
  ASSERT_TRUE(header->ToRecord(row, record, problems));
  EXPECT_EQ(record, (VisitRecord{"m", "fn", "ln", "bd", "van", "vd", "r"}));
}

TEST(CsvHeader, NamesTheFirstMissingColumn) {
  std::vector<std::string> names = CanonicalHeader();
  names.erase(names.begin() + 5);  // visit_date
  auto header = CsvHeader::Parse(names);
  ASSERT_FALSE(header.has_value());
  EXPECT_EQ(header.error().code, ErrorCode::kInvalidArgument);
  EXPECT_EQ(header.error().message, "missing column: visit_date");
}

TEST(CsvHeader, MatchesNamesExactly) {
  std::vector<std::string> names = CanonicalHeader();
  names[0] = "MRN";
  EXPECT_EQ((CsvHeader::Parse(names)).error().message, "missing column: mrn");
  names[0] = " mrn";
  EXPECT_EQ((CsvHeader::Parse(names)).error().message, "missing column: mrn");
}

TEST(CsvHeader, EmptyHeaderMissesMrn) {
  EXPECT_EQ((CsvHeader::Parse({})).error().message, "missing column: mrn");
  EXPECT_EQ((CsvHeader::Parse({""})).error().message, "missing column: mrn");
}

TEST(CsvHeader, RejectsDuplicateRequiredColumn) {
  std::vector<std::string> names = CanonicalHeader();
  names.push_back("last_name");
  auto header = CsvHeader::Parse(names);
  ASSERT_FALSE(header.has_value());
  EXPECT_EQ(header.error().code, ErrorCode::kInvalidArgument);
  EXPECT_EQ(header.error().message, "duplicate column: last_name");
}

TEST(CsvHeader, FewerCellsIsARowLevelProblem) {
  auto header = CsvHeader::Parse(CanonicalHeader());
  std::vector<std::string> row = {"a", "b", "c", "d", "e"};
  VisitRecord record;
  std::vector<Problem> problems;
  EXPECT_FALSE(header->ToRecord(row, record, problems));
  ASSERT_EQ(problems.size(), 1u);
  EXPECT_FALSE(problems[0].field.has_value());
  EXPECT_EQ(problems[0].type, "row_shape");
  EXPECT_EQ(problems[0].message, "expected 7 fields, got 5");
}

TEST(CsvHeader, MoreCellsIsARowLevelProblem) {
  auto header = CsvHeader::Parse(CanonicalHeader());
  std::vector<std::string> row = {"a", "b", "c", "d", "e", "f", "g", "h"};
  VisitRecord record;
  std::vector<Problem> problems;
  EXPECT_FALSE(header->ToRecord(row, record, problems));
  ASSERT_EQ(problems.size(), 1u);
  EXPECT_FALSE(problems[0].field.has_value());
  EXPECT_EQ(problems[0].message, "expected 7 fields, got 8");
}

TEST(CsvHeader, RowShapeCountsAgainstAWiderHeader) {
  std::vector<std::string> names = CanonicalHeader();
  names.push_back("extra");
  auto header = CsvHeader::Parse(names);
  std::vector<std::string> row = {"a", "b", "c", "d", "e", "f", "g"};
  VisitRecord record;
  std::vector<Problem> problems;
  EXPECT_FALSE(header->ToRecord(row, record, problems));
  ASSERT_EQ(problems.size(), 1u);
  EXPECT_EQ(problems[0].message, "expected 8 fields, got 7");
}

// ---- Round trip -------------------------------------------------------------------------------

std::vector<VisitRecord> TrickyRecords() {
  return {
      Record(),
      {"00123", "NA", "Null", "1990-02-14", "V,1", "2024-11-01", "a, b, c"},
      {"\"quoted\"", "O\"Brien", "x\"\"y", "d", "\"", "\"\"", "say \"hi\", bye"},
      {"m\r\n1", "line1\nline2", "cr\ronly", "", "v", "", "multi\r\n\r\nline\n"},
      {" lead", "trail ", " ", "  both  ", "\tTab", "v ", " r"},
      {"Zoë", "山田", "Δημήτρης", "Иван", "😀", "Ünal, Ö", "ß"},
      {"", "", "", "", "", "", ""},
      {"\xEF\xBB\xBF"
       "bom",
       "a,\"\r\n", ",", "\n", "\r", "\"\r\n\"", ","},
  };
}

TEST(CsvRoundTrip, ReadingWhatTheWriterWroteGivesTheSameRecords) {
  const std::vector<VisitRecord> records = TrickyRecords();
  std::string csv;
  AppendCsvHeader(csv);
  for (const VisitRecord& r : records) AppendCsvRecord(r, csv);
  for (std::size_t chunk : {0, 1, 2, 3, 7, 64}) {
    const ReadResult read = ReadAll(csv, chunk);
    ASSERT_EQ(read.rows.size(), records.size() + 1) << "chunk " << chunk;
    EXPECT_FALSE(read.unterminated);
    auto header = CsvHeader::Parse(read.rows[0]);
    ASSERT_TRUE(header.has_value());
    for (std::size_t i = 0; i < records.size(); ++i) {
      std::vector<std::string> row = read.rows[i + 1];
      VisitRecord record;
      std::vector<Problem> problems;
      ASSERT_TRUE(header->ToRecord(row, record, problems)) << "record " << i;
      EXPECT_EQ(record, records[i]) << "record " << i << " chunk " << chunk;
    }
  }
}

TEST(CsvRoundTrip, ReusedBuffersKeepRecordsIntact) {
  const std::vector<VisitRecord> records = TrickyRecords();
  std::string csv;
  AppendCsvHeader(csv);
  for (int pass = 0; pass < 3; ++pass) {
    for (const VisitRecord& r : records) AppendCsvRecord(r, csv);
  }
  CsvReader reader;
  reader.Feed(csv);
  reader.Finish();
  std::vector<std::string> row;
  ASSERT_TRUE(reader.Next(row));
  auto header = CsvHeader::Parse(row);
  ASSERT_TRUE(header.has_value());
  VisitRecord record;  // reused on purpose, as a loader would
  std::vector<Problem> problems;
  for (std::size_t i = 0; i < 3 * records.size(); ++i) {
    ASSERT_TRUE(reader.Next(row));
    ASSERT_TRUE(header->ToRecord(row, record, problems));
    EXPECT_EQ(record, records[i % records.size()]) << i;
  }
  EXPECT_FALSE(reader.Next(row));
}

TEST(CsvRoundTrip, RandomRecordsSurviveRandomChunking) {
  std::mt19937 rng(20240615);
  const std::vector<std::string> pieces = {"a",  "Z", " ",  ",", "\"",   "\r", "\n", "\r\n",
                                           "\t", "é", "山", "😀", "\"\"", "0",  ""};
  auto random_value = [&] {
    std::string value;
    const std::size_t n = rng() % 8;
    for (std::size_t i = 0; i < n; ++i) value += pieces[rng() % pieces.size()];
    return value;
  };
  std::vector<VisitRecord> records(200);
  std::string csv;
  AppendCsvHeader(csv);
  for (VisitRecord& r : records) {
    for (std::size_t f = 0; f < kFieldCount; ++f) r.at(static_cast<Field>(f)) = random_value();
    AppendCsvRecord(r, csv);
  }
  CsvReader reader;
  for (std::size_t i = 0; i < csv.size();) {
    const std::size_t n = 1 + rng() % 13;
    reader.Feed(std::string_view(csv).substr(i, n));
    i += n;
  }
  reader.Finish();
  EXPECT_FALSE(reader.unterminated_quote());
  std::vector<std::string> row;
  ASSERT_TRUE(reader.Next(row));
  auto header = CsvHeader::Parse(row);
  ASSERT_TRUE(header.has_value());
  for (std::size_t i = 0; i < records.size(); ++i) {
    ASSERT_TRUE(reader.Next(row)) << i;
    VisitRecord record;
    std::vector<Problem> problems;
    ASSERT_TRUE(header->ToRecord(row, record, problems)) << i;
    EXPECT_EQ(record, records[i]) << i;
  }
  EXPECT_FALSE(reader.Next(row));
}

TEST(CsvReader, RandomBytesParseTheSameInAnyChunking) {
  std::mt19937 rng(7);
  const char alphabet[] = {'a', ',', '"', '\r', '\n', ' ', '\xC3', '\xA9'};
  for (int trial = 0; trial < 200; ++trial) {
    std::string input;
    const std::size_t n = rng() % 64;
    for (std::size_t i = 0; i < n; ++i) input.push_back(alphabet[rng() % sizeof(alphabet)]);
    const ReadResult whole = ReadAll(input);
    for (std::size_t chunk : {1, 2, 3, 5}) {
      const ReadResult r = ReadAll(input, chunk);
      ASSERT_EQ(r.rows, whole.rows) << ::testing::PrintToString(input) << " chunk " << chunk;
      ASSERT_EQ(r.lines, whole.lines) << ::testing::PrintToString(input);
      ASSERT_EQ(r.unterminated, whole.unterminated) << ::testing::PrintToString(input);
    }
  }
}

// ---- Problems column --------------------------------------------------------------------------

std::vector<std::string> HeaderWithProblems() {
  std::vector<std::string> names = CanonicalHeader();
  names.emplace_back(kProblemsColumn);
  return names;
}

std::vector<std::string> RowWithProblems(std::string cell) {
  return {"m", "fn", "ln", "bd", "van", "vd", "r", std::move(cell)};
}

// The problems ToRecord gives for `cell` under a header with the problems column.
std::vector<Problem> CellProblems(std::string cell) {
  auto header = CsvHeader::Parse(HeaderWithProblems(), ProblemsColumn::kRead);
  EXPECT_TRUE(header.has_value());
  std::vector<std::string> row = RowWithProblems(std::move(cell));
  VisitRecord record;
  std::vector<Problem> problems;
  EXPECT_TRUE(header->ToRecord(row, record, problems));
  EXPECT_EQ(record, (VisitRecord{"m", "fn", "ln", "bd", "van", "vd", "r"}));
  return problems;
}

TEST(ProblemsColumn, StructuralMessagesAreThoseOfTheJsonPath) {
  const Problem missing = StructuralProblem(Field::kVisitDate, StructuralKind::kMissing);
  EXPECT_EQ(missing.field, Field::kVisitDate);
  EXPECT_EQ(missing.type, "missing");
  EXPECT_EQ(missing.message, "Field required");
  const Problem not_string = StructuralProblem(Field::kMrn, StructuralKind::kStringType);
  EXPECT_EQ(not_string.field, Field::kMrn);
  EXPECT_EQ(not_string.type, "string_type");
  EXPECT_EQ(not_string.message, "Input should be a valid string");
}

TEST(ProblemsColumn, TokensAreFieldColonTypeSeparatedBySemicolons) {
  std::string cell;
  AppendProblemToken(Field::kFirstName, StructuralKind::kStringType, cell);
  EXPECT_EQ(cell, "first_name:string_type");
  AppendProblemToken(Field::kReason, StructuralKind::kMissing, cell);
  EXPECT_EQ(cell, "first_name:string_type;reason:missing");
}

TEST(ProblemsColumn, HeaderWithoutTheColumnHasNone) {
  auto header = CsvHeader::Parse(CanonicalHeader(), ProblemsColumn::kRead);
  ASSERT_TRUE(header.has_value());
  EXPECT_FALSE(header->has_problems_column());
  EXPECT_EQ(header->column_count(), 7u);
}

TEST(ProblemsColumn, HeaderWithTheColumnIsReadWhenAsked) {
  std::vector<std::string> names = HeaderWithProblems();
  std::rotate(names.begin(), names.begin() + 3, names.end());  // any position
  auto header = CsvHeader::Parse(names, ProblemsColumn::kRead);
  ASSERT_TRUE(header.has_value());
  EXPECT_TRUE(header->has_problems_column());
  EXPECT_EQ(header->column_count(), 8u);
}

TEST(ProblemsColumn, ByDefaultTheColumnIsAnOrdinaryExtraColumn) {
  auto header = CsvHeader::Parse(HeaderWithProblems());
  ASSERT_TRUE(header.has_value());
  EXPECT_FALSE(header->has_problems_column());
  EXPECT_EQ(header->column_count(), 8u);
  std::vector<std::string> row = RowWithProblems("mrn:missing;bogus");
  VisitRecord record;
  std::vector<Problem> problems;
  ASSERT_TRUE(header->ToRecord(row, record, problems));
  EXPECT_TRUE(problems.empty());
  EXPECT_EQ(record, (VisitRecord{"m", "fn", "ln", "bd", "van", "vd", "r"}));
}

TEST(ProblemsColumn, NamedTwiceIsADuplicateColumn) {
  std::vector<std::string> names = HeaderWithProblems();
  names.emplace_back(kProblemsColumn);
  auto header = CsvHeader::Parse(names, ProblemsColumn::kRead);
  ASSERT_FALSE(header.has_value());
  EXPECT_EQ(header.error().message, "duplicate column: _intake_problems");
  EXPECT_TRUE(CsvHeader::Parse(names).has_value());  // ignored: extra columns may repeat
}

TEST(ProblemsColumn, EmptyCellIsACleanRow) { EXPECT_TRUE(CellProblems("").empty()); }

TEST(ProblemsColumn, NamedFieldsBecomeProblemsInFieldOrder) {
  const std::vector<Problem> problems = CellProblems("reason:missing;first_name:string_type");
  ASSERT_EQ(problems.size(), 2u);
  EXPECT_EQ(problems[0].field, Field::kFirstName);
  EXPECT_EQ(problems[0].type, "string_type");
  EXPECT_EQ(problems[0].message, "Input should be a valid string");
  EXPECT_EQ(problems[1].field, Field::kReason);
  EXPECT_EQ(problems[1].type, "missing");
  EXPECT_EQ(problems[1].message, "Field required");
}

TEST(ProblemsColumn, AFieldNamedTwiceGivesOneProblem) {
  const std::vector<Problem> problems = CellProblems("mrn:missing;mrn:string_type");
  ASSERT_EQ(problems.size(), 1u);
  EXPECT_EQ(problems[0].field, Field::kMrn);
  EXPECT_EQ(problems[0].type, "missing");
}

TEST(ProblemsColumn, UnreadableTokensGiveOneRowLevelProblem) {
  for (const char* cell :
       {"x", ";", "mrn", "mrn:", ":missing", "mrn:bogus", "MRN:missing", "nope:missing",
        "mrn:missing;", " mrn:missing", "mrn:missing;;reason:missing", "mrn:missing:x",
        "reason:missing;visit_date:nope;first_name:Missing"}) {
    SCOPED_TRACE(cell);
    const std::vector<Problem> problems = CellProblems(cell);
    ASSERT_FALSE(problems.empty());
    EXPECT_FALSE(problems[0].field.has_value());
    EXPECT_EQ(problems[0].type, "value_error");
    EXPECT_EQ(problems[0].message, "unreadable _intake_problems cell");
    for (std::size_t i = 1; i < problems.size(); ++i) {
      EXPECT_TRUE(problems[i].field.has_value());  // the tokens that could be read
    }
  }
  const std::vector<Problem> mixed = CellProblems("reason:missing;bogus;mrn:string_type");
  ASSERT_EQ(mixed.size(), 3u);
  EXPECT_FALSE(mixed[0].field.has_value());
  EXPECT_EQ(mixed[1].field, Field::kMrn);
  EXPECT_EQ(mixed[2].field, Field::kReason);
}

TEST(ProblemsColumn, RowWithoutTheProblemsCellIsARowShapeProblem) {
  auto header = CsvHeader::Parse(HeaderWithProblems(), ProblemsColumn::kRead);
  ASSERT_TRUE(header.has_value());
  std::vector<std::string> row = {"m", "fn", "ln", "bd", "van", "vd", "r"};
  VisitRecord record;
  std::vector<Problem> problems;
  EXPECT_FALSE(header->ToRecord(row, record, problems));
  ASSERT_EQ(problems.size(), 1u);
  EXPECT_EQ(problems[0].type, "row_shape");
  EXPECT_EQ(problems[0].message, "expected 8 fields, got 7");
}

TEST(ProblemsColumn, WriterAndReaderRoundTrip) {
  std::string csv;
  AppendCsvHeader(csv, true);
  EXPECT_EQ(
      csv, std::string("mrn,first_name,last_name,birth_date,visit_account_number,visit_date,reason,"
                       "_intake_problems\r\n"));
  const VisitRecord clean = Record("M1");
  VisitRecord bad = Record("M2");
  bad.last_name.clear();
  std::string cell;
  AppendProblemToken(Field::kLastName, StructuralKind::kStringType, cell);
  AppendCsvRecord(clean, "", csv);
  AppendCsvRecord(bad, cell, csv);
  EXPECT_NE(csv.find("\r\nM1,John,Doe,1990-02-14,VST-1,2024-11-01,Checkup,\r\n"),
            std::string::npos);
  EXPECT_NE(csv.find("\r\nM2,John,,1990-02-14,VST-1,2024-11-01,Checkup,last_name:string_type\r\n"),
            std::string::npos);

  const Rows rows = Read(csv);
  ASSERT_EQ(rows.size(), 3u);
  auto header = CsvHeader::Parse(rows[0], ProblemsColumn::kRead);
  ASSERT_TRUE(header.has_value());
  VisitRecord record;
  std::vector<Problem> problems;
  std::vector<std::string> row = rows[1];
  ASSERT_TRUE(header->ToRecord(row, record, problems));
  EXPECT_EQ(record, clean);
  EXPECT_TRUE(problems.empty());
  row = rows[2];
  ASSERT_TRUE(header->ToRecord(row, record, problems));
  EXPECT_EQ(record, bad);
  ASSERT_EQ(problems.size(), 1u);
  EXPECT_EQ(problems[0].field, Field::kLastName);
  EXPECT_EQ(problems[0].message, "Input should be a valid string");
}

}  // namespace
}  // namespace intake::domain
