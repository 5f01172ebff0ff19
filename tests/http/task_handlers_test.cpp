// GET /tasks/{task_id}, GET /tasks, POST /tasks/{task_id}/replay.
#include "http/handlers/task_handlers.hpp"

#include <gtest/gtest.h>

#include "http/api_fixture.hpp"

namespace intake::http::testing {
namespace {

namespace json = boost::json;
using domain::TaskState;

class Tasks : public ApiTest {
 protected:
  ports::TaskRecord PutTask(std::string id, TaskState state) {
    ports::TaskRecord t;
    t.task_id = std::move(id);
    t.csv_filename = "patient_intake_20240101_120000_00000001.csv";
    t.records_received = 4;
    t.state = state;
    t.created_at = fakes::FakeClock::At(2024, 1, 1, 12, 0, 0);
    if (domain::IsFinished(state)) t.finished_at = fakes::FakeClock::At(2024, 1, 1, 12, 0, 5);
    tasks_.PutTask(t);
    return t;
  }
};

TEST_F(Tasks, PendingHasNullResult) {
  PutTask("t1", TaskState::kPending);
  Response r = Call("GET", "/tasks/t1");
  ASSERT_EQ(r.status, 200);
  EXPECT_EQ(r.body, R"({"task_id":"t1","status":"PENDING","result":null})");
}

TEST_F(Tasks, RunningShowsProgressAndCounters) {
  ports::TaskRecord t = PutTask("t2", TaskState::kProgress);
  t.rows_done = 2;
  t.counters.processed_records = 2;
  t.counters.patients_created = 1;
  t.counters.error_count = 1;
  tasks_.PutTask(t);
  json::value body = Json(Call("GET", "/tasks/t2"));
  EXPECT_EQ(body.at("status"), "PROGRESS");
  const json::value& result = body.at("result");
  EXPECT_EQ(result.at("current"), 2);
  EXPECT_EQ(result.at("total"), 4);
  EXPECT_EQ(result.at("percent"), 50);
  EXPECT_EQ(result.at("processed_records"), 2);
  EXPECT_EQ(result.at("patients_created"), 1);
  EXPECT_EQ(result.at("error_count"), 1);
  EXPECT_EQ(Json(Call("GET", "/tasks/" + PutTask("t2b", TaskState::kStarted).task_id))
                .at("result")
                .at("percent"),
            0);
}

TEST_F(Tasks, SuccessShowsCompletedResultWithErrors) {
  ports::TaskRecord t = PutTask("t3", TaskState::kSuccess);
  t.counters = domain::TaskCounters{4, 4, 2, 1, 0, 3, 0, 0, 1};
  t.errors = {domain::RowError{3, domain::Field::kBirthDate, "not a calendar date"},
              domain::RowError{4, std::nullopt, "visit belongs to another patient"}};
  tasks_.PutTask(t);
  json::value body = Json(Call("GET", "/tasks/t3"));
  EXPECT_EQ(body.at("status"), "SUCCESS");
  json::object expected{
      {"status", "completed"},
      {"csv_filename", t.csv_filename},
      {"total_records", 4},
      {"processed_records", 4},
      {"patients_created", 2},
      {"patients_updated", 1},
      {"patients_unchanged", 0},
      {"visits_created", 3},
      {"visits_updated", 0},
      {"visits_unchanged", 0},
      {"error_count", 1},
      {"errors",
       json::array{
           json::object{{"row", 3}, {"field", "birth_date"}, {"message", "not a calendar date"}},
           json::object{
               {"row", 4}, {"field", nullptr}, {"message", "visit belongs to another patient"}},
       }}};
  EXPECT_EQ(body.at("result"), expected);
}

TEST_F(Tasks, FailureShowsReason) {
  ports::TaskRecord t = PutTask("t4", TaskState::kFailure);
  t.failure_reason = "object unreadable";
  tasks_.PutTask(t);
  EXPECT_EQ(
      Json(Call("GET", "/tasks/t4")).at("result"),
      (json::object{
          {"status", "failed"}, {"csv_filename", t.csv_filename}, {"error", "object unreadable"}}));
}

TEST_F(Tasks, UnknownIs404) {
  Response r = Call("GET", "/tasks/nope");
  EXPECT_EQ(r.status, 404);
  EXPECT_EQ(r.body, R"({"detail":"Task nope not found"})");
}

TEST_F(Tasks, ListPagesNewestFirstWithIsoTimes) {
  PutTask("a", TaskState::kSuccess);
  PutTask("b", TaskState::kPending);
  Response r = Call("GET", "/tasks?page=1&page_size=1");
  ASSERT_EQ(r.status, 200) << r.body;
  json::value body = Json(r);
  EXPECT_EQ(body.at("total"), 2);
  EXPECT_EQ(body.at("page"), 1);
  EXPECT_EQ(body.at("page_size"), 1);
  const json::value& first = body.at("tasks").at(0);
  EXPECT_EQ(first.at("task_id"), "b");
  EXPECT_EQ(first.at("created_at"), "2024-01-01T12:00:00Z");
  EXPECT_TRUE(first.at("finished_at").is_null());
  json::value second = Json(Call("GET", "/tasks?page=2&page_size=1")).at("tasks").at(0);
  EXPECT_EQ(second.at("status"), "SUCCESS");
  EXPECT_EQ(second.at("finished_at"), "2024-01-01T12:00:05Z");
  EXPECT_EQ(second.at("records_received"), 4);
}

TEST_F(Tasks, ListValidatesPaging) {
  EXPECT_EQ(Call("GET", "/tasks?page=0").status, 422);
  EXPECT_EQ(Call("GET", "/tasks?page_size=101").status, 422);
  EXPECT_EQ(Call("GET", "/tasks?page=x").status, 422);
}

TEST_F(Tasks, ReplayOfFinishedTaskIs202Pending) {
  PutTask("t5", TaskState::kSuccess);
  Response r = Call("POST", "/tasks/t5/replay");
  ASSERT_EQ(r.status, 202) << r.body;
  EXPECT_EQ(r.body, R"({"task_id":"t5","status":"PENDING","result":null})");
  EXPECT_EQ(queue_.Pending(), std::vector<std::string>{"t5"});
}

TEST_F(Tasks, ReplayOfRunningTaskIs409AndUnknownIs404) {
  PutTask("t6", TaskState::kProgress);
  EXPECT_EQ(Call("POST", "/tasks/t6/replay").status, 409);
  EXPECT_EQ(Call("POST", "/tasks/zz/replay").status, 404);
  EXPECT_EQ(Call("GET", "/tasks/t6/replay").status, 405);
}

TEST(IsoUtc, FormatsWholeSeconds) {
  EXPECT_EQ(IsoUtc(fakes::FakeClock::At(2024, 2, 29, 23, 59, 58) + std::chrono::milliseconds(999)),
            "2024-02-29T23:59:58Z");
}

}  // namespace
}  // namespace intake::http::testing
