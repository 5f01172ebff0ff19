#include "app/load_task.hpp"

#include <gtest/gtest.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <functional>
#include <future>
#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

#include "app/ingest_service.hpp"
#include "app/log_capture.hpp"
#include "app/test_util.hpp"

namespace intake::app::testing {
namespace {

using domain::Field;
using domain::RowError;
using domain::TaskState;

// The data rows of `csv` (the header not counted), as the upload that wrote it counted them.
std::int64_t DataRows(std::string_view csv) {
  domain::CsvReader reader;
  reader.Feed(csv);
  reader.Finish();
  std::int64_t rows = 0;
  for (std::vector<std::string> row; reader.Next(row);) ++rows;
  return std::max<std::int64_t>(rows - 1, 0);
}

LoadOptions FastOptions(std::size_t batch_rows = 2) { return FastLoadOptions(batch_rows); }

// A world with one LoadTask and helpers to submit a CSV body and run the task to an outcome.
class LoadTaskTest : public ::testing::Test {
 protected:
  void SetUp() override { Rebuild(FastOptions()); }

  void Rebuild(LoadOptions options) {
    load = std::make_unique<LoadTask>(w.objects, w.records, w.tasks, w.queue, w.clock, w.metrics,
                                      options);
  }

  // Stores `csv` and creates + queues its task, which received `received` rows (by default the
  // data rows in `csv`); returns the claim.
  ports::ClaimedTask Submit(const std::string& csv,
                            std::optional<std::int64_t> received = std::nullopt) {
    const std::string key = "upload_" + std::to_string(++submitted) + ".csv";
    EXPECT_OK(w.objects.Put(key, csv));
    auto task = w.tasks.CreateTask(
        ports::NewTask{w.ids.NewTaskId(), key, received.value_or(DataRows(csv)), w.clock.Now()});
    EXPECT_TRUE(task);
    EXPECT_OK(w.queue.Enqueue(task->task_id));
    return Claim();
  }

  ports::ClaimedTask Claim() {
    auto claimed = w.queue.Claim("test", std::chrono::milliseconds(0));
    EXPECT_TRUE(claimed && *claimed);
    return **claimed;
  }

  LoadOutcome Run(const ports::ClaimedTask& claimed, std::function<bool()> stop = nullptr) {
    return load->Run(
        claimed, stop ? stop : [] { return false; });
  }

  ports::TaskRecord Task(const ports::ClaimedTask& claimed) {
    return w.tasks.Task(claimed.task_id).value();
  }

