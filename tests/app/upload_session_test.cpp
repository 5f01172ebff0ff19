#include <gtest/gtest.h>

#include <string>

#include "app/ingest_service.hpp"
#include "app/test_util.hpp"

namespace intake::app::testing {
namespace {

constexpr char kHeader[] =
    "mrn,first_name,last_name,birth_date,visit_account_number,visit_date,reason\r\n";

class UploadTest : public ::testing::Test {
 protected:
  FakeWorld w;
  IngestService service{w.objects, w.tasks, w.queue, w.clock, w.ids, w.metrics};

  // Feeds `body` in chunks of `chunk` bytes (0 = all at once) and finishes.
  Result<IngestReceipt> Upload(UploadFormat format, std::string_view body, std::size_t chunk = 0) {
    auto session = service.BeginUpload(format);
    if (!session) return session.error();
    if (chunk == 0) chunk = body.size() + 1;
    for (std::size_t at = 0; at < body.size(); at += chunk) {
      if (auto fed = (*session)->Feed(body.substr(at, chunk)); !fed) return fed.error();
    }
    return (*session)->Finish();
  }

  std::string Stored(const IngestReceipt& receipt) {
    return w.objects.Object(receipt.csv_filename).value_or("<missing>");
  }

  void ExpectNothingStored() {
    EXPECT_EQ(w.objects.ObjectCount(), 0u);
    EXPECT_EQ(w.objects.OpenWriters(), 0);
    EXPECT_EQ(w.tasks.TaskCount(), 0u);
    EXPECT_TRUE(w.queue.Pending().empty());
  }
};

TEST_F(UploadTest, CsvInCanonicalOrderIsStoredAsIs) {
  const std::string body = CsvOf({Record(1), Record(2)});
  auto receipt = Upload(UploadFormat::kCsv, body);
  ASSERT_OK(receipt);
  EXPECT_EQ(receipt->records_received, 2);
  EXPECT_EQ(Stored(*receipt), body);
  EXPECT_EQ(w.queue.Pending(), std::vector<std::string>{receipt->task_id});
  EXPECT_EQ(w.tasks.Task(receipt->task_id)->records_received, 2);
  EXPECT_EQ(w.metrics.accepted, 2);
}

TEST_F(UploadTest, CsvColumnsInAnyOrderWithExtraColumnAreReordered) {
  const std::string body =
      "reason,visit_date,extra,visit_account_number,birth_date,last_name,first_name,mrn\n"
      "\"Hi, there\",2024-11-01,ignored,VST-1,1990-02-14,Doe,John,00123\n";
  auto receipt = Upload(UploadFormat::kCsv, body);
  ASSERT_OK(receipt);
  EXPECT_EQ(Stored(*receipt),
            std::string(kHeader) + "00123,John,Doe,1990-02-14,VST-1,2024-11-01,\"Hi, there\"\r\n");
}

TEST_F(UploadTest, CsvByteOrderMarkIsStrippedEvenWhenSplit) {
  const std::string body = "\xEF\xBB\xBF" + CsvOf({Record(1)});
  for (std::size_t chunk : {0, 1, 2}) {
    auto receipt = Upload(UploadFormat::kCsv, body, chunk);
    ASSERT_OK(receipt);
    EXPECT_EQ(Stored(*receipt), CsvOf({Record(1)})) << "chunk " << chunk;
  }
}

TEST_F(UploadTest, CsvChunkSplitsDoNotMatter) {
  auto record = Record(1);
  record.reason = "line one\r\nline \"two\", end";
  const std::string body = CsvOf({record, Record(2), Record(3)});
  for (std::size_t chunk : {1, 3, 7, 64}) {
    auto receipt = Upload(UploadFormat::kCsv, body, chunk);
    ASSERT_OK(receipt);
    EXPECT_EQ(receipt->records_received, 3);
    EXPECT_EQ(Stored(*receipt), body) << "chunk " << chunk;
  }
}

TEST_F(UploadTest, CsvMissingColumnFailsAndStoresNothing) {
  const std::string body =
      "mrn,first_name,last_name,birth_date,visit_account_number,reason\n"
      "1,a,b,1990-01-01,V,x\n";
  auto receipt = Upload(UploadFormat::kCsv, body);
  EXPECT_EQ(CodeOf(receipt), ErrorCode::kInvalidArgument);
  EXPECT_EQ(receipt.error().message, "missing column: visit_date");
  ExpectNothingStored();
}

TEST_F(UploadTest, CsvMissingColumnIsReportedByFeedAndTheSessionStaysDead) {
  auto session = service.BeginUpload(UploadFormat::kCsv);
  ASSERT_OK(session);
  EXPECT_EQ(CodeOf((*session)->Feed("mrn,first_name\n")), ErrorCode::kInvalidArgument);
  EXPECT_EQ(CodeOf((*session)->Feed(CsvOf({Record(1)}))), ErrorCode::kInvalidArgument);
  EXPECT_EQ(CodeOf((*session)->Finish()), ErrorCode::kInvalidArgument);
  session->reset();
  ExpectNothingStored();
}

TEST_F(UploadTest, CsvWithoutDataRowsFails) {
  for (std::string body :
       {std::string(kHeader), std::string(kHeader) + "\r\n\r\n", std::string()}) {
    auto receipt = Upload(UploadFormat::kCsv, body);
    EXPECT_EQ(CodeOf(receipt), ErrorCode::kInvalidArgument);
    EXPECT_EQ(receipt.error().message, "no data rows");
    ExpectNothingStored();
  }
}

TEST_F(UploadTest, CsvWrongCellCountRowsAreKeptForTheWorker) {
  const std::string body = std::string(kHeader) + "a,b\r\n" + "1,2,3,4,5,6,7,8\r\n";
  auto receipt = Upload(UploadFormat::kCsv, body);
  ASSERT_OK(receipt);
  EXPECT_EQ(receipt->records_received, 2);
  EXPECT_EQ(Stored(*receipt), body);
}

TEST_F(UploadTest, CsvShortRowThatWouldLookCanonicalIsPadded) {
  // Eight columns in the upload; a seven-cell row must not pass as a canonical row.
  const std::string body =
      "mrn,first_name,last_name,birth_date,visit_account_number,visit_date,"
      "reason,extra\n1,2,3,4,5,6,7\n";
  auto receipt = Upload(UploadFormat::kCsv, body);
  ASSERT_OK(receipt);
  EXPECT_EQ(Stored(*receipt), std::string(kHeader) + "1,2,3,4,5,6,7,\r\n");
}

// Malformed CSV is refused whole, like an NDJSON line that is not JSON: everything after the open
// quote would be one cell. Stored, it would also be an object ending inside a row, which the
// worker takes for one not yet whole.
TEST_F(UploadTest, CsvEndingInsideAQuotedFieldIsRefusedWholeNamingTheLine) {
  const std::string body =
      CsvOf({Record(1)}) + "2,a,b,1990-01-01,V2,2024-01-01,\"open\r\nmore,\"\"\r\n";
  for (std::size_t chunk : {std::size_t{0}, std::size_t{1}, std::size_t{7}}) {
    SCOPED_TRACE("chunk " + std::to_string(chunk));
    auto receipt = Upload(UploadFormat::kCsv, body, chunk);
    ASSERT_FALSE(receipt);
    EXPECT_EQ(receipt.error().code, ErrorCode::kInvalidArgument);
    EXPECT_EQ(receipt.error().message,
              "the body ends inside a quoted field (the row starting on line 3)");
    ExpectNothingStored();
  }
}

TEST_F(UploadTest, CsvHeaderEndingInsideAQuotedFieldIsRefused) {
  auto receipt = Upload(UploadFormat::kCsv,
                        "mrn,first_name,last_name,birth_date,visit_account_number,visit_date,"
                        "\"reason");
  ASSERT_FALSE(receipt);
  EXPECT_EQ(receipt.error().code, ErrorCode::kInvalidArgument);
  EXPECT_EQ(receipt.error().message,
            "the body ends inside a quoted field (the row starting on line 1)");
  ExpectNothingStored();
}

// Every row Intake stores ends in a line break, the last one of a body that had none included.
TEST_F(UploadTest, CsvLastRowWithoutALineBreakIsStoredEndingInOne) {
  const std::string body = CsvOf({Record(1), Record(2)});
  const std::string cut = body.substr(0, body.size() - 2);  // no CRLF after the last row
  auto receipt = Upload(UploadFormat::kCsv, cut);
  ASSERT_OK(receipt);
  EXPECT_EQ(receipt->records_received, 2);
  EXPECT_EQ(Stored(*receipt), body);
}

TEST_F(UploadTest, CsvLargeUploadIsWrittenInBoundedPieces) {
  std::vector<domain::VisitRecord> records;
  for (int i = 0; i < 40000; ++i) records.push_back(Record(i));
  const std::string body = CsvOf(records);
  ASSERT_GT(body.size(), 2u << 20);
  auto receipt = Upload(UploadFormat::kCsv, body, 64 * 1024);
  ASSERT_OK(receipt);
  EXPECT_EQ(receipt->records_received, 40000);
  EXPECT_EQ(Stored(*receipt), body);
  EXPECT_GE(w.objects.Calls("Write"), 2);
  EXPECT_LT(w.objects.LargestWrite(), (1u << 20) + 4096);
}

TEST_F(UploadTest, ObjectStoreFailureMidUploadIsUnavailableAndStoresNothing) {
  w.objects.FailNext(1, ErrorCode::kUnavailable, "Write");
  auto receipt = Upload(UploadFormat::kCsv, CsvOf({Record(1)}));
  EXPECT_EQ(CodeOf(receipt), ErrorCode::kUnavailable);
  ExpectNothingStored();
}

TEST_F(UploadTest, BeginPutFailureIsUnavailable) {
  w.objects.FailNext(1, ErrorCode::kUnavailable, "BeginPut");
  EXPECT_EQ(CodeOf(service.BeginUpload(UploadFormat::kCsv)), ErrorCode::kUnavailable);
}

TEST_F(UploadTest, QueueFailureAfterCommitIsUnavailable) {
  w.queue.FailNext(1, ErrorCode::kUnavailable, "Enqueue");
  EXPECT_EQ(CodeOf(Upload(UploadFormat::kCsv, CsvOf({Record(1)}))), ErrorCode::kUnavailable);
  EXPECT_EQ(w.metrics.accepted, 0);
}

// ---- NDJSON ----

TEST_F(UploadTest, NdjsonLinesBecomeCanonicalCsv) {
  const std::string body =
      R"({"mrn":"00123","first_name":"NA","last_name":"Null","birth_date":"1990-02-14",)"
      R"("visit_account_number":"V1","visit_date":"2024-11-01","reason":"a, \"b\"","x":1})"
      "\n";
  auto receipt = Upload(UploadFormat::kNdjson, body);
  ASSERT_OK(receipt);
  EXPECT_EQ(receipt->records_received, 1);
  EXPECT_EQ(Stored(*receipt),
            std::string(kHeader) + "00123,NA,Null,1990-02-14,V1,2024-11-01,\"a, \"\"b\"\"\"\r\n");
}

