// POST /ingest with a JSON array body.
#include <gtest/gtest.h>

#include <boost/json/serialize.hpp>

#include "http/api_fixture.hpp"

namespace intake::http::testing {
namespace {

namespace json = boost::json;

constexpr std::string_view kSecret = "ZZQX-PHI-7731";

json::value Detail0(const Response& r) { return ApiTest::Json(r).at("detail").at(0); }

class IngestJson : public ApiTest {};

TEST_F(IngestJson, AcceptsAValidBatch) {
  Response r = PostJson("[" + RecordJson("A", "V1") + "," + RecordJson("B", "V2") + "]");
  ASSERT_EQ(r.status, 200) << r.body;
  json::value body = Json(r);
  EXPECT_EQ(body.at("message"), "Data ingestion started successfully");
  EXPECT_EQ(body.at("records_received"), 2);
  std::string file(body.at("csv_filename").as_string());
  EXPECT_TRUE(file.starts_with("patient_intake_20240101_120000_")) << file;
  EXPECT_TRUE(objects_.Contains(file));
  EXPECT_EQ(queue_.Pending().size(), 1u);
  EXPECT_EQ(std::string(body.at("task_id").as_string()), queue_.Pending()[0]);
}

TEST_F(IngestJson, ContentTypeWithCharsetAndMissingContentTypeAreJson) {
  Response r = Call("POST", "/ingest", "[" + RecordJson() + "]",
                    {{"Content-Type", "application/json; charset=utf-8"}});
  EXPECT_EQ(r.status, 200) << r.body;
  Response bare = Call("POST", "/ingest", "[" + RecordJson("M2", "V2") + "]");
  EXPECT_EQ(bare.status, 200) << bare.body;
}

TEST_F(IngestJson, WrongContentTypeIs415) {
  Response r = Call("POST", "/ingest", "[" + RecordJson() + "]", {{"Content-Type", "text/plain"}});
  EXPECT_EQ(r.status, 415);
  EXPECT_EQ(Json(r).at("detail"),
            "Unsupported Media Type: use application/json, text/csv or application/x-ndjson");
  // Through the sink factory too (answered before the body is read).
  Response streamed = Upload("application/xml", {"<a/>"});
  EXPECT_EQ(streamed.status, 415);
}

TEST_F(IngestJson, MalformedJsonIs422JsonInvalid) {
  for (std::string body : {"[", "{\"mrn\": ", "[1,]", "nope", "[] []", "[\"\xff\"]"}) {
    Response r = PostJson(body);
    ASSERT_EQ(r.status, 422) << body;
    EXPECT_EQ(r.body,
              R"({"detail":[{"type":"json_invalid","loc":["body"],"msg":"JSON decode error"}]})");
  }
}

TEST_F(IngestJson, NonArrayIs422ListType) {
  Response r = PostJson(RecordJson());
  ASSERT_EQ(r.status, 422);
  EXPECT_EQ(Detail0(r).at("type"), "list_type");
  EXPECT_EQ(Detail0(r).at("loc"), json::array{"body"});
}

TEST_F(IngestJson, EmptyArrayIs422) {
  Response r = PostJson("[]");
  ASSERT_EQ(r.status, 422);
  EXPECT_EQ(Detail0(r).at("loc"), json::array{"body"});
  EXPECT_TRUE(queue_.Pending().empty());
}

TEST_F(IngestJson, TooManyRecordsIs413AskingToSplit) {
  std::string body = "[";
  for (int i = 0; i < 6; ++i) body += (i ? "," : "") + RecordJson("M" + std::to_string(i));
  body += "]";
  Response r = PostJson(body);
  ASSERT_EQ(r.status, 413);
  std::string detail(Json(r).at("detail").as_string());
  EXPECT_NE(detail.find("split the batch into requests of at most 5 records"), std::string::npos);
}

TEST_F(IngestJson, BodyOverMaxBodyBytesIs413) {
  Response r = PostJson("[" + std::string(5000, ' ') + RecordJson() + "]");
  EXPECT_EQ(r.status, 413);
}

TEST_F(IngestJson, MissingAndNonStringFieldsUseFastApiShapes) {
  std::string body = R"([{"first_name":"A","last_name":"B","birth_date":"1990-01-01",)"
                     R"("visit_account_number":"V","visit_date":"2024-01-01","reason":7,"x":1}])";
  Response r = PostJson(body);
  ASSERT_EQ(r.status, 422) << r.body;
  json::array detail = Json(r).at("detail").as_array();
  ASSERT_EQ(detail.size(), 2u) << r.body;
  EXPECT_EQ(detail[0], (json::object{{"type", "missing"},
                                     {"loc", json::array{"body", 0, "mrn"}},
                                     {"msg", "Field required"}}));
  EXPECT_EQ(detail[1], (json::object{{"type", "string_type"},
                                     {"loc", json::array{"body", 0, "reason"}},
                                     {"msg", "Input should be a valid string"}}));
}

TEST_F(IngestJson, ElementThatIsNotAnObjectIsModelType) {
  Response r = PostJson("[" + RecordJson() + ", 5]");
  ASSERT_EQ(r.status, 422) << r.body;
  json::array detail = Json(r).at("detail").as_array();
  ASSERT_EQ(detail.size(), 1u) << r.body;
  EXPECT_EQ(detail[0].at("type"), "model_type");
  EXPECT_EQ(detail[0].at("loc"), (json::array{"body", 1}));
}

TEST_F(IngestJson, FieldRuleProblemsNeverEchoValues) {
  std::string bad = RecordJson(kSecret, "V1");
  std::string record = R"({"mrn":"ok","first_name":")" + std::string(kSecret) +
                       R"(\u0001","last_name":"Doe","birth_date":")" + std::string(kSecret) +
                       R"(","visit_account_number":"V2","visit_date":"2024-11-01","reason":""})";
  Response r = PostJson("[" + bad + "," + record + "]");
  ASSERT_EQ(r.status, 422) << r.body;
  EXPECT_EQ(r.body.find(kSecret), std::string::npos) << r.body;
  json::array detail = Json(r).at("detail").as_array();
  ASSERT_GE(detail.size(), 2u);
  EXPECT_EQ(detail[0].at("loc"), (json::array{"body", 1, "first_name"}));
  EXPECT_EQ(detail[1].at("loc"), (json::array{"body", 1, "birth_date"}));
  EXPECT_TRUE(objects_.Keys().empty());
  EXPECT_TRUE(queue_.Pending().empty());
}

