// The whole API over in-memory fakes, called as request → response (no sockets).
#pragma once

#include <gtest/gtest.h>

#include <boost/json/parse.hpp>
#include <boost/json/value.hpp>
#include <initializer_list>
#include <string>
#include <string_view>
#include <utility>

#include "app/idempotency.hpp"
#include "app/ingest_service.hpp"
#include "app/metrics.hpp"
#include "app/queries.hpp"
#include "fakes/fakes.hpp"
#include "http/api.hpp"
#include "http/message.hpp"

namespace intake::http::testing {

using HeaderList = std::initializer_list<std::pair<std::string, std::string>>;

// One valid record as a JSON object text.
inline std::string RecordJson(std::string_view mrn = "MRN-1", std::string_view van = "V-1") {
  return R"({"mrn":")" + std::string(mrn) +
         R"(","first_name":"John","last_name":"Doe","birth_date":"1990-02-14",)"
         R"("visit_account_number":")" +
         std::string(van) + R"(","visit_date":"2024-11-01","reason":"Checkup"})";
}

class ApiTest : public ::testing::Test {
 public:
  static IngestLimits DefaultLimits() { return IngestLimits{4096, 8192, 5}; }

  explicit ApiTest(IngestLimits limits = DefaultLimits())
      : api_(ApiServices{ingest_, patients_, task_query_, readiness_, gate_, metrics_, clock_},
             limits) {}

  static Request MakeRequest(std::string method, std::string_view target, std::string body = "",
                             HeaderList headers = {}) {
    Request r;
    r.method = std::move(method);
    EXPECT_TRUE(SetTarget(r, target)) << target;
    r.body = std::move(body);
    for (const auto& [name, value] : headers) r.headers.emplace(name, value);
    return r;
  }

  Response Call(std::string method, std::string_view target, std::string body = "",
                HeaderList headers = {}) {
    Request r = MakeRequest(std::move(method), target, std::move(body), headers);
    return api_.router().Handle(r);
  }

  Response PostJson(std::string body, HeaderList extra = {}) {
    Request r = MakeRequest("POST", "/ingest", std::move(body), extra);
    r.headers.emplace("Content-Type", "application/json");
    return api_.router().Handle(r);
  }

  // Streams `chunks` through the /ingest sink as the server would.
  Response Upload(std::string content_type, std::initializer_list<std::string_view> chunks,
                  HeaderList extra = {}) {
    Request head = MakeRequest("POST", "/ingest", "", extra);
    head.headers.emplace("Content-Type", std::move(content_type));
    Router::Match match = api_.router().Find("POST", "/ingest");
    std::unique_ptr<BodySink> sink = match.route->sink(head);
    if (!sink) return Response{0, "", {}, "no sink", false};
    if (auto early = sink->Begin()) return *early;
    for (std::string_view chunk : chunks) {
      if (auto early = sink->Feed(chunk)) return *early;
    }
    return sink->Finish();
  }

  static boost::json::value Json(const Response& r) { return boost::json::parse(r.body); }

  // Creates a task and applies `records` (rows 1..n) to the fake database.
  void LoadPatients(const std::vector<domain::VisitRecord>& rows) {
    ports::NewTask task{"seed-" + std::to_string(++seeded_), "seed.csv",
                        static_cast<std::int64_t>(rows.size()), clock_.Now()};
    auto created = tasks_.CreateTask(task);
    ASSERT_TRUE(created);
    ports::BatchInput batch;
    batch.task_id = task.task_id;
    batch.task_seq = created->seq;
    batch.rows_done_after = static_cast<std::int64_t>(rows.size());
    for (std::size_t i = 0; i < rows.size(); ++i) {
      batch.rows.push_back(domain::RowInput{static_cast<std::int64_t>(i + 1), rows[i]});
    }
    ASSERT_TRUE(records_.ApplyBatch(batch));
  }

  fakes::FakeClock clock_;
  fakes::SequentialIds ids_;
  fakes::FakeObjectStore objects_;
  fakes::FakeTaskStore tasks_;
  fakes::FakeRecordStore records_{tasks_};
  fakes::FakeTaskQueue queue_{clock_};
  fakes::FakeIdempotencyStore idempotency_store_;
  app::RecordMetrics metrics_;
  app::IngestService ingest_{objects_, tasks_, queue_, clock_, ids_, metrics_};
  app::PatientQuery patients_{records_};
  app::TaskQuery task_query_{tasks_, queue_};
  app::ReadinessCheck readiness_{records_, objects_, queue_};
  app::IdempotencyGate gate_{idempotency_store_, clock_};
  Api api_;
  int seeded_ = 0;
};

}  // namespace intake::http::testing
