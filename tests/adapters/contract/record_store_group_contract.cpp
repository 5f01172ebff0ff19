// RecordStore::ApplyBatches contract: several tasks' batches end as the same batches applied one
// after the other; where the store groups them in one transaction, all or none.
#include <string>
#include <vector>

#include "adapters/contract/backend.hpp"
#include "adapters/contract/early_load_scenario.hpp"
#include "adapters/contract/test_util.hpp"

namespace intake::adapters::testing {
namespace {

using domain::RowInput;
using domain::TaskCounters;

RowInput Visit(std::int64_t row, std::string mrn, std::string first, std::string visit,
               std::string date) {
  return RowInput{row,
                  {std::move(mrn), std::move(first), "Doe", "1990-02-14", std::move(visit),
                   std::move(date), "Checkup"}};
}

TaskCounters Counters(std::int64_t processed, std::int64_t errors, std::int64_t p_created,
                      std::int64_t p_updated, std::int64_t p_unchanged, std::int64_t v_created,
                      std::int64_t v_updated) {
  TaskCounters c;
  c.processed_records = processed;
  c.error_count = errors;
  c.patients_created = p_created;
  c.patients_updated = p_updated;
  c.patients_unchanged = p_unchanged;
  c.visits_created = v_created;
  c.visits_updated = v_updated;
  return c;
}

class RecordStoreGroupContract : public BackendTest {
 protected:
  ports::TaskRecord NewTask(const std::string& id) {
    auto task =
        backend().tasks().CreateTask({id, id + ".csv", 3, std::chrono::system_clock::now()});
    EXPECT_TRUE(task.has_value()) << Describe(task);
    return task ? *task : ports::TaskRecord{};
  }

  bool Groups() { return backend().records().MaxGroupedBatches() > 1; }

  // "<mrn> <first_name>: <visit> <date>, …" for every patient, in id order.
  std::vector<std::string> Stored() {
    auto page = backend().records().ListPatients({}, 1, 100);
    EXPECT_TRUE(page.has_value()) << Describe(page);
    std::vector<std::string> out;
    for (const auto& p : page ? page->patients : std::vector<ports::PatientView>{}) {
      std::string line = p.mrn + " " + p.person.first_name + ":";
      for (const auto& v : p.visits) line += " " + v.visit_account_number + " " + v.visit_date;
      out.push_back(line);
    }
    return out;
  }
};

// The second task renames the first's patient and moves its other visit; the third names the
// first's visit under a new patient (rejected: creates nothing) and moves that visit.
TEST_P(RecordStoreGroupContract, BatchesEndAsAppliedOneAfterTheOther) {
  auto t1 = NewTask("t1");
  auto t2 = NewTask("t2");
  auto t3 = NewTask("t3");
  const std::vector<ports::BatchInput> batches = {
      BatchOf(
          t1, 0,
          {Visit(1, "M1", "John", "V1", "2024-01-01"), Visit(2, "M2", "Ann", "V2", "2024-01-01")}),
      BatchOf(t2, 0,
              {Visit(1, "M1", "Johnny", "V3", "2024-01-02"),
               Visit(2, "M2", "Ann", "V2", "2024-02-02")}),
      BatchOf(
          t3, 0,
          {Visit(1, "M3", "Eve", "V1", "2024-01-01"), Visit(2, "M1", "Jack", "V1", "2024-03-03")})};
  auto counters = backend().records().ApplyBatches(batches);
  ASSERT_OK(counters);
  ASSERT_EQ(counters->size(), 3u);
  EXPECT_EQ((*counters)[0], Counters(2, 0, 2, 0, 0, 2, 0));
  EXPECT_EQ((*counters)[1], Counters(2, 0, 0, 1, 1, 1, 1));
  EXPECT_EQ((*counters)[2], Counters(2, 1, 0, 1, 0, 0, 1));
  EXPECT_EQ(Stored(), (std::vector<std::string>{"M1 Jack: V3 2024-01-02 V1 2024-03-03",
                                                "M2 Ann: V2 2024-02-02"}));
  for (const auto* task : {&t1, &t2, &t3}) {
    auto stored = backend().tasks().GetTask(task->task_id, true);
    ASSERT_OK(stored);
    EXPECT_EQ(stored->rows_done, 2) << task->task_id;
    EXPECT_EQ(stored->state, domain::TaskState::kProgress) << task->task_id;
  }
  auto t3_stored = backend().tasks().GetTask("t3", true);
  ASSERT_OK(t3_stored);
  ASSERT_EQ(t3_stored->errors.size(), 1u);
  EXPECT_EQ(t3_stored->errors[0].row, 1);
}

// A batch refused (its task's progress moved) fails the call: a grouping store writes none of the
// batches; a store applying them one by one keeps those before it.
TEST_P(RecordStoreGroupContract, ARefusedBatchWritesNothingOfTheGroupWhereTheStoreGroups) {
  auto t1 = NewTask("t1");
  auto t2 = NewTask("t2");
  ASSERT_OK(ApplyRows(backend().records(), t2, 0, {Visit(1, "M2", "Ann", "V2", "2024-01-01")}));
  const std::vector<ports::BatchInput> batches = {
      BatchOf(t1, 0, {Visit(1, "M1", "John", "V1", "2024-01-01")}),
      BatchOf(t2, 0, {Visit(1, "M3", "Eve", "V3", "2024-01-01")})};  // t2 is at row 1
  EXPECT_CODE(backend().records().ApplyBatches(batches), ErrorCode::kConflict);
  auto t1_stored = backend().tasks().GetTask("t1", false);
  ASSERT_OK(t1_stored);
  if (Groups()) {
    EXPECT_EQ(Stored(), std::vector<std::string>{"M2 Ann: V2 2024-01-01"});
    EXPECT_EQ(t1_stored->rows_done, 0);
  } else {
    EXPECT_EQ(Stored(),
              (std::vector<std::string>{"M2 Ann: V2 2024-01-01", "M1 John: V1 2024-01-01"}));
    EXPECT_EQ(t1_stored->rows_done, 1);
  }
}

INSTANTIATE_TEST_SUITE_P(All, RecordStoreGroupContract, ::testing::ValuesIn(AllBackends()),
                         BackendName);

}  // namespace
}  // namespace intake::adapters::testing