  FakeWorld w;
  std::unique_ptr<LoadTask> load;
  int submitted = 0;
};

// The tests that hold whether the store overlaps a task's batches (RecordStore::OverlapsBatches:
// the next batch begins while this one holds its turn) or applies them one at a time.
class LoadTaskBothWaysTest : public LoadTaskTest, public ::testing::WithParamInterface<bool> {
 protected:
  void SetUp() override {
    LoadTaskTest::SetUp();
    w.records.SetOverlapsBatches(GetParam());
  }
};

INSTANTIATE_TEST_SUITE_P(Stores, LoadTaskBothWaysTest, ::testing::Bool(),
                         [](const ::testing::TestParamInfo<bool>& info) {
                           return info.param ? "Overlapping" : "OneAtATime";
                         });

void ExpectCountersAddUp(const domain::TaskCounters& c) {
  EXPECT_EQ(c.processed_records,
            c.error_count + c.patients_created + c.patients_updated + c.patients_unchanged);
  EXPECT_EQ(c.processed_records,
            c.error_count + c.visits_created + c.visits_updated + c.visits_unchanged);
}

std::vector<domain::VisitRecord> FiveRecords() {
  auto update = Record(1);
  update.first_name = "Renamed";
  update.visit_account_number = "VST-1b";
  return {Record(1), Record(2), update, Record(3), Record(4)};
}

TEST_P(LoadTaskBothWaysTest, LoadsEveryRowAndCountersAddUp) {
  auto claimed = Submit(CsvOf(FiveRecords()));
  EXPECT_EQ(Run(claimed), LoadOutcome::kFinished);
  auto task = Task(claimed);
  EXPECT_EQ(task.state, TaskState::kSuccess);
  EXPECT_TRUE(task.finished_at);
  EXPECT_EQ(task.rows_done, 5);
  EXPECT_EQ(task.counters.total_records, 5);
  EXPECT_EQ(task.counters.processed_records, 5);
  EXPECT_EQ(task.counters.patients_created, 4);
  EXPECT_EQ(task.counters.patients_updated, 1);
  EXPECT_EQ(task.counters.visits_created, 5);
  EXPECT_EQ(task.counters.error_count, 0);
  ExpectCountersAddUp(task.counters);
  EXPECT_EQ(w.records.PatientCount(), 4u);
  EXPECT_EQ(w.records.GetPatient(1)->person.first_name, "Renamed");
  EXPECT_EQ(w.metrics.loaded, 5);
  EXPECT_EQ(w.metrics.rejected, 0);
}

TEST_P(LoadTaskBothWaysTest, AppliesInBatchesWithProgressAndAFinalBatchWithTheTotal) {
  auto claimed = Submit(CsvOf(FiveRecords()));
  ASSERT_EQ(Run(claimed), LoadOutcome::kFinished);
  auto batches = w.records.AppliedBatches();
  ASSERT_EQ(batches.size(), 3u);
  EXPECT_EQ(batches[0].rows_done_before, 0);
  EXPECT_EQ(batches[0].rows_done_after, 2);
  EXPECT_FALSE(batches[0].total_records);
  EXPECT_EQ(batches[1].rows_done_after, 4);
  EXPECT_EQ(batches[2].rows_done_before, 4);
  EXPECT_EQ(batches[2].rows_done_after, 5);
  EXPECT_EQ(batches[2].total_records, 5);
  EXPECT_EQ(batches[2].rows.size(), 1u);
  EXPECT_EQ(batches[2].task_seq, Task(claimed).seq);
}

TEST_F(LoadTaskTest, OverlappingStoreGetsTheNextBatchWhileThisOneHoldsItsTurn) {
  w.records.SetOverlapsBatches(true);
  std::atomic<int> turns{0};
  std::vector<bool> next_begun;  // per batch but the last: did the next begin during its turn?
  w.records.SetAfterTurn([&](const ports::BatchInput& batch) {
    const int turn = ++turns;
    if (batch.total_records) return;
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(5);
    while (w.records.BatchesBegun() <= turn && std::chrono::steady_clock::now() < deadline) {
      std::this_thread::sleep_for(std::chrono::milliseconds(1));
    }
    next_begun.push_back(w.records.BatchesBegun() > turn);
  });
  auto claimed = Submit(CsvOf(FiveRecords()));
  ASSERT_EQ(Run(claimed), LoadOutcome::kFinished);
  EXPECT_EQ(next_begun, (std::vector<bool>{true, true}));
  auto batches = w.records.AppliedBatches();
  ASSERT_EQ(batches.size(), 3u);
  for (std::size_t i = 1; i < batches.size(); ++i) {
    EXPECT_EQ(batches[i].rows_done_before, batches[i - 1].rows_done_after);
  }
  EXPECT_EQ(Task(claimed).state, TaskState::kSuccess);
  EXPECT_EQ(Task(claimed).counters.processed_records, 5);
  EXPECT_EQ(w.metrics.loaded, 5);
}

// An overlapping store whose apply throws before the batch's turn (as std::bad_alloc could).
class ThrowingStore : public fakes::FakeRecordStore {
 public:
  using FakeRecordStore::FakeRecordStore;
  bool OverlapsBatches() const override { return true; }
  Result<domain::TaskCounters> ApplyBatchInTurn(const ports::BatchInput&,
                                                const std::function<void()>&) override {
    throw std::runtime_error("store failed");
  }
};

TEST_F(LoadTaskTest, AnExceptionFromAnOverlappingApplyReachesTheWorkerInsteadOfHangingIt) {
  ThrowingStore store(w.tasks);
  LoadTask throwing(w.objects, store, w.tasks, w.queue, w.clock, w.metrics, FastOptions());
  auto claimed = Submit(CsvOf(FiveRecords()));
  auto run = std::async(std::launch::async, [&] {
    EXPECT_THROW(throwing.Run(claimed, [] { return false; }), std::runtime_error);
  });
  if (run.wait_for(std::chrono::seconds(20)) != std::future_status::ready) {
    std::fprintf(stderr, "LoadTask::Run still waits for the turn of a batch that threw\n");
    std::_Exit(1);  // the run cannot be joined
  }
  run.get();
}

TEST_F(LoadTaskTest, ExactMultipleOfBatchSizeEndsWithAnEmptyFinalBatch) {
  auto claimed = Submit(CsvOf({Record(1), Record(2)}));
  ASSERT_EQ(Run(claimed), LoadOutcome::kFinished);
  auto batches = w.records.AppliedBatches();
  ASSERT_EQ(batches.size(), 2u);
  EXPECT_TRUE(batches[1].rows.empty());
  EXPECT_EQ(batches[1].total_records, 2);
}

TEST_F(LoadTaskTest, HeaderOnlyCsvSucceedsWithZeroRows) {
  auto claimed = Submit(CsvOf({}));
  ASSERT_EQ(Run(claimed), LoadOutcome::kFinished);
  auto task = Task(claimed);
  EXPECT_EQ(task.state, TaskState::kSuccess);
  EXPECT_EQ(task.counters.total_records, 0);
}

TEST_F(LoadTaskTest, BadRowsBecomeRowErrorsWithRowNumbersAndFieldsButNoValues) {
  auto bad_date = Record(2);
  bad_date.birth_date = "SECRET-DATE";
  auto two_bad = Record(3);
  two_bad.mrn = "";
  two_bad.visit_date = "1980-01-01";  // before birth_date
  auto conflict = Record(4);
  conflict.visit_account_number = "VST-1";  // belongs to MRN-1
  auto claimed = Submit(CsvOf({Record(1), bad_date, two_bad, conflict, Record(5)}));
  ASSERT_EQ(Run(claimed), LoadOutcome::kFinished);
  auto task = Task(claimed);
  EXPECT_EQ(task.state, TaskState::kSuccess);
  EXPECT_EQ(task.counters.processed_records, 5);
  EXPECT_EQ(task.counters.error_count, 3);
  ExpectCountersAddUp(task.counters);
  ASSERT_EQ(task.errors.size(), 4u);
  EXPECT_EQ(task.errors[0].row, 2);
  EXPECT_EQ(task.errors[0].field, Field::kBirthDate);
  EXPECT_EQ(task.errors[1].row, 3);
  EXPECT_EQ(task.errors[1].field, Field::kMrn);
  EXPECT_EQ(task.errors[2].row, 3);
  EXPECT_EQ(task.errors[2].field, Field::kVisitDate);
  EXPECT_EQ(task.errors[3].row, 4);
  EXPECT_FALSE(task.errors[3].field);
  for (const auto& e : task.errors) EXPECT_EQ(e.message.find("SECRET"), std::string::npos);
  EXPECT_EQ(w.metrics.loaded, 2);
  EXPECT_EQ(w.metrics.rejected, 3);
}

TEST_F(LoadTaskTest, ColumnsInAnyOrderAreMappedAndWrongShapedRowsRejected) {
  const std::string csv =
      "reason,visit_date,visit_account_number,birth_date,last_name,first_name,mrn\r\n"
      "Checkup,2024-11-01,V1,1990-02-14,Doe,John,M1\r\n"
      "too,few\r\n";
  auto claimed = Submit(csv);
  ASSERT_EQ(Run(claimed), LoadOutcome::kFinished);
  auto task = Task(claimed);
  EXPECT_EQ(task.counters.processed_records, 2);
  EXPECT_EQ(task.counters.error_count, 1);
  ASSERT_EQ(task.errors.size(), 1u);
  EXPECT_EQ(task.errors[0].row, 2);
  EXPECT_FALSE(task.errors[0].field);
  EXPECT_EQ(w.records.GetPatient(1)->mrn, "M1");
}

// Intake ends every row it writes with a line break (a client's unterminated quote is a row error
// of the upload: UploadedRowsOfTheWrongShapeAreRejectedByTheWorker), so an object ending inside a
// quoted field was cut off. Retries exhausted, the task fails saying so and nothing of the cut row
// is stored, not even as a row error.
TEST_F(LoadTaskTest, ObjectEndingInsideAQuotedFieldIsIncompleteAndTheTaskFailsAfterRetries) {
  auto claimed = Submit(CsvOf({Record(1)}) + "M2,a,b,1990-01-01,V2,2024-01-01,\"open\r\n", 2);
  ASSERT_EQ(Run(claimed), LoadOutcome::kFinished);
  auto task = Task(claimed);
  EXPECT_EQ(task.state, TaskState::kFailure);
  EXPECT_EQ(task.failure_reason,
            "retries exhausted: CSV object ends inside a row: it is incomplete");
  EXPECT_EQ(task.counters.processed_records, 0);
  EXPECT_TRUE(task.errors.empty());
  EXPECT_EQ(w.records.PatientCount(), 0u);
  EXPECT_EQ(w.objects.Calls("Get"), 3);
}

TEST_F(LoadTaskTest, ObjectWithFewerRowsThanReceivedFailsAfterRetriesKeepingWhatItCommitted) {
  auto claimed = Submit(CsvOf({Record(1), Record(2), Record(3)}), 5);
  ASSERT_EQ(Run(claimed), LoadOutcome::kFinished);
  auto task = Task(claimed);
  EXPECT_EQ(task.state, TaskState::kFailure);
  EXPECT_EQ(task.failure_reason,
            "retries exhausted: CSV object holds 3 of the 5 rows the task received: it is "
            "incomplete");
  EXPECT_EQ(task.rows_done, 2);  // the first batch; the third row waits for the rest
  EXPECT_EQ(task.counters.total_records, 0);
  EXPECT_EQ(w.records.PatientCount(), 2u);
}

TEST_F(LoadTaskTest, ObjectWithMoreRowsThanReceivedFailsBeforeTheFirstExtraRow) {
  auto claimed = Submit(CsvOf({Record(1), Record(2), Record(3), Record(4)}), 3);
  ASSERT_EQ(Run(claimed), LoadOutcome::kFinished);
  auto task = Task(claimed);
  EXPECT_EQ(task.state, TaskState::kFailure);
  EXPECT_EQ(task.failure_reason,
            "CSV object holds more rows than the 3 the task received: it changed after upload");
  EXPECT_EQ(w.objects.Calls("Get"), 1);  // not worth a retry
  EXPECT_EQ(task.rows_done, 2);
  EXPECT_FALSE(w.records.GetPatient(4));
}

TEST_F(LoadTaskTest, SmallReadsGiveTheSameResult) {
  w.objects.SetMaxReadSize(7);
  auto claimed = Submit(CsvOf(FiveRecords()));
  ASSERT_EQ(Run(claimed), LoadOutcome::kFinished);
  EXPECT_EQ(Task(claimed).counters.processed_records, 5);
  EXPECT_EQ(w.records.PatientCount(), 4u);
}

TEST_F(LoadTaskTest, MissingObjectFailsTheTask) {
  auto claimed = Submit(CsvOf({Record(1)}));
  w.objects.Remove(Task(claimed).csv_filename);
  EXPECT_EQ(Run(claimed), LoadOutcome::kFinished);
  auto task = Task(claimed);
  EXPECT_EQ(task.state, TaskState::kFailure);
  EXPECT_EQ(task.failure_reason, "CSV object not found");
}

TEST_F(LoadTaskTest, MissingColumnFailsTheTaskWithTheReason) {
  auto claimed = Submit("mrn,first_name\r\nM,F\r\n");
  EXPECT_EQ(Run(claimed), LoadOutcome::kFinished);
  auto task = Task(claimed);
  EXPECT_EQ(task.state, TaskState::kFailure);
  EXPECT_EQ(task.failure_reason, "missing column: last_name");
  EXPECT_EQ(w.records.PatientCount(), 0u);
}

TEST_F(LoadTaskTest, FinishedTaskIsNotRunAgain) {
  auto claimed = Submit(CsvOf({Record(1)}));
  ASSERT_OK(w.tasks.FinishTask(claimed.task_id, TaskState::kSuccess, std::nullopt, w.clock.Now()));
  EXPECT_EQ(Run(claimed), LoadOutcome::kFinished);
  EXPECT_TRUE(w.records.AppliedBatches().empty());
}

// Stores `csv` as the one task of `world`, claims it and runs it to its end; returns its id.
std::string RunOnly(FakeWorld& world, const std::string& csv) {
  LoadTask load(world.objects, world.records, world.tasks, world.queue, world.clock, world.metrics,
                FastOptions());
  EXPECT_OK(world.objects.Put("upload_1.csv", csv));
  auto task = world.tasks.CreateTask(
      ports::NewTask{world.ids.NewTaskId(), "upload_1.csv", DataRows(csv), world.clock.Now()});
  EXPECT_OK(world.queue.Enqueue(task->task_id));
  auto claimed = world.queue.Claim("only", std::chrono::milliseconds(0));
  EXPECT_EQ(load.Run(**claimed, [] { return false; }), LoadOutcome::kFinished);
  return task->task_id;
}

// Runs `csv` uninterrupted in a separate world: the reference for resume tests.
std::pair<fakes::FakeRecordStore::Tables, domain::TaskCounters> Uninterrupted(
    const std::string& csv = CsvOf(FiveRecords())) {
  FakeWorld ref;
  const std::string id = RunOnly(ref, csv);
  return {ref.records.Snapshot(), ref.tasks.Task(id)->counters};
}

TEST_P(LoadTaskBothWaysTest, StopAfterABatchThenResumeMatchesAnUninterruptedRun) {
  auto claimed = Submit(CsvOf(FiveRecords()));
  EXPECT_EQ(Run(claimed, [] { return true; }), LoadOutcome::kStopped);
  auto partial = Task(claimed);
  EXPECT_EQ(partial.rows_done, 2);
  EXPECT_EQ(partial.state, TaskState::kProgress);
  ASSERT_OK(w.queue.Release(claimed));

  EXPECT_EQ(Run(Claim()), LoadOutcome::kFinished);
  auto [tables, counters] = Uninterrupted();
  EXPECT_EQ(w.records.Snapshot(), tables);
  EXPECT_EQ(Task(claimed).counters, counters);
  EXPECT_EQ(Task(claimed).state, TaskState::kSuccess);
  EXPECT_EQ(w.metrics.loaded, 5);
}

TEST_F(LoadTaskTest, CrashedWorkerIsResumedByTheNextClaimAfterLeaseExpiry) {
  auto claimed = Submit(CsvOf(FiveRecords()));
  EXPECT_EQ(Run(claimed, [] { return true; }), LoadOutcome::kStopped);  // then the worker dies
  w.clock.Advance(std::chrono::minutes(10));
  auto reclaimed = Claim();
  EXPECT_EQ(reclaimed.task_id, claimed.task_id);
  EXPECT_EQ(Run(reclaimed), LoadOutcome::kFinished);
  auto [tables, counters] = Uninterrupted();
  EXPECT_EQ(w.records.Snapshot(), tables);
  EXPECT_EQ(Task(claimed).counters, counters);
}

TEST_P(LoadTaskBothWaysTest, TransientFailureMidTaskIsRetriedFromCommittedProgress) {
  w.records.FailNext(1, ErrorCode::kUnavailable, "ApplyBatch", /*skip=*/1);
  w.objects.FailNext(1, ErrorCode::kUnavailable, "Read", /*skip=*/1);
  auto claimed = Submit(CsvOf(FiveRecords()));
  EXPECT_EQ(Run(claimed), LoadOutcome::kFinished);
  auto batches = w.records.AppliedBatches();
  ASSERT_EQ(batches.size(), 3u);
  EXPECT_EQ(batches[1].rows_done_before, 2);
  auto [tables, counters] = Uninterrupted();
  EXPECT_EQ(w.records.Snapshot(), tables);
  EXPECT_EQ(Task(claimed).counters, counters);
  EXPECT_EQ(Task(claimed).state, TaskState::kSuccess);
}

TEST_P(LoadTaskBothWaysTest, BatchFailingAsTheNextBeginsIsRetriedNotTakenForALostTask) {
  w.records.FailNext(1, ErrorCode::kUnavailable, "ApplyBatch", /*skip=*/1);
  auto claimed = Submit(CsvOf(FiveRecords()));
  EXPECT_EQ(Run(claimed), LoadOutcome::kFinished);
  // Overlapping, the third batch began while the second held its turn, and was refused after it
  // failed (its progress no longer chained): that conflict does not end the task as lost.
  EXPECT_EQ(w.records.Calls("ApplyBatch"), GetParam() ? 5 : 4);
  auto [tables, counters] = Uninterrupted();
  EXPECT_EQ(w.records.Snapshot(), tables);
  EXPECT_EQ(Task(claimed).counters, counters);
  EXPECT_EQ(Task(claimed).state, TaskState::kSuccess);
  EXPECT_EQ(w.metrics.loaded, 5);
}

TEST_F(LoadTaskTest, TransientFailuresBeforeAnyProgressAreRetried) {
  w.objects.FailNext(2, ErrorCode::kUnavailable, "Get");
  auto claimed = Submit(CsvOf({Record(1)}));
  EXPECT_EQ(Run(claimed), LoadOutcome::kFinished);
  EXPECT_EQ(Task(claimed).state, TaskState::kSuccess);
  EXPECT_EQ(w.objects.Calls("Get"), 3);
}

TEST_F(LoadTaskTest, RetriesExhaustedFailsTheTaskWithAValueFreeReason) {
  auto claimed = Submit(CsvOf({Record(1)}));
  w.objects.SetDown(true);
  EXPECT_EQ(Run(claimed), LoadOutcome::kFinished);
  auto task = Task(claimed);
  EXPECT_EQ(task.state, TaskState::kFailure);
  EXPECT_EQ(task.failure_reason, "retries exhausted: injected outage");
  EXPECT_EQ(w.objects.Calls("Get"), 3);
}

TEST_F(LoadTaskTest, StopDuringBackoffHandsTheTaskBack) {
  LoadOptions options = FastOptions();
  options.first_backoff = std::chrono::seconds(30);
  Rebuild(options);
  auto claimed = Submit(CsvOf({Record(1)}));
  w.records.SetDown(true);
  std::atomic<bool> stop{false};
  std::thread stopper([&] {
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
    stop = true;
  });
  const auto start = std::chrono::steady_clock::now();
  EXPECT_EQ(Run(claimed, [&] { return stop.load(); }), LoadOutcome::kStopped);
  stopper.join();
  EXPECT_LT(std::chrono::steady_clock::now() - start, std::chrono::seconds(5));
  EXPECT_FALSE(domain::IsFinished(Task(claimed).state));
}

TEST_P(LoadTaskBothWaysTest, LostLeaseIsReportedAsLost) {
  auto claimed = Submit(CsvOf(FiveRecords()));
  w.queue.RevokeLease(claimed.task_id);
  EXPECT_EQ(Run(claimed), LoadOutcome::kLost);
  EXPECT_EQ(Task(claimed).rows_done, 2);  // the first batch committed before the Extend
}

TEST_P(LoadTaskBothWaysTest, ProgressConflictIsReportedAsLost) {
  auto claimed = Submit(CsvOf(FiveRecords()));
  w.records.FailNext(1, ErrorCode::kConflict, "ApplyBatch");
  EXPECT_EQ(Run(claimed), LoadOutcome::kLost);
  EXPECT_FALSE(domain::IsFinished(Task(claimed).state));
}

TEST_F(LoadTaskTest, ReplayOfAFinishedTaskChangesNothing) {
  auto claimed = Submit(CsvOf(FiveRecords()));
  ASSERT_EQ(Run(claimed), LoadOutcome::kFinished);
  ASSERT_OK(w.queue.Ack(claimed));
  const auto before = w.records.Snapshot();
  ASSERT_OK(w.tasks.ResetForReplay(claimed.task_id));
  ASSERT_OK(w.queue.Enqueue(claimed.task_id));
  EXPECT_EQ(Run(Claim()), LoadOutcome::kFinished);
  EXPECT_EQ(w.records.Snapshot(), before);
  auto task = Task(claimed);
  EXPECT_EQ(task.counters.processed_records, 5);
  EXPECT_EQ(task.counters.patients_created, 0);
  EXPECT_EQ(task.counters.visits_created, 0);
  ExpectCountersAddUp(task.counters);
}

TEST_F(LoadTaskTest, LogsFollowTheSeedShapeWithoutPhi) {
  auto record = Record(1);
  record.mrn = "PHI-MRN-777";
  record.first_name = "Zebulon";
  record.reason = "Sensitive reason";
  auto bad = Record(2);
  bad.mrn = "PHI-MRN-888";
  bad.birth_date = "1977-13-45";
  LogCapture capture;
  auto claimed = Submit(CsvOf({record, bad}));
  ASSERT_EQ(Run(claimed), LoadOutcome::kFinished);
  const std::string logs = capture.Text();
  EXPECT_NE(logs.find("[WORKFLOW START] task=" + claimed.task_id), std::string::npos) << logs;
  EXPECT_NE(logs.find("[STEP 1] Downloading CSV"), std::string::npos);
  EXPECT_NE(logs.find("[STEP 2] Parsing CSV"), std::string::npos);
  EXPECT_NE(logs.find("[STEP 3] Processing records"), std::string::npos);
  EXPECT_NE(logs.find("[WORKFLOW COMPLETE] task=" + claimed.task_id + " processed=2"),
            std::string::npos);
  for (const char* phi : {"PHI-MRN", "Zebulon", "Sensitive", "1977-13-45", "1990-02-14"}) {
    EXPECT_EQ(logs.find(phi), std::string::npos) << phi;
  }
}

TEST_F(LoadTaskTest, LogPhiAllowsTheMrnOfARejectedRow) {
  LoadOptions options = FastOptions();
  options.log_phi = true;
  Rebuild(options);
  auto bad = Record(1);
  bad.mrn = "PHI-MRN-999";
  bad.birth_date = "nope";
  LogCapture capture;
  auto claimed = Submit(CsvOf({bad}));
  ASSERT_EQ(Run(claimed), LoadOutcome::kFinished);
  EXPECT_NE(capture.Text().find("PHI-MRN-999"), std::string::npos);
}

TEST_F(LoadTaskTest, UploadedRowsOfTheWrongShapeAreRejectedByTheWorker) {
  IngestService ingest(w.objects, w.tasks, w.queue, w.clock, w.ids, w.metrics);
  auto session = ingest.BeginUpload(UploadFormat::kCsv);
  ASSERT_OK(session);
  ASSERT_OK((*session)->Feed(
      "mrn,first_name,last_name,birth_date,visit_account_number,visit_date,reason,extra\n"
      "M1,A,B,1990-01-01,V1,2024-01-01,R,x\n"
      "1,2,3,4,5,6,7\n"
      "M3,A,B,1990-01-01,V3,2024-01-01,R,x,y\n"
      "M4,A,B,1990-01-01,V4,2024-01-01,R,x"));
  auto receipt = (*session)->Finish();
  ASSERT_OK(receipt);
  EXPECT_EQ(Run(Claim()), LoadOutcome::kFinished);
  auto task = w.tasks.Task(receipt->task_id).value();
  EXPECT_EQ(task.state, TaskState::kSuccess);
  EXPECT_EQ(task.counters.processed_records, 4);
  EXPECT_EQ(task.counters.error_count, 2);
  ASSERT_EQ(task.errors.size(), 2u);
  EXPECT_EQ(task.errors[0].row, 2);
  EXPECT_EQ(task.errors[1].row, 3);
  EXPECT_EQ(w.records.PatientCount(), 2u);
}

// One NDJSON line for Record(i) with some members replaced by raw JSON text (nullptr: left out).
std::string NdjsonLine(int i,
                       const std::vector<std::pair<std::string, const char*>>& overrides = {}) {
  const domain::VisitRecord record = Record(i);
  std::string line = "{";
  for (std::size_t f = 0; f < domain::kFieldCount; ++f) {
    const std::string name(domain::kFieldNames[f]);
    std::string json = "\"" + record.at(static_cast<Field>(f)) + "\"";
    bool keep = true;
    for (const auto& [key, raw] : overrides) {
      if (key != name) continue;
      keep = raw != nullptr;
      if (keep) json = raw;
    }
    if (!keep) continue;
    if (line.size() > 1) line += ",";
    line += "\"" + name + "\":" + json;
  }
  return line + "}\n";
}

TEST_F(LoadTaskTest, NdjsonMissingAndNonStringFieldsAreRowErrorsAndOtherRowsLoad) {
  IngestService ingest(w.objects, w.tasks, w.queue, w.clock, w.ids, w.metrics);
  auto session = ingest.BeginUpload(UploadFormat::kNdjson);
  ASSERT_OK(session);
  std::string body;
  body += NdjsonLine(1);  // row 1: clean
  body += NdjsonLine(2, {{"first_name", "12345"}});
  body += NdjsonLine(3, {{"reason", "1.50"}});
  body += NdjsonLine(4, {{"last_name", "null"}});
  body += NdjsonLine(5, {{"visit_date", nullptr}});
  body += NdjsonLine(6, {{"mrn", "true"}, {"birth_date", R"(["1990-02-14"])"}});  // two fields
  // One field named in the problems column, one breaking a field rule.
  body += NdjsonLine(7, {{"first_name", R"({"a":"b"})"}, {"visit_date", R"("2024-02-30")"}});
  body += NdjsonLine(8);  // row 8: clean
  ASSERT_OK((*session)->Feed(body));
  auto receipt = (*session)->Finish();
  ASSERT_OK(receipt);
  EXPECT_EQ(receipt->records_received, 8);
  EXPECT_EQ(Run(Claim()), LoadOutcome::kFinished);
  auto task = w.tasks.Task(receipt->task_id).value();
  EXPECT_EQ(task.state, TaskState::kSuccess);
  EXPECT_EQ(task.counters.processed_records, 8);
  EXPECT_EQ(task.counters.error_count, 6);
  EXPECT_EQ(task.counters.patients_created, 2);
  EXPECT_EQ(task.counters.visits_created, 2);
  ExpectCountersAddUp(task.counters);
  constexpr char kNotString[] = "Input should be a valid string";
  constexpr char kRequired[] = "Field required";
  const std::vector<RowError> want = {
      {2, Field::kFirstName, kNotString},
      {3, Field::kReason, kNotString},
      {4, Field::kLastName, kNotString},
      {5, Field::kVisitDate, kRequired},
      {6, Field::kMrn, kNotString},
      {6, Field::kBirthDate, kNotString},
      {7, Field::kFirstName, kNotString},
      {7, Field::kVisitDate, "must be a calendar date YYYY-MM-DD"},
  };
  ASSERT_EQ(task.errors.size(), want.size());
  for (std::size_t i = 0; i < want.size(); ++i) {
    EXPECT_EQ(task.errors[i].row, want[i].row) << i;
    EXPECT_EQ(task.errors[i].field, want[i].field) << i;
    EXPECT_EQ(task.errors[i].message, want[i].message) << i;
  }
  EXPECT_EQ(w.records.PatientCount(), 2u);
  EXPECT_EQ(w.records.GetPatient(1)->mrn, "MRN-1");
  EXPECT_EQ(w.records.GetPatient(2)->mrn, "MRN-8");
  EXPECT_EQ(w.metrics.loaded, 2);
  EXPECT_EQ(w.metrics.rejected, 6);
}

TEST_F(LoadTaskTest, ProblemsColumnSkipsOnlyTheNamedFieldsRules) {
  // birth_date is named, so its empty cell is not judged again and visit_date is not compared
  // with it; mrn is not named and still breaks its rule.
  const std::string csv =
      "mrn,first_name,last_name,birth_date,visit_account_number,visit_date,reason,"
      "_intake_problems\r\n"
      ",F,L,,V1,2024-11-01,R,birth_date:missing\r\n"
      "M2,F,L,1990-02-14,V2,2024-11-01,R,\r\n";
  auto claimed = Submit(csv);
  ASSERT_EQ(Run(claimed), LoadOutcome::kFinished);
  auto task = Task(claimed);
  EXPECT_EQ(task.counters.processed_records, 2);
  EXPECT_EQ(task.counters.error_count, 1);
  ExpectCountersAddUp(task.counters);
  ASSERT_EQ(task.errors.size(), 2u);
  EXPECT_EQ(task.errors[0].row, 1);
  EXPECT_EQ(task.errors[0].field, Field::kMrn);
  EXPECT_EQ(task.errors[0].message, "String should have at least 1 character");
  EXPECT_EQ(task.errors[1].row, 1);
  EXPECT_EQ(task.errors[1].field, Field::kBirthDate);
  EXPECT_EQ(task.errors[1].message, "Field required");
  EXPECT_EQ(w.records.PatientCount(), 1u);
}

TEST_F(LoadTaskTest, UnreadableProblemsCellRejectsTheRowWithoutFailingTheTask) {
  const std::string csv =
      "mrn,first_name,last_name,birth_date,visit_account_number,visit_date,reason,"
      "_intake_problems\r\n"
      "M1,F,L,1990-02-14,V1,2024-11-01,R,SECRET-garbage\r\n"
      "M2,F,L,1990-02-14,V2,2024-11-01,R,\r\n";
  auto claimed = Submit(csv);
  ASSERT_EQ(Run(claimed), LoadOutcome::kFinished);
  auto task = Task(claimed);
  EXPECT_EQ(task.state, TaskState::kSuccess);
  EXPECT_EQ(task.counters.error_count, 1);
  ExpectCountersAddUp(task.counters);
  ASSERT_EQ(task.errors.size(), 1u);
  EXPECT_EQ(task.errors[0].row, 1);
  EXPECT_FALSE(task.errors[0].field);
  EXPECT_EQ(task.errors[0].message, "unreadable _intake_problems cell");
  EXPECT_EQ(w.records.PatientCount(), 1u);
}

TEST_F(LoadTaskTest, ClientCsvColumnNamedLikeTheProblemsColumnIsIgnored) {
  IngestService ingest(w.objects, w.tasks, w.queue, w.clock, w.ids, w.metrics);
  auto session = ingest.BeginUpload(UploadFormat::kCsv);
  ASSERT_OK(session);
  ASSERT_OK(
      (*session)->Feed("mrn,first_name,last_name,birth_date,visit_account_number,visit_date,reason,"
                       "_intake_problems\n"
                       "M1,A,B,1990-01-01,V1,2024-01-01,R,mrn:missing\n"
                       "M2,A,B,1990-01-01,V2,2024-01-01,R,garbage\n"));
  auto receipt = (*session)->Finish();
  ASSERT_OK(receipt);
  EXPECT_EQ(Run(Claim()), LoadOutcome::kFinished);
  auto task = w.tasks.Task(receipt->task_id).value();
  EXPECT_EQ(task.counters.processed_records, 2);
  EXPECT_EQ(task.counters.error_count, 0);
  EXPECT_TRUE(task.errors.empty());
  EXPECT_EQ(w.records.PatientCount(), 2u);
}

// Five patients, one row each: every prefix of a run of them is a subset of the whole run.
std::vector<domain::VisitRecord> DistinctRecords() {
  return {Record(1), Record(2), Record(3), Record(4), Record(5)};
}

// What the object store served a task cut at `cut` bytes for `gets` reads.
struct CutRun {
  ports::TaskRecord task;
  fakes::FakeRecordStore::Tables tables;
  int gets = 0;
};

CutRun RunCut(const std::string& csv, std::size_t cut, int gets) {
  FakeWorld world;
  world.objects.ServeTruncated(cut, gets);
  const std::string id = RunOnly(world, csv);
  return {world.tasks.Task(id).value(), world.records.Snapshot(), world.objects.Calls("Get")};
}

// A store may answer a write before all of the object is readable (s3rver can). Wherever the
// first read is cut, the retry reads it whole and the end state is that of an uncut run.
TEST(LoadTaskCutObject, ObjectServedCutAtAnyByteIsReadAgainAndLoadsLikeAWholeOne) {
  const std::string csv = CsvOf(DistinctRecords());
  const auto [want_tables, want_counters] = Uninterrupted(csv);
  for (std::size_t cut = 0; cut < csv.size(); ++cut) {
    SCOPED_TRACE("cut at byte " + std::to_string(cut));
    const CutRun run = RunCut(csv, cut, 1);
    EXPECT_EQ(run.task.state, TaskState::kSuccess);
    EXPECT_EQ(run.tables, want_tables);
    EXPECT_EQ(run.task.counters, want_counters);
    EXPECT_TRUE(run.task.errors.empty());
    // Only the final LF missing: every byte of every row is there, and the first read is enough.
    EXPECT_EQ(run.gets, cut == csv.size() - 1 ? 1 : 2);
  }
}

// Cut for good: the task fails with the reason after its retries, and what it committed is the
// whole rows before the cut, as the uncut run stored them: no cut-off value, no row error.
TEST(LoadTaskCutObject, ObjectCutForGoodFailsTheTaskAndStoresOnlyWholeRows) {
  const std::string csv = CsvOf(DistinctRecords());
  const auto [want_tables, want_counters] = Uninterrupted(csv);
  for (std::size_t cut = 0; cut + 1 < csv.size(); ++cut) {
    SCOPED_TRACE("cut at byte " + std::to_string(cut));
    const CutRun run = RunCut(csv, cut, 1000);
    EXPECT_EQ(run.task.state, TaskState::kFailure);
    ASSERT_TRUE(run.task.failure_reason);
    EXPECT_TRUE(run.task.failure_reason->starts_with("retries exhausted: CSV object "));
    EXPECT_TRUE(run.task.failure_reason->ends_with(": it is incomplete"));
    EXPECT_EQ(run.task.counters.error_count, 0);
    EXPECT_TRUE(run.task.errors.empty());
    for (const auto& [id, patient] : run.tables.patients) {
      EXPECT_EQ(patient, want_tables.patients.at(id)) << "patient " << id;
    }
    for (const auto& [id, visit] : run.tables.visits) {
      EXPECT_EQ(visit, want_tables.visits.at(id)) << "visit " << id;
    }
  }
}

}  // namespace
}  // namespace intake::app::testing
