#include <gtest/gtest.h>

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
    if (!session) return ErrorOf(session);
    if (chunk == 0) chunk = body.size() + 1;
    for (std::size_t at = 0; at < body.size(); at += chunk) {
      if (auto fed = (*session)->Feed(body.substr(at, chunk)); !fed) return ErrorOf(fed);
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
  EXPECT_EQ(ErrorOf(receipt).message, "missing column: visit_date");
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
    EXPECT_EQ(ErrorOf(receipt).message, "no data rows");
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

TEST_F(UploadTest, CsvUnterminatedQuoteStaysUnterminated) {
  const std::string body = CsvOf({Record(1)}) + "2,a,b,1990-01-01,V2,2024-01-01,\"open";
  auto receipt = Upload(UploadFormat::kCsv, body);
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
  EXPECT_EQ(ErrorOf(receipt).message, "line 3 is not a JSON object");
  ExpectNothingStored();
}

TEST_F(UploadTest, NdjsonMalformedJsonIsNotAnObject) {
  auto receipt = Upload(UploadFormat::kNdjson, "{\"mrn\": \"SECRET\"\n");
  EXPECT_EQ(CodeOf(receipt), ErrorCode::kInvalidArgument);
  EXPECT_EQ(ErrorOf(receipt).message, "line 1 is not a JSON object");
  ExpectNothingStored();
}

TEST_F(UploadTest, NdjsonMissingFieldsAreEmptyAndOtherValuesAreJsonText) {
  auto receipt =
      Upload(UploadFormat::kNdjson, R"({"mrn":123,"first_name":null,"last_name":["x"]})");
  ASSERT_OK(receipt);
  EXPECT_EQ(Stored(*receipt), std::string(kHeader) + "123,,\"[\"\"x\"\"]\",,,,\r\n");
}

TEST_F(UploadTest, NdjsonWithOnlyBlankLinesHasNoDataRows) {
  auto receipt = Upload(UploadFormat::kNdjson, "\n\r\n  \n");
  EXPECT_EQ(CodeOf(receipt), ErrorCode::kInvalidArgument);
  EXPECT_EQ(ErrorOf(receipt).message, "no data rows");
  ExpectNothingStored();
}

TEST_F(UploadTest, NdjsonInvalidUtf8ReachesTheObjectForTheWorkerToReject) {
  auto receipt = Upload(UploadFormat::kNdjson, "{\"mrn\":\"\xC3\x28\"}\n");
  ASSERT_OK(receipt);
  EXPECT_NE(Stored(*receipt).find("\xC3\x28"), std::string::npos);
}

}  // namespace
}  // namespace intake::app::testing
