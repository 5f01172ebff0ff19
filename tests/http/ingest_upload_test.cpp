// POST /ingest with streamed text/csv and application/x-ndjson bodies.
#include <gtest/gtest.h>

#include "http/api_fixture.hpp"

namespace intake::http::testing {
namespace {

namespace json = boost::json;

constexpr std::string_view kHeader =
    "mrn,first_name,last_name,birth_date,visit_account_number,visit_date,reason\n";

class IngestUpload : public ApiTest {};

TEST_F(IngestUpload, CsvInChunksIsStoredAndQueued) {
  Response r = Upload("text/csv", {kHeader.substr(0, 10), kHeader.substr(10),
                                   "M1,John,Doe,1990-01-01,V1,2024-01-01,x\nM2,Ann,Lee,",
                                   "1980-05-05,V2,2024-01-01,y\n"});
  ASSERT_EQ(r.status, 200) << r.body;
  json::value body = Json(r);
  EXPECT_EQ(body.at("records_received"), 2);
  EXPECT_TRUE(objects_.Contains(std::string(body.at("csv_filename").as_string())));
  EXPECT_EQ(queue_.Pending().size(), 1u);
}

TEST_F(IngestUpload, NdjsonIsAccepted) {
  Response r = Upload("application/x-ndjson", {RecordJson() + "\n", RecordJson("M2", "V2") + "\n"});
  ASSERT_EQ(r.status, 200) << r.body;
  EXPECT_EQ(Json(r).at("records_received"), 2);
}

TEST_F(IngestUpload, StructuralProblemIs422ValueErrorWithoutValues) {
  Response r = Upload("text/csv", {"mrn,first_name,ZZQX-PHI-7731\nA,B,C\n"});
  ASSERT_EQ(r.status, 422) << r.body;
  json::value item = Json(r).at("detail").at(0);
  EXPECT_EQ(item.at("type"), "value_error");
  EXPECT_EQ(item.at("loc"), json::array{"body"});
  EXPECT_EQ(r.body.find("ZZQX"), std::string::npos) << r.body;
  EXPECT_TRUE(objects_.Keys().empty());
  EXPECT_TRUE(queue_.Pending().empty());
}

TEST_F(IngestUpload, NoDataRowsIs422) {
  Response r = Upload("text/csv", {kHeader});
  EXPECT_EQ(r.status, 422) << r.body;
  EXPECT_TRUE(queue_.Pending().empty());
}

TEST_F(IngestUpload, NdjsonLineThatIsNotAnObjectIs422) {
  Response r = Upload("application/x-ndjson", {RecordJson() + "\n[1,2]\n"});
  EXPECT_EQ(r.status, 422) << r.body;
}

TEST_F(IngestUpload, OverMaxUploadBytesIs413) {
  std::string rows;
  while (rows.size() < 9000) rows += "M1,John,Doe,1990-01-01,V1,2024-01-01,x\n";
  Response r = Upload("text/csv", {kHeader, rows});
  EXPECT_EQ(r.status, 413) << r.body;
  EXPECT_TRUE(queue_.Pending().empty());
}

TEST_F(IngestUpload, AnnouncedLengthOverLimitIs413BeforeReading) {
  Response r = Upload("text/csv", {}, {{"Content-Length", "9000"}});
  EXPECT_EQ(r.status, 413);
}

TEST_F(IngestUpload, IdempotentReplayAndConflict) {
  std::string csv = std::string(kHeader) + "M1,John,Doe,1990-01-01,V1,2024-01-01,x\n";
  Response first = Upload("text/csv", {csv}, {{"Idempotency-Key", "u-1"}});
  ASSERT_EQ(first.status, 200) << first.body;
  Response again =
      Upload("text/csv", {csv.substr(0, 5), csv.substr(5)}, {{"Idempotency-Key", "u-1"}});
  EXPECT_EQ(again.status, 200);
  EXPECT_EQ(again.body, first.body);
  Response other = Upload("text/csv", {csv + "M2,A,B,1990-01-01,V2,2024-01-01,y\n"},
                          {{"Idempotency-Key", "u-1"}});
  EXPECT_EQ(other.status, 409);
  EXPECT_EQ(queue_.Pending().size(), 1u);
}

TEST_F(IngestUpload, AbortedUploadReleasesTheKey) {
  Request head = MakeRequest("POST", "/ingest", "", {{"Idempotency-Key", "u-2"}});
  head.headers.emplace("Content-Type", "text/csv");
  std::unique_ptr<BodySink> sink = api_.router().Find("POST", "/ingest").route->sink(head);
  ASSERT_TRUE(sink);
  EXPECT_FALSE(sink->Begin());
  EXPECT_FALSE(sink->Feed(kHeader));
  sink->Abort();
  EXPECT_FALSE(idempotency_store_.Get("u-2"));
  EXPECT_TRUE(objects_.Keys().empty());
}

TEST_F(IngestUpload, JsonHasNoSink) {
  Request head = MakeRequest("POST", "/ingest", "", {{"Content-Type", "application/json"}});
  EXPECT_EQ(api_.router().Find("POST", "/ingest").route->sink(head), nullptr);
}

}  // namespace
}  // namespace intake::http::testing