TEST_F(UploadTest, NdjsonBlankLinesCrlfAndChunkSplitsAreHandled) {
  const std::string line =
      R"({"mrn":"M","first_name":"F","last_name":"L","birth_date":"1990-02-14",)"
      R"("visit_account_number":"V","visit_date":"2024-11-01","reason":""})";
  const std::string body = "\r\n" + line + "\r\n\r\n   \n" + line + "\r\n" + line;
  for (std::size_t chunk : {0, 1, 5}) {
    auto receipt = Upload(UploadFormat::kNdjson, body, chunk);
    ASSERT_OK(receipt);
    EXPECT_EQ(receipt->records_received, 3) << "chunk " << chunk;
    const std::string row = "M,F,L,1990-02-14,V,2024-11-01,\r\n";
    EXPECT_EQ(Stored(*receipt), std::string(kHeader) + row + row + row);
  }
}

TEST_F(UploadTest, NdjsonNonObjectLineFailsWithoutEchoAndStoresNothing) {
  const std::string body = "{\"mrn\":\"A\"}\n\n[\"SECRET-MRN\"]\n";
  auto receipt = Upload(UploadFormat::kNdjson, body);
  EXPECT_EQ(CodeOf(receipt), ErrorCode::kInvalidArgument);
  EXPECT_EQ(receipt.error().message, "line 3 is not a JSON object");
  ExpectNothingStored();
}

