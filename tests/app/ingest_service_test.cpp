#include "app/ingest_service.hpp"

#include <gtest/gtest.h>

#include <set>

#include "app/test_util.hpp"

namespace intake::app::testing {
namespace {

using domain::Field;

// "patient_intake_20241201_120000_<8 lower-case hex>.csv"
bool IsCsvName(const std::string& name) {
  const std::string prefix = "patient_intake_20241201_120000_";
  if (name.size() != prefix.size() + 12 || !name.starts_with(prefix) || !name.ends_with(".csv")) {
    return false;
  }
  const std::string suffix = name.substr(prefix.size(), 8);
  return suffix.find_first_not_of("0123456789abcdef") == std::string::npos;
}

class IngestServiceTest : public ::testing::Test {
 protected:
  FakeWorld w;
  IngestService service{w.objects, w.tasks, w.queue, w.clock, w.ids, w.metrics};
  std::vector<RecordProblem> problems;

  Result<IngestReceipt> Ingest(const std::vector<domain::VisitRecord>& records,
                               const std::vector<RecordProblem>& structural = {}) {
    return service.IngestRecords(records, structural, problems);
  }
};

TEST_F(IngestServiceTest, StoresCsvCreatesAndQueuesTask) {
  auto receipt = Ingest({Record(1), Record(2)});
  ASSERT_OK(receipt);
  EXPECT_EQ(receipt->records_received, 2);
  EXPECT_EQ(receipt->csv_filename, "patient_intake_20241201_120000_00000001.csv");
  EXPECT_EQ(w.objects.Object(receipt->csv_filename), CsvOf({Record(1), Record(2)}));
  auto task = w.tasks.Task(receipt->task_id);
  ASSERT_TRUE(task);
  EXPECT_EQ(task->csv_filename, receipt->csv_filename);
  EXPECT_EQ(task->records_received, 2);
  EXPECT_EQ(task->state, domain::TaskState::kPending);
  EXPECT_EQ(w.queue.Pending(), std::vector<std::string>{receipt->task_id});
  EXPECT_EQ(w.metrics.accepted, 2);
  EXPECT_TRUE(problems.empty());
}

TEST_F(IngestServiceTest, EmptyBatchIsRejected) {
  EXPECT_EQ(CodeOf(Ingest({})), ErrorCode::kInvalidArgument);
  EXPECT_EQ(w.objects.ObjectCount(), 0u);
}

TEST_F(IngestServiceTest, FilenamesAreUniqueWithinTheSameSecond) {
  std::set<std::string> names;
  for (int i = 0; i < 5; ++i) {
    auto receipt = Ingest({Record(i)});
    ASSERT_OK(receipt);
    names.insert(receipt->csv_filename);
    EXPECT_TRUE(IsCsvName(receipt->csv_filename)) << receipt->csv_filename;
  }
  EXPECT_EQ(names.size(), 5u);
  EXPECT_EQ(w.objects.ObjectCount(), 5u);
}

TEST_F(IngestServiceTest, FilenameUsesUtcTimeOfTheClock) {
  w.clock.Set(fakes::FakeClock::At(2024, 1, 2, 3, 4, 5));
  EXPECT_EQ(service.NewCsvFilename(), "patient_intake_20240102_030405_00000001.csv");
}

TEST_F(IngestServiceTest, AnyInvalidRecordStoresNothing) {
  auto bad = Record(2);
  bad.birth_date = "1990-02-30";
  auto receipt = Ingest({Record(1), bad, Record(3)});
  EXPECT_EQ(CodeOf(receipt), ErrorCode::kInvalidArgument);
  ASSERT_EQ(problems.size(), 1u);
  EXPECT_EQ(problems[0].index, 1u);
  EXPECT_EQ(problems[0].problem.field, Field::kBirthDate);
  EXPECT_EQ(w.objects.ObjectCount(), 0u);
  EXPECT_EQ(w.tasks.TaskCount(), 0u);
  EXPECT_TRUE(w.queue.Pending().empty());
  EXPECT_EQ(w.metrics.accepted, 0);
}

TEST_F(IngestServiceTest, BirthDateAfterTodayUtcIsRejected) {
  auto future = Record(1);
  future.birth_date = "2024-12-02";
  future.visit_date = "2024-12-03";
  EXPECT_EQ(CodeOf(Ingest({future})), ErrorCode::kInvalidArgument);
  future.birth_date = "2024-12-01";
  EXPECT_OK(Ingest({future}));
}

TEST_F(IngestServiceTest, ProblemsComeInRecordThenFieldOrderWithoutValues) {
  auto two_bad = Record(0);
  two_bad.visit_date = "nope-secret";
  two_bad.mrn = "";
  auto other = Record(1);
  other.first_name = " ";
  EXPECT_FALSE(Ingest({two_bad, Record(5), other}));
  ASSERT_EQ(problems.size(), 3u);
  EXPECT_EQ(problems[0].index, 0u);
  EXPECT_EQ(problems[0].problem.field, Field::kMrn);
  EXPECT_EQ(problems[1].index, 0u);
  EXPECT_EQ(problems[1].problem.field, Field::kVisitDate);
  EXPECT_EQ(problems[2].index, 2u);
  EXPECT_EQ(problems[2].problem.field, Field::kFirstName);
  for (const auto& p : problems) EXPECT_EQ(p.problem.message.find("secret"), std::string::npos);
}

TEST_F(IngestServiceTest, ProblemsAreCappedAtOneHundred) {
  std::vector<domain::VisitRecord> records(60, Record(1));
  for (auto& r : records) {
    r.mrn = "";
    r.last_name = "";
  }
  EXPECT_EQ(CodeOf(Ingest(records)), ErrorCode::kInvalidArgument);
  ASSERT_EQ(problems.size(), kMaxReportedProblems);
  EXPECT_EQ(problems.back().index, 49u);
  EXPECT_EQ(problems.back().problem.field, Field::kLastName);
}

TEST_F(IngestServiceTest, StructuralProblemsMergeInFieldOrderAndReplaceFieldRules) {
  // Record 0 lacks last_name (the mapping left it empty): one "missing" problem, not two.
  auto missing = Record(0);
  missing.last_name = "";
  missing.reason = std::string(1001, 'x');
  std::vector<RecordProblem> structural = {
      {0, domain::Problem{Field::kLastName, "missing", "Field required"}},
      {1, domain::Problem{Field::kMrn, "string_type", "Input should be a valid string"}}};
  auto wrong_type = Record(1);
  wrong_type.mrn = "";
  EXPECT_EQ(CodeOf(Ingest({missing, wrong_type}, structural)), ErrorCode::kInvalidArgument);
  ASSERT_EQ(problems.size(), 3u);
  EXPECT_EQ(problems[0].problem.type, "missing");
  EXPECT_EQ(problems[1].index, 0u);
  EXPECT_EQ(problems[1].problem.field, Field::kReason);
  EXPECT_EQ(problems[2].index, 1u);
  EXPECT_EQ(problems[2].problem.type, "string_type");
  EXPECT_EQ(w.objects.ObjectCount(), 0u);
}

TEST_F(IngestServiceTest, StructuralProblemAloneRejectsTheBatch) {
  std::vector<RecordProblem> structural = {
      {0, domain::Problem{std::nullopt, "model_attributes_type", "Input should be an object"}}};
  EXPECT_EQ(CodeOf(Ingest({Record(1)}, structural)), ErrorCode::kInvalidArgument);
  ASSERT_EQ(problems.size(), 1u);
  EXPECT_FALSE(problems[0].problem.field);
}

TEST_F(IngestServiceTest, RecordThatIsNotAnObjectGetsOnlyItsRowProblem) {
  // The mapping leaves an empty placeholder record for a non-object element: its empty fields
  // must not add field problems (they would crowd out real ones under the cap of 100).
  std::vector<RecordProblem> structural = {
      {0, domain::Problem{std::nullopt, "model_type", "Input should be a valid dictionary"}}};
  EXPECT_EQ(CodeOf(Ingest({domain::VisitRecord{}, Record(1)}, structural)),
            ErrorCode::kInvalidArgument);
  ASSERT_EQ(problems.size(), 1u);
  EXPECT_EQ(problems[0].index, 0u);
  EXPECT_EQ(problems[0].problem.type, "model_type");
}

TEST_F(IngestServiceTest, ObjectStoreOutagePropagatesAndQueuesNothing) {
  w.objects.FailNext(1, ErrorCode::kUnavailable, "Put");
  EXPECT_EQ(CodeOf(Ingest({Record(1)})), ErrorCode::kUnavailable);
  EXPECT_EQ(w.tasks.TaskCount(), 0u);
  EXPECT_TRUE(w.queue.Pending().empty());
  EXPECT_EQ(w.metrics.accepted, 0);
}

TEST_F(IngestServiceTest, TaskStoreOutagePropagates) {
  w.tasks.FailNext(1, ErrorCode::kUnavailable, "CreateTask");
  EXPECT_EQ(CodeOf(Ingest({Record(1)})), ErrorCode::kUnavailable);
  EXPECT_TRUE(w.queue.Pending().empty());
  EXPECT_EQ(w.metrics.accepted, 0);
}

TEST_F(IngestServiceTest, QueueOutagePropagatesAndLeavesNoPendingTask) {
  w.queue.FailNext(1, ErrorCode::kUnavailable, "Enqueue");
  EXPECT_EQ(CodeOf(Ingest({Record(1)})), ErrorCode::kUnavailable);
  EXPECT_EQ(w.metrics.accepted, 0);
  ASSERT_EQ(w.tasks.TaskCount(), 1u);
  EXPECT_EQ(w.tasks.Task(w.tasks.TaskIds()[0])->state, domain::TaskState::kFailure);
}

}  // namespace
}  // namespace intake::app::testing
