// RecordStore contract: batched apply through domain::PlanBatch, counters, progress checks, row
// errors, replays, and the patient queries.
#include <string>
#include <vector>

#include "adapters/contract/backend.hpp"
#include "adapters/contract/test_util.hpp"

namespace intake::adapters::testing {
namespace {

using domain::RowInput;
using domain::TaskCounters;

RowInput Row(std::int64_t row, std::string mrn, std::string first, std::string last,
             std::string visit, std::string visit_date = "2024-01-01",
             std::string reason = "Checkup", std::string birth = "1990-02-14") {
  return RowInput{row,
                  {std::move(mrn), std::move(first), std::move(last), std::move(birth),
                   std::move(visit), std::move(visit_date), std::move(reason)}};
}

class RecordStoreContract : public BackendTest {
 protected:
  ports::TaskRecord NewTask(const std::string& id) {
    auto task =
        backend().tasks().CreateTask({id, id + ".csv", 0, std::chrono::system_clock::now()});
    EXPECT_TRUE(task.has_value()) << Describe(task);
    return task ? *task : ports::TaskRecord{};
  }

  // Applies `rows` as the task's next batch (rows_done moves to the last row number).
  Result<TaskCounters> Apply(ports::TaskRecord& task, std::vector<RowInput> rows,
                             std::int64_t rejected = 0, std::vector<domain::RowError> errors = {}) {
    ports::BatchInput batch;
    batch.task_id = task.task_id;
    batch.task_seq = task.seq;
    batch.rows_done_before = task.rows_done;
    std::int64_t last = rows.empty() ? task.rows_done : rows.back().row;
    for (const auto& e : errors) last = std::max(last, e.row);
    batch.rows_done_after = last;
    batch.rows = std::move(rows);
    batch.rejected_rows = rejected;
    batch.row_errors = std::move(errors);
    auto result = backend().records().ApplyBatch(batch);
    if (result) task.rows_done = last;
    return result;
  }

  // Re-runs a finished-or-not task from the start, as POST /tasks/{id}/replay would.
  ports::TaskRecord Replay(const ports::TaskRecord& task) {
    EXPECT_OK(backend().tasks().FinishTask(task.task_id, domain::TaskState::kSuccess, std::nullopt,
                                           std::chrono::system_clock::now()));
    auto reset = backend().tasks().ResetForReplay(task.task_id);
    EXPECT_TRUE(reset.has_value()) << Describe(reset);
    return reset ? *reset : ports::TaskRecord{};
  }

  ports::PatientView OnlyPatient(ports::PatientFilter filter = {}) {
    auto page = backend().records().ListPatients(filter, 1, 100);
    EXPECT_TRUE(page.has_value()) << Describe(page);
    if (!page || page->patients.size() != 1) {
      ADD_FAILURE() << "expected exactly one patient";
      return {};
    }
    return page->patients.front();
  }