TEST_F(UploadTest, NdjsonMalformedJsonIsNotAnObject) {
  auto receipt = Upload(UploadFormat::kNdjson, "{\"mrn\": \"SECRET\"\n");
  EXPECT_EQ(CodeOf(receipt), ErrorCode::kInvalidArgument);
  EXPECT_EQ(receipt.error().message, "line 1 is not a JSON object");
  ExpectNothingStored();
}

constexpr char kHeaderWithProblems[] =
    "mrn,first_name,last_name,birth_date,visit_account_number,visit_date,reason,"
    "_intake_problems\r\n";

constexpr char kCleanLine[] =
    R"({"mrn":"M","first_name":"F","last_name":"L","birth_date":"1990-02-14",)"
    R"("visit_account_number":"V","visit_date":"2024-11-01","reason":"R"})";
constexpr char kCleanRow[] = "M,F,L,1990-02-14,V,2024-11-01,R";

TEST_F(UploadTest, NdjsonMissingAndNonStringFieldsAreNamedInTheProblemsColumnWithoutValues) {
  const std::string body =
      R"({"mrn":12345,"first_name":null,"last_name":["SECRET-X"],"birth_date":true,)"
      R"("visit_account_number":{"k":"SECRET-Y"},"visit_date":1.50})"
      "\n";
  auto receipt = Upload(UploadFormat::kNdjson, body);
  ASSERT_OK(receipt);
  EXPECT_EQ(receipt->records_received, 1);
  const std::string stored = Stored(*receipt);
  EXPECT_EQ(stored, std::string(kHeaderWithProblems) +
                        ",,,,,,,mrn:string_type;first_name:string_type;last_name:string_type;"
                        "birth_date:string_type;visit_account_number:string_type;"
                        "visit_date:string_type;reason:missing\r\n");
  for (const char* value : {"12345", "SECRET", "1.5", "true", "null"}) {
    EXPECT_EQ(stored.find(value), std::string::npos) << value;
  }
}

