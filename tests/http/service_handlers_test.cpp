// GET /, /health, /ready, /metrics and the 404/405 answers of the real route table.
#include <gtest/gtest.h>

#include "http/api_fixture.hpp"

namespace intake::http::testing {
namespace {

namespace json = boost::json;

class Service : public ApiTest {};

TEST_F(Service, Root) {
  Response r = Call("GET", "/");
  EXPECT_EQ(r.status, 200);
  EXPECT_EQ(Json(r), (json::object{{"message", "Healthcare Data Ingestion API"},
                                   {"status", "running"},
                                   {"docs", "/docs"}}));
}

TEST_F(Service, Health) { EXPECT_EQ(Call("GET", "/health").body, R"({"status":"healthy"})"); }

TEST_F(Service, ReadyWhenAllAnswer) {
  Response r = Call("GET", "/ready");
  EXPECT_EQ(r.status, 200);
  EXPECT_EQ(
      Json(r),
      (json::object{
          {"status", "ready"},
          {"checks", json::object{{"database", "ok"}, {"object_store", "ok"}, {"queue", "ok"}}}}));
}

TEST_F(Service, NotReadyIs503NamingTheFailingCheck) {
  objects_.SetDown(true);
  Response r = Call("GET", "/ready");
  EXPECT_EQ(r.status, 503);
  json::value body = Json(r);
  EXPECT_EQ(body.at("status"), "unavailable");
  EXPECT_EQ(body.at("checks").at("database"), "ok");
  EXPECT_NE(body.at("checks").at("object_store"), "ok");
}

TEST_F(Service, MetricsHasEverySeries) {
  api_.metrics().Record("/patients/{id}", "GET", 404, 0.01);
  ASSERT_EQ(PostJson("[" + RecordJson() + "]").status, 200);
  Response r = Call("GET", "/metrics");
  ASSERT_EQ(r.status, 200);
  EXPECT_TRUE(r.content_type.starts_with("text/plain; version=0.0.4"));
  for (std::string_view series : {
           R"(intake_http_requests_total{route="/patients/{id}",method="GET",status="404"} 1)",
           R"(intake_http_request_duration_seconds_bucket{route="/patients/{id}",le="+Inf"} 1)",
           R"(intake_http_request_duration_seconds_sum{route="/patients/{id}"})",
           R"(intake_records_total{outcome="accepted"} 1)",
           R"(intake_records_total{outcome="loaded"} 0)",
           R"(intake_records_total{outcome="rejected"} 0)",
           R"(intake_tasks{status="PENDING"} 1)",
           R"(intake_tasks{status="SUCCESS"} 0)",
           "intake_queue_depth 1",
           "# TYPE intake_http_request_duration_seconds histogram",
       }) {
    EXPECT_NE(r.body.find(series), std::string::npos) << series << "\n" << r.body;
  }
}

TEST_F(Service, UnknownPathAndWrongMethod) {
  EXPECT_EQ(Call("GET", "/nothing").body, R"({"detail":"Not Found"})");
  Response r = Call("GET", "/ingest");
  EXPECT_EQ(r.status, 405);
  EXPECT_EQ(r.body, R"({"detail":"Method Not Allowed"})");
  ASSERT_EQ(r.headers.size(), 1u);
  EXPECT_EQ(r.headers[0], (std::pair<std::string, std::string>{"Allow", "POST"}));
  EXPECT_EQ(Call("DELETE", "/patients/1").status, 405);
  EXPECT_EQ(Call("POST", "/health").status, 405);
}

}  // namespace
}  // namespace intake::http::testing