  std::vector<std::string> Mrns(const ports::PatientFilter& filter, std::int64_t page = 1,
                                std::int64_t page_size = 100) {
    auto result = backend().records().ListPatients(filter, page, page_size);
    EXPECT_TRUE(result.has_value()) << Describe(result);
    std::vector<std::string> out;
    if (result) {
      for (const auto& p : result->patients) out.push_back(p.mrn);
    }
    return out;
  }
};

void ExpectAddsUp(const TaskCounters& c) {
  EXPECT_EQ(c.processed_records,
            c.error_count + c.patients_created + c.patients_updated + c.patients_unchanged);
  EXPECT_EQ(c.processed_records,
            c.error_count + c.visits_created + c.visits_updated + c.visits_unchanged);
}

TEST_P(RecordStoreContract, ApplyCreatesPatientsPersonsAndVisits) {
  auto task = NewTask("t1");
  auto counters = Apply(task, {Row(1, "00123", "John", "Doe", "V1", "2024-11-01", "Annual"),
                               Row(2, "M2", "Ann", "Lee", "V2")});
  ASSERT_OK(counters);
  EXPECT_EQ(counters->patients_created, 2);
  EXPECT_EQ(counters->visits_created, 2);
  EXPECT_EQ(counters->processed_records, 2);
  ExpectAddsUp(*counters);

  auto page = backend().records().ListPatients({}, 1, 10);
  ASSERT_OK(page);
  ASSERT_EQ(page->total, 2);
  const auto& john = page->patients[0];
  EXPECT_EQ(john.mrn, "00123");
  EXPECT_EQ(john.person, (domain::Person{"John", "Doe", "1990-02-14"}));
  ASSERT_EQ(john.visits.size(), 1u);
  EXPECT_EQ(john.visits[0].visit_account_number, "V1");
  EXPECT_EQ(john.visits[0].visit_date, "2024-11-01");
  EXPECT_EQ(john.visits[0].reason, "Annual");

  auto by_id = backend().records().GetPatient(john.id);
  ASSERT_OK(by_id);
  EXPECT_EQ(by_id->mrn, "00123");
  EXPECT_EQ(by_id->visits.size(), 1u);
}

TEST_P(RecordStoreContract, KnownKeysUpdateOnlyWhereDifferent) {
  auto t1 = NewTask("t1");
  ASSERT_OK(Apply(t1, {Row(1, "M1", "John", "Doe", "V1", "2024-01-01", "A")}));
  auto t2 = NewTask("t2");
  auto c = Apply(t2, {Row(1, "M1", "Johnny", "Doe", "V1", "2024-01-01", "A"),
                      Row(2, "M1", "Johnny", "Doe", "V2", "2024-02-01", "B"),
                      Row(3, "M1", "Johnny", "Doe", "V1", "2024-01-05", "A")});
  ASSERT_OK(c);
  EXPECT_EQ(c->patients_updated, 1);
  EXPECT_EQ(c->patients_unchanged, 2);
  EXPECT_EQ(c->visits_created, 1);
  EXPECT_EQ(c->visits_unchanged, 1);
  EXPECT_EQ(c->visits_updated, 1);
  ExpectAddsUp(*c);
  auto p = OnlyPatient();
  EXPECT_EQ(p.person.first_name, "Johnny");
  ASSERT_EQ(p.visits.size(), 2u);
  EXPECT_EQ(p.visits[0].visit_date, "2024-01-05");
}

TEST_P(RecordStoreContract, VisitOfAnotherPatientIsRejectedAndChangesNothing) {
  auto t1 = NewTask("t1");
  ASSERT_OK(Apply(t1, {Row(1, "M1", "John", "Doe", "V1")}));
  auto t2 = NewTask("t2");
  auto c = Apply(t2, {Row(1, "M2", "Eve", "Roe", "V1"), Row(2, "M1", "John", "Doe", "V1")});
  ASSERT_OK(c);
  EXPECT_EQ(c->error_count, 1);
  EXPECT_EQ(c->patients_created, 0);
  ExpectAddsUp(*c);
  auto task = backend().tasks().GetTask("t2", true);
  ASSERT_OK(task);
  ASSERT_EQ(task->errors.size(), 1u);
  EXPECT_EQ(task->errors[0].row, 1);
  EXPECT_FALSE(task->errors[0].field.has_value());
  EXPECT_EQ(OnlyPatient().mrn, "M1");
}

TEST_P(RecordStoreContract, StaleRowsDoneIsAConflictAndWritesNothing) {
  auto task = NewTask("t1");
  ASSERT_OK(Apply(task, {Row(1, "M1", "John", "Doe", "V1")}));
  auto stale = task;
  stale.rows_done = 0;
  EXPECT_CODE(Apply(stale, {Row(2, "M2", "Ann", "Lee", "V2")}), ErrorCode::kConflict);
  auto page = backend().records().ListPatients({}, 1, 10);
  ASSERT_OK(page);
  EXPECT_EQ(page->total, 1);
  auto stored = backend().tasks().GetTask("t1", false);
  ASSERT_OK(stored);
  EXPECT_EQ(stored->rows_done, 1);
  EXPECT_EQ(stored->counters.processed_records, 1);
}

TEST_P(RecordStoreContract, UnknownTaskIsNotFound) {
  ports::BatchInput batch;
  batch.task_id = "nope";
  batch.task_seq = 1;
  batch.rows = {Row(1, "M1", "John", "Doe", "V1")};
  batch.rows_done_after = 1;
  EXPECT_CODE(backend().records().ApplyBatch(batch), ErrorCode::kNotFound);
}

TEST_P(RecordStoreContract, CountersAddUpAcrossBatchesWithRejectedRows) {
  auto task = NewTask("t1");
  ASSERT_OK(Apply(task, {Row(1, "M1", "A", "B", "V1"), Row(3, "M2", "C", "D", "V2")}, 1,
                  {{2, domain::Field::kBirthDate, "not a calendar date"}}));
  ports::BatchInput last;
  last.task_id = task.task_id;
  last.task_seq = task.seq;
  last.rows_done_before = 3;
  last.rows_done_after = 5;
  last.rows = {Row(4, "M1", "A", "B", "V3")};
  last.rejected_rows = 1;
  last.row_errors = {{5, domain::Field::kMrn, "missing"}, {5, domain::Field::kReason, "too long"}};
  last.total_records = 5;
  auto c = backend().records().ApplyBatch(last);
  ASSERT_OK(c);
  EXPECT_EQ(c->total_records, 5);
  EXPECT_EQ(c->processed_records, 5);
  EXPECT_EQ(c->error_count, 2);
  EXPECT_EQ(c->patients_created, 2);
  EXPECT_EQ(c->patients_unchanged, 1);
  EXPECT_EQ(c->visits_created, 3);
  ExpectAddsUp(*c);
  auto stored = backend().tasks().GetTask("t1", true);
  ASSERT_OK(stored);
  EXPECT_EQ(stored->counters, *c);
  EXPECT_EQ(stored->rows_done, 5);
  EXPECT_EQ(stored->state, domain::TaskState::kProgress);
  ASSERT_EQ(stored->errors.size(), 3u);
  EXPECT_EQ(stored->errors[0].row, 2);
  EXPECT_EQ(stored->errors[0].field, domain::Field::kBirthDate);
  EXPECT_EQ(stored->errors[1].field, domain::Field::kMrn);
  EXPECT_EQ(stored->errors[2].field, domain::Field::kReason);
}

TEST_P(RecordStoreContract, MarkProgressFalseKeepsState) {
  auto task = NewTask("t1");
  ports::BatchInput batch;
  batch.task_id = task.task_id;
  batch.task_seq = task.seq;
  batch.rows_done_after = 1;
  batch.rows = {Row(1, "M1", "A", "B", "V1")};
  batch.mark_progress = false;
  ASSERT_OK(backend().records().ApplyBatch(batch));
  auto stored = backend().tasks().GetTask("t1", false);
  ASSERT_OK(stored);
  EXPECT_EQ(stored->state, domain::TaskState::kPending);
}

TEST_P(RecordStoreContract, StoresAtMostMaxRowErrorsInRowOrder) {
  auto task = NewTask("t1");
  auto errors_for = [](std::int64_t from, std::int64_t to) {
    std::vector<domain::RowError> errors;
    for (std::int64_t r = from; r <= to; ++r) errors.push_back({r, domain::Field::kMrn, "bad"});
    return errors;
  };
  ASSERT_OK(Apply(task, {}, 700, errors_for(1, 700)));
  auto c = Apply(task, {Row(701, "M1", "A", "B", "V1")}, 500, errors_for(702, 1201));
  ASSERT_OK(c);
  EXPECT_EQ(c->error_count, 1200);
  EXPECT_EQ(c->processed_records, 1201);
  auto stored = backend().tasks().GetTask("t1", true);
  ASSERT_OK(stored);
  ASSERT_EQ(stored->errors.size(), domain::kMaxStoredRowErrors);
  EXPECT_EQ(stored->errors.front().row, 1);
  EXPECT_EQ(stored->errors[699].row, 700);
  EXPECT_EQ(stored->errors[700].row, 702);
  EXPECT_EQ(stored->errors.back().row, 1001);
}

TEST_P(RecordStoreContract, ReplayOfOlderTaskDoesNotOverwriteNewerValues) {
  auto t1 = NewTask("t1");
  ASSERT_OK(Apply(t1, {Row(1, "M1", "Old", "Name", "V1", "2024-01-01", "old reason")}));
  auto t2 = NewTask("t2");
  ASSERT_OK(Apply(t2, {Row(1, "M1", "New", "Name", "V1", "2024-01-01", "new reason")}));
  auto replay = Replay(t1);
  auto c = Apply(replay, {Row(1, "M1", "Old", "Name", "V1", "2024-01-01", "old reason")});
  ASSERT_OK(c);
  EXPECT_EQ(c->patients_unchanged, 1);
  EXPECT_EQ(c->visits_unchanged, 1);
  auto p = OnlyPatient();
  EXPECT_EQ(p.person.first_name, "New");
  EXPECT_EQ(p.visits.at(0).reason, "new reason");
}

TEST_P(RecordStoreContract, RerunOfSameTaskChangesNothing) {
  auto t1 = NewTask("t1");
  std::vector<RowInput> rows = {Row(1, "M1", "A", "B", "V1", "2024-01-01"),
                                Row(2, "M1", "A2", "B", "V1", "2024-01-02")};
  ASSERT_OK(Apply(t1, rows));
  auto before = OnlyPatient();
  auto replay = Replay(t1);
  auto c = Apply(replay, rows);
  ASSERT_OK(c);
  EXPECT_EQ(c->patients_created + c->patients_updated + c->visits_created + c->visits_updated, 0);
  auto after = OnlyPatient();
  EXPECT_EQ(after.person, before.person);
  EXPECT_EQ(after.visits.at(0).visit_date, "2024-01-02");
}

ports::PatientFilter Filter(std::optional<std::string> mrn, std::optional<std::string> first = {},
                            std::optional<std::string> last = {}) {
  ports::PatientFilter f;
  f.mrn = std::move(mrn);
  f.first_name = std::move(first);
  f.last_name = std::move(last);
  return f;
}

struct FilterCase {
  ports::PatientFilter filter;
  std::vector<std::string> expected_mrns;
};

TEST_P(RecordStoreContract, FiltersAreCaseInsensitiveLiteralSubstrings) {
  auto task = NewTask("t1");
  ASSERT_OK(
      Apply(task, {Row(1, "MRN-1001", "ZOË", "O'Brien", "V1"),
                   Row(2, "mrn-2002", "Zoe", "100%", "V2"), Row(3, "X_1", "Ann", "1000", "V3"),
                   Row(4, "XY1", "Ann", "a\\b", "V4"), Row(5, "Q%5", "ĳsbrand", "ab", "V5")}));
  const std::vector<FilterCase> cases = {
      {Filter("mrn-", {}, {}), {"MRN-1001", "mrn-2002"}},
      {Filter("MRN-1", {}, {}), {"MRN-1001"}},
      {Filter({}, "zoë", {}), {"MRN-1001"}},
      {Filter({}, "zo", {}), {"MRN-1001", "mrn-2002"}},
      {Filter({}, {}, "0%"), {"mrn-2002"}},
      {Filter({}, {}, "%"), {"mrn-2002"}},
      {Filter("X_", {}, {}), {"X_1"}},
      {Filter("_", {}, {}), {"X_1"}},
      {Filter({}, {}, "\\"), {"XY1"}},
      {Filter({}, {}, "A\\B"), {"XY1"}},
      {Filter("%", {}, {}), {"Q%5"}},
      {Filter({}, "ĲS", {}), {"Q%5"}},
      {Filter({}, "ann", "100"), {"X_1"}},
      {Filter({}, {}, "o'b"), {"MRN-1001"}},
      {Filter({}, "nobody", {}), {}},
  };
  for (const auto& c : cases) {
    SCOPED_TRACE(c.filter.mrn.value_or("-") + " / " + c.filter.first_name.value_or("-") + " / " +
                 c.filter.last_name.value_or("-"));
    EXPECT_EQ(Mrns(c.filter), c.expected_mrns);
    auto page = backend().records().ListPatients(c.filter, 1, 10);
    ASSERT_OK(page);
    EXPECT_EQ(page->total, static_cast<std::int64_t>(c.expected_mrns.size()));
  }
}

// Totals come from counters the load keeps and, with a filter, from a count cached per data
// version: a batch that adds a patient or renames a person must show in the next totals, and a
// batch that changes only visits leaves them as they were.
TEST_P(RecordStoreContract, TotalsFollowEveryBatch) {
  auto task = NewTask("t1");
  ASSERT_OK(Apply(task, {Row(1, "M1", "Ann", "Berg", "V1"), Row(2, "M2", "Bo", "Smith", "V2")}));
  const auto total = [&](const ports::PatientFilter& filter) {
    auto page = backend().records().ListPatients(filter, 1, 10);
    EXPECT_TRUE(page.has_value()) << Describe(page);
    return page ? page->total : -1;
  };
  const auto berg = Filter({}, {}, "berg");
  EXPECT_EQ(total({}), 2);
  EXPECT_EQ(total(berg), 1);
  ASSERT_OK(Apply(task, {Row(3, "M2", "Bo", "Bergman", "V3")}));  // a rename into the filter
  EXPECT_EQ(total(berg), 2);
  EXPECT_EQ(total({}), 2);
  ASSERT_OK(Apply(task, {Row(4, "M3", "Cy", "Berg", "V4")}));  // a new patient
  EXPECT_EQ(total(berg), 3);
  EXPECT_EQ(total({}), 3);
  ASSERT_OK(Apply(task, {Row(5, "M3", "Cy", "Berg", "V5")}));  // a visit only
  EXPECT_EQ(total(berg), 3);
  EXPECT_EQ(Mrns(berg), (std::vector<std::string>{"M1", "M2", "M3"}));
}

TEST_P(RecordStoreContract, PagesAreOrderedById) {
  auto task = NewTask("t1");
  std::vector<RowInput> rows;
  for (int i = 1; i <= 25; ++i) {
    rows.push_back(Row(i, "M" + std::to_string(100 - i), "F", "L", "V" + std::to_string(i)));
  }
  ASSERT_OK(Apply(task, rows));
  auto page2 = backend().records().ListPatients({}, 2, 10);
  ASSERT_OK(page2);
  EXPECT_EQ(page2->total, 25);
  ASSERT_EQ(page2->patients.size(), 10u);
  for (std::size_t i = 1; i < page2->patients.size(); ++i) {
    EXPECT_LT(page2->patients[i - 1].id, page2->patients[i].id);
  }
  EXPECT_EQ(page2->patients.front().mrn, "M89");  // the 11th created
  EXPECT_EQ(backend().records().ListPatients({}, 3, 10)->patients.size(), 5u);
  auto beyond = backend().records().ListPatients({}, 4, 10);
  ASSERT_OK(beyond);
  EXPECT_EQ(beyond->total, 25);
  EXPECT_TRUE(beyond->patients.empty());
  auto far = backend().records().ListPatients({}, std::numeric_limits<std::int64_t>::max(), 100);
  ASSERT_OK(far);
  EXPECT_TRUE(far->patients.empty());
}

TEST_P(RecordStoreContract, VisitsAreOrderedByDateThenId) {
  auto task = NewTask("t1");
  ASSERT_OK(Apply(
      task,
      {Row(1, "M1", "A", "B", "V-c", "2024-03-01"), Row(2, "M1", "A", "B", "V-a", "2024-01-01"),
       Row(3, "M2", "C", "D", "V-x", "2023-01-01"), Row(4, "M1", "A", "B", "V-b", "2024-01-01")}));
  auto page = backend().records().ListPatients({}, 1, 10);
  ASSERT_OK(page);
  ASSERT_EQ(page->patients.size(), 2u);
  std::vector<std::string> numbers;
  for (const auto& v : page->patients[0].visits) numbers.push_back(v.visit_account_number);
  EXPECT_EQ(numbers, (std::vector<std::string>{"V-a", "V-b", "V-c"}));
  EXPECT_EQ(page->patients[1].visits.size(), 1u);
  auto one = backend().records().GetPatient(page->patients[0].id);
  ASSERT_OK(one);
  ASSERT_EQ(one->visits.size(), 3u);
  EXPECT_EQ(one->visits[0].visit_account_number, "V-a");
  EXPECT_EQ(one->visits[2].visit_account_number, "V-c");
}

TEST_P(RecordStoreContract, UnknownPatientIsNotFoundWithMessage) {
  auto missing = backend().records().GetPatient(999);
  EXPECT_CODE(missing, ErrorCode::kNotFound);
  EXPECT_EQ(ErrorFrom(missing).message, "Patient with ID 999 not found");
  EXPECT_CODE(backend().records().GetPatient(-1), ErrorCode::kNotFound);
}

TEST_P(RecordStoreContract, ValuesAreKeptExactly) {
  auto task = NewTask("t1");
  ASSERT_OK(
      Apply(task, {Row(1, " 007 ", "NA", "Null", "V 1", "2024-01-01", "line1\nline2\t\"q\"")}));
  auto p = OnlyPatient();
  EXPECT_EQ(p.mrn, " 007 ");
  EXPECT_EQ(p.person.first_name, "NA");
  EXPECT_EQ(p.person.last_name, "Null");
  EXPECT_EQ(p.visits.at(0).reason, "line1\nline2\t\"q\"");
}

TEST_P(RecordStoreContract, LargeBatchAppliesAndCountsEveryRow) {
  auto task = NewTask("t1");
  std::vector<RowInput> rows;
  for (int i = 1; i <= 5000; ++i) {
    rows.push_back(Row(i, "M" + std::to_string(i % 2500), "F" + std::to_string(i % 7), "L",
                       "V" + std::to_string(i % 4000), "2024-01-01", "r"));
  }
  auto c = Apply(task, rows);
  ASSERT_OK(c);
  EXPECT_EQ(c->processed_records, 5000);
  EXPECT_EQ(c->patients_created, 2500);
  ExpectAddsUp(*c);
  auto page = backend().records().ListPatients({}, 1, 100);
  ASSERT_OK(page);
  EXPECT_EQ(page->total, 2500);
}

TEST_P(RecordStoreContract, CheckSucceeds) { EXPECT_OK(backend().records().Check()); }

INSTANTIATE_TEST_SUITE_P(All, RecordStoreContract, ::testing::ValuesIn(AllBackends()), BackendName);

}  // namespace
}  // namespace intake::adapters::testing