TEST_F(UploadTest, NdjsonCleanRowsGetAnEmptyProblemsCellOnceAnyRowNeedsIt) {
  const std::string bad =
      R"({"mrn":"M2","first_name":"F","last_name":"L","birth_date":"1990-02-14",)"
      R"("visit_account_number":"V2","reason":1})";
  const std::string body = std::string(kCleanLine) + "\n" + bad + "\n" + kCleanLine + "\n";
  for (std::size_t chunk : {0, 1, 7}) {
    auto receipt = Upload(UploadFormat::kNdjson, body, chunk);
    ASSERT_OK(receipt);
    EXPECT_EQ(receipt->records_received, 3);
    EXPECT_EQ(Stored(*receipt), std::string(kHeaderWithProblems) + kCleanRow + ",\r\n" +
                                    "M2,F,L,1990-02-14,V2,,,visit_date:missing;reason:string_type"
                                    "\r\n" +
                                    kCleanRow + ",\r\n")
        << "chunk " << chunk;
  }
}

TEST_F(UploadTest, NdjsonCleanUploadHasNoProblemsColumn) {
  // Empty strings and unknown non-string members are fine: only the seven fields are judged.
  const std::string line =
      R"({"mrn":"","first_name":" ","last_name":"null","birth_date":"x",)"
      R"("visit_account_number":"1","visit_date":"","reason":"","extra":[1,null]})";
  auto receipt = Upload(UploadFormat::kNdjson, line + "\n" + kCleanLine);
  ASSERT_OK(receipt);
  EXPECT_EQ(Stored(*receipt), std::string(kHeader) + ",\" \",null,x,1,,\r\n" + kCleanRow + "\r\n");
}

TEST_F(UploadTest, NdjsonRepeatedKeyKeepsItsLastValue) {
  const std::string fields =
      R"("first_name":"F","last_name":"L","birth_date":"1990-02-14",)"
      R"("visit_account_number":"V","visit_date":"2024-11-01","reason":"R"})";
  auto last_string = Upload(UploadFormat::kNdjson, R"({"mrn":1,"mrn":"M",)" + fields);
  ASSERT_OK(last_string);
  EXPECT_EQ(Stored(*last_string), std::string(kHeader) + kCleanRow + "\r\n");
  auto last_number = Upload(UploadFormat::kNdjson, R"({"mrn":"M","mrn":1,)" + fields);
  ASSERT_OK(last_number);
  EXPECT_EQ(Stored(*last_number), std::string(kHeaderWithProblems) +
                                      ",F,L,1990-02-14,V,2024-11-01,R,mrn:string_type\r\n");
}