TEST_F(IngestJson, BackendDownIs503WithRetryAfter) {
  objects_.SetDown(true);
  Response r = PostJson("[" + RecordJson() + "]");
  EXPECT_EQ(r.status, 503);
  bool retry_after = false;
  for (const auto& [name, value] : r.headers) retry_after |= name == "Retry-After" && value == "5";
  EXPECT_TRUE(retry_after);
}

// ---- Idempotency-Key ----

TEST_F(IngestJson, RepeatWithSameKeyAndBodyReplaysWithoutQueuing) {
  std::string body = "[" + RecordJson() + "]";
  Response first = PostJson(body, {{"Idempotency-Key", "k-1"}});
  ASSERT_EQ(first.status, 200) << first.body;
  Response again = PostJson(body, {{"Idempotency-Key", "k-1"}});
  EXPECT_EQ(again.status, 200);
  EXPECT_EQ(again.body, first.body);
  EXPECT_EQ(queue_.Pending().size(), 1u);
  EXPECT_EQ(objects_.ObjectCount(), 1u);
}

TEST_F(IngestJson, SameKeyDifferentBodyIs409) {
  ASSERT_EQ(PostJson("[" + RecordJson() + "]", {{"Idempotency-Key", "k-2"}}).status, 200);
  Response other = PostJson("[" + RecordJson("OTHER") + "]", {{"Idempotency-Key", "k-2"}});
  EXPECT_EQ(other.status, 409);
  EXPECT_EQ(queue_.Pending().size(), 1u);
}

TEST_F(IngestJson, KeyHeldByAnotherRequestIs409) {
  ASSERT_TRUE(gate_.Begin("k-3"));
  Response r = PostJson("[" + RecordJson() + "]", {{"Idempotency-Key", "k-3"}});
  EXPECT_EQ(r.status, 409);
  EXPECT_TRUE(queue_.Pending().empty());
}

TEST_F(IngestJson, FailedRequestIsNotRemembered) {
  Response bad = PostJson("[]", {{"Idempotency-Key", "k-4"}});
  EXPECT_EQ(bad.status, 422);
  EXPECT_FALSE(idempotency_store_.Get("k-4"));
  Response good = PostJson("[" + RecordJson() + "]", {{"Idempotency-Key", "k-4"}});
  EXPECT_EQ(good.status, 200);
}

TEST_F(IngestJson, InvalidKeyIs422OnTheHeader) {
  for (std::string key : {std::string(), std::string(201, 'k'), std::string("caf\xC3\xA9")}) {
    Response r = PostJson("[" + RecordJson() + "]", {{"Idempotency-Key", key}});
    ASSERT_EQ(r.status, 422) << key;
    EXPECT_EQ(Detail0(r).at("type"), "value_error");
    EXPECT_EQ(Detail0(r).at("loc"), (json::array{"header", "Idempotency-Key"}));
  }
  EXPECT_TRUE(queue_.Pending().empty());
}

}  // namespace
}  // namespace intake::http::testing
