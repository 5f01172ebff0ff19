#include "domain/csv_codec.hpp"

#include <gtest/gtest.h>

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

// Result<T>::error() needs a default-constructible error type in Boost 1.81; Error is not one.
template <class T>
Error ErrorOf(const Result<T>& r) {
  try {
    r.value();
  } catch (const ErrorException& e) {
    return Error(e.code(), e.what());
  }
  return Internal("no error");
}

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
  EXPECT_EQ(ErrorOf(header).message, "missing column: first_name");
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
  EXPECT_EQ(ErrorOf(header).code, ErrorCode::kInvalidArgument);
  EXPECT_EQ(ErrorOf(header).message, "missing column: visit_date");
}

TEST(CsvHeader, MatchesNamesExactly) {
  std::vector<std::string> names = CanonicalHeader();
  names[0] = "MRN";
  EXPECT_EQ(ErrorOf(CsvHeader::Parse(names)).message, "missing column: mrn");
  names[0] = " mrn";
  EXPECT_EQ(ErrorOf(CsvHeader::Parse(names)).message, "missing column: mrn");
}

TEST(CsvHeader, EmptyHeaderMissesMrn) {
  EXPECT_EQ(ErrorOf(CsvHeader::Parse({})).message, "missing column: mrn");
  EXPECT_EQ(ErrorOf(CsvHeader::Parse({""})).message, "missing column: mrn");
}

TEST(CsvHeader, RejectsDuplicateRequiredColumn) {
  std::vector<std::string> names = CanonicalHeader();
  names.push_back("last_name");
  auto header = CsvHeader::Parse(names);
  ASSERT_FALSE(header.has_value());
  EXPECT_EQ(ErrorOf(header).code, ErrorCode::kInvalidArgument);
  EXPECT_EQ(ErrorOf(header).message, "duplicate column: last_name");
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

}  // namespace
}  // namespace intake::domain