// A clean line whose canonical row is about 1 KiB, and that row (without a line end).
std::pair<std::string, std::string> LongCleanLine() {
  const std::string reason(1000, 'x');
  return {R"({"mrn":"M","first_name":"F","last_name":"L","birth_date":"1990-02-14",)"
          R"("visit_account_number":"V","visit_date":"2024-11-01","reason":")" +
              reason + "\"}\n",
          "M,F,L,1990-02-14,V,2024-11-01," + reason};
}

TEST_F(UploadTest, NdjsonLargeUploadCommitsToTheProblemsColumnBeforeItsFirstWrite) {
  // Past one write piece the header must be written before a later line could need the column.
  const auto [line, row] = LongCleanLine();
  const std::size_t lines = 3000;  // about 3 MiB of CSV
  std::string body;
  for (std::size_t i = 0; i < lines; ++i) body += line;
  body += R"({"mrn":"M","first_name":false})";
  auto receipt = Upload(UploadFormat::kNdjson, body, 64 * 1024);
  ASSERT_OK(receipt);
  EXPECT_EQ(receipt->records_received, static_cast<std::int64_t>(lines + 1));
  std::string want = kHeaderWithProblems;
  for (std::size_t i = 0; i < lines; ++i) want += row + ",\r\n";
  want +=
      "M,,,,,,,first_name:string_type;last_name:missing;birth_date:missing;"
      "visit_account_number:missing;visit_date:missing;reason:missing\r\n";
  EXPECT_TRUE(Stored(*receipt) == want);
  EXPECT_GE(w.objects.Calls("Write"), 2);
  EXPECT_LT(w.objects.LargestWrite(), (1u << 20) + 4096);
}

TEST_F(UploadTest, NdjsonCleanUploadUnderOneWritePieceStaysSevenColumns) {
  const auto [line, row] = LongCleanLine();
  const std::size_t lines = 900;  // a little under 1 MiB of CSV
  std::string body;
  for (std::size_t i = 0; i < lines; ++i) body += line;
  auto receipt = Upload(UploadFormat::kNdjson, body, 64 * 1024);
  ASSERT_OK(receipt);
  std::string want = kHeader;
  for (std::size_t i = 0; i < lines; ++i) want += row + "\r\n";
  EXPECT_TRUE(Stored(*receipt) == want);
  EXPECT_EQ(w.objects.Calls("Write"), 1);
}

TEST_F(UploadTest, CsvUploadCannotCarryAProblemsColumn) {
  // A client's column of that name is an ordinary extra column: dropped when re-encoding.
  const std::string body =
      std::string("_intake_problems,") +
      "mrn,first_name,last_name,birth_date,visit_account_number,visit_date,reason\n"
      "mrn:missing;reason:string_type,M,F,L,1990-02-14,V,2024-11-01,R\n";
  auto receipt = Upload(UploadFormat::kCsv, body);
  ASSERT_OK(receipt);
  EXPECT_EQ(Stored(*receipt), std::string(kHeader) + kCleanRow + "\r\n");
}

TEST_F(UploadTest, NdjsonWithOnlyBlankLinesHasNoDataRows) {
  auto receipt = Upload(UploadFormat::kNdjson, "\n\r\n  \n");
  EXPECT_EQ(CodeOf(receipt), ErrorCode::kInvalidArgument);
  EXPECT_EQ(receipt.error().message, "no data rows");
  ExpectNothingStored();
}

TEST_F(UploadTest, NdjsonInvalidUtf8ReachesTheObjectForTheWorkerToReject) {
  auto receipt = Upload(UploadFormat::kNdjson, "{\"mrn\":\"\xC3\x28\"}\n");
  ASSERT_OK(receipt);
  EXPECT_NE(Stored(*receipt).find("\xC3\x28"), std::string::npos);
}

}  // namespace
}  // namespace intake::app::testing
