#include "domain/merge_rules.hpp"

#include <gtest/gtest.h>

#include <set>
#include <string>
#include <vector>

namespace intake::domain {
namespace {

constexpr std::int64_t kTask = 5;

RowInput Row(std::int64_t row, std::string mrn, std::string visit, std::string first = "John",
             std::string visit_date = "2024-11-01", std::string reason = "Checkup") {
  return RowInput{row, VisitRecord{std::move(mrn), std::move(first), "Doe", "1990-02-14",
                                   std::move(visit), std::move(visit_date), std::move(reason)}};
}

void StorePatient(ExistingState& state, std::int64_t id, const std::string& mrn, Position pos,
                  std::string first = "John") {
  state.patients_by_mrn[mrn] =
      StoredPatient{id, Person{std::move(first), "Doe", "1990-02-14"}, pos};
}

void StoreVisit(ExistingState& state, std::int64_t id, const std::string& number,
                std::int64_t patient_id, Position pos, std::string visit_date = "2024-11-01",
                std::string reason = "Checkup") {
  state.visits_by_number[number] =
      StoredVisit{id, patient_id, std::move(visit_date), std::move(reason), pos};
}

// The invariant of TaskCounters.
void ExpectCountersAddUp(const BatchPlan& plan, std::size_t rows) {
  const TaskCounters& c = plan.counters;
  EXPECT_EQ(c.processed_records, static_cast<std::int64_t>(rows));
  EXPECT_EQ(c.total_records, 0);
  EXPECT_EQ(c.processed_records,
            c.error_count + c.patients_created + c.patients_updated + c.patients_unchanged);
  EXPECT_EQ(c.processed_records,
            c.error_count + c.visits_created + c.visits_updated + c.visits_unchanged);
  EXPECT_EQ(static_cast<std::int64_t>(plan.errors.size()), c.error_count);
}

BatchPlan Plan(const std::vector<RowInput>& rows, const ExistingState& state = {},
               std::int64_t task = kTask) {
  BatchPlan plan = PlanBatch(task, rows, state);
  ExpectCountersAddUp(plan, rows.size());
  return plan;
}

bool NoWrites(const BatchPlan& plan) {
  return plan.new_patients.empty() && plan.patient_updates.empty() && plan.new_visits.empty() &&
         plan.visit_updates.empty();
}

// WritesRecords decides whether a PostgreSQL batch bumps records_version (and whether the next one
// may load early): true exactly when some row is written, a new position alone included.
TEST(PlanBatch, WritesRecordsIsTrueExactlyWhenSomeRowIsWritten) {
  EXPECT_FALSE(Plan({}).WritesRecords());
  EXPECT_TRUE(Plan({Row(1, "M-1", "V-1")}).WritesRecords());

  ExistingState same;  // this very row, already applied: a replay
  StorePatient(same, 7, "M-1", {kTask, 1});
  StoreVisit(same, 9, "V-1", 7, {kTask, 1});
  const BatchPlan replay = Plan({Row(1, "M-1", "V-1")}, same);
  EXPECT_TRUE(NoWrites(replay));
  EXPECT_FALSE(replay.WritesRecords());

  ExistingState older;  // the same values from an older task: only the positions move
  StorePatient(older, 7, "M-1", {kTask - 1, 1});
  StoreVisit(older, 9, "V-1", 7, {kTask - 1, 1});
  const BatchPlan moved = Plan({Row(1, "M-1", "V-1")}, older);
  EXPECT_FALSE(NoWrites(moved));
  EXPECT_FALSE(moved.ChangesPatients());
  EXPECT_TRUE(moved.WritesRecords());
}

TEST(PlanBatch, EmptyBatchPlansNothing) {
  const BatchPlan plan = Plan({});
  EXPECT_TRUE(NoWrites(plan));
  EXPECT_EQ(plan.counters, TaskCounters{});
}

TEST(PlanBatch, UnknownMrnCreatesPatientAndVisit) {
  const BatchPlan plan = Plan({Row(1, "M1", "V1")});
  ASSERT_EQ(plan.new_patients.size(), 1u);
  EXPECT_EQ(plan.new_patients[0].mrn, "M1");
  EXPECT_EQ(plan.new_patients[0].person, (Person{"John", "Doe", "1990-02-14"}));
  EXPECT_EQ(plan.new_patients[0].pos, (Position{kTask, 1}));
  ASSERT_EQ(plan.new_visits.size(), 1u);
  EXPECT_EQ(plan.new_visits[0].visit_account_number, "V1");
  EXPECT_EQ(plan.new_visits[0].patient, (PatientRef{true, 0}));
  EXPECT_EQ(plan.new_visits[0].visit_date, "2024-11-01");
  EXPECT_EQ(plan.new_visits[0].reason, "Checkup");
  EXPECT_EQ(plan.new_visits[0].pos, (Position{kTask, 1}));
  EXPECT_EQ(plan.counters.patients_created, 1);
  EXPECT_EQ(plan.counters.visits_created, 1);
}

TEST(PlanBatch, DeduplicatesPatientsByMrnWithinBatch) {
  const BatchPlan plan = Plan({Row(1, "M1", "V1"), Row(2, "M1", "V2"), Row(3, "M2", "V3")});
  ASSERT_EQ(plan.new_patients.size(), 2u);
  EXPECT_EQ(plan.new_patients[0].mrn, "M1");
  EXPECT_EQ(plan.new_patients[1].mrn, "M2");
  ASSERT_EQ(plan.new_visits.size(), 3u);
  EXPECT_EQ(plan.new_visits[0].patient, (PatientRef{true, 0}));
  EXPECT_EQ(plan.new_visits[1].patient, (PatientRef{true, 0}));
  EXPECT_EQ(plan.new_visits[2].patient, (PatientRef{true, 1}));
  EXPECT_EQ(plan.counters.patients_created, 2);
  EXPECT_EQ(plan.counters.patients_unchanged, 1);
  EXPECT_EQ(plan.counters.visits_created, 3);
}

TEST(PlanBatch, MrnKeptExactlyAsSent) {
  const BatchPlan plan = Plan({Row(1, "00123", "V1"), Row(2, "123", "V2")});
  ASSERT_EQ(plan.new_patients.size(), 2u);
  EXPECT_EQ(plan.new_patients[0].mrn, "00123");
  EXPECT_EQ(plan.new_patients[1].mrn, "123");
}

TEST(PlanBatch, NewPatientCarriesFinalValuesOfTheBatch) {
  const BatchPlan plan =
      Plan({Row(1, "M1", "V1", "Jon"), Row(2, "M1", "V1", "John", "2024-12-01", "Follow-up")});
  ASSERT_EQ(plan.new_patients.size(), 1u);
  EXPECT_EQ(plan.new_patients[0].person.first_name, "John");
  EXPECT_EQ(plan.new_patients[0].pos, (Position{kTask, 2}));
  ASSERT_EQ(plan.new_visits.size(), 1u);
  EXPECT_EQ(plan.new_visits[0].visit_date, "2024-12-01");
  EXPECT_EQ(plan.new_visits[0].reason, "Follow-up");
  EXPECT_EQ(plan.new_visits[0].pos, (Position{kTask, 2}));
  EXPECT_EQ(plan.counters.patients_created, 1);
  EXPECT_EQ(plan.counters.patients_updated, 1);
  EXPECT_EQ(plan.counters.visits_created, 1);
  EXPECT_EQ(plan.counters.visits_updated, 1);
}

TEST(PlanBatch, KnownPatientWithDifferentValuesIsUpdated) {
  ExistingState state;
  StorePatient(state, 42, "M1", {1, 1}, "Jon");
  const BatchPlan plan = Plan({Row(1, "M1", "V1", "John")}, state);
  EXPECT_TRUE(plan.new_patients.empty());
  ASSERT_EQ(plan.patient_updates.size(), 1u);
  EXPECT_EQ(plan.patient_updates[0].id, 42);
  EXPECT_EQ(plan.patient_updates[0].person.first_name, "John");
  EXPECT_EQ(plan.patient_updates[0].pos, (Position{kTask, 1}));
  ASSERT_EQ(plan.new_visits.size(), 1u);
  EXPECT_EQ(plan.new_visits[0].patient, (PatientRef{false, 42}));
  EXPECT_EQ(plan.counters.patients_updated, 1);
  EXPECT_EQ(plan.counters.visits_created, 1);
}

TEST(PlanBatch, EachPersonFieldCountsAsAChange) {
  for (int field = 0; field < 3; ++field) {
    ExistingState state;
    StorePatient(state, 1, "M1", {1, 1});
    RowInput row = Row(1, "M1", "V1");
    if (field == 0) row.record.first_name = "Jim";
    if (field == 1) row.record.last_name = "Roe";
    if (field == 2) row.record.birth_date = "1990-02-15";
    const BatchPlan plan = Plan({row}, state);
    EXPECT_EQ(plan.counters.patients_updated, 1) << field;
  }
}

TEST(PlanBatch, SameValuesFromLaterTaskBumpPositionOnly) {
  ExistingState state;
  StorePatient(state, 7, "M1", {1, 3});
  StoreVisit(state, 70, "V1", 7, {1, 3});
  const BatchPlan plan = Plan({Row(2, "M1", "V1")}, state);
  ASSERT_EQ(plan.patient_updates.size(), 1u);
  EXPECT_EQ(plan.patient_updates[0].pos, (Position{kTask, 2}));
  EXPECT_EQ(plan.patient_updates[0].person, (Person{"John", "Doe", "1990-02-14"}));
  ASSERT_EQ(plan.visit_updates.size(), 1u);
  EXPECT_EQ(plan.visit_updates[0].id, 70);
  EXPECT_EQ(plan.visit_updates[0].pos, (Position{kTask, 2}));
  EXPECT_EQ(plan.counters.patients_unchanged, 1);
  EXPECT_EQ(plan.counters.visits_unchanged, 1);
  EXPECT_EQ(plan.counters.patients_updated, 0);
  EXPECT_EQ(plan.counters.visits_updated, 0);
}

TEST(PlanBatch, KnownVisitOfSamePatientIsUpdatedWhereDifferent) {
  ExistingState state;
  StorePatient(state, 7, "M1", {1, 1});
  StoreVisit(state, 70, "V1", 7, {1, 1}, "2024-11-01", "Checkup");
  const BatchPlan plan = Plan({Row(1, "M1", "V1", "John", "2024-11-02", "Checkup")}, state);
  EXPECT_TRUE(plan.new_visits.empty());
  ASSERT_EQ(plan.visit_updates.size(), 1u);
  EXPECT_EQ(plan.visit_updates[0].visit_date, "2024-11-02");
  EXPECT_EQ(plan.visit_updates[0].reason, "Checkup");
  EXPECT_EQ(plan.counters.visits_updated, 1);
  EXPECT_EQ(plan.counters.patients_unchanged, 1);
}

TEST(PlanBatch, ReasonChangeCountsAsVisitUpdate) {
  ExistingState state;
  StorePatient(state, 7, "M1", {1, 1});
  StoreVisit(state, 70, "V1", 7, {1, 1});
  const BatchPlan plan = Plan({Row(1, "M1", "V1", "John", "2024-11-01", "Other")}, state);
  ASSERT_EQ(plan.visit_updates.size(), 1u);
  EXPECT_EQ(plan.visit_updates[0].reason, "Other");
  EXPECT_EQ(plan.counters.visits_updated, 1);
}

TEST(PlanBatch, VisitOfAnotherStoredPatientRejectsTheRow) {
  ExistingState state;
  StorePatient(state, 1, "M1", {1, 1});
  StorePatient(state, 2, "M2", {1, 2}, "Jane");
  StoreVisit(state, 10, "V1", 1, {1, 1});
  const BatchPlan plan = Plan({Row(4, "M2", "V1", "Janet", "2030-01-01", "Moved")}, state);
  EXPECT_TRUE(NoWrites(plan));
  ASSERT_EQ(plan.errors.size(), 1u);
  EXPECT_EQ(plan.errors[0],
            (RowError{4, std::nullopt, "visit_account_number already belongs to another patient"}));
  EXPECT_EQ(plan.counters.error_count, 1);
}

TEST(PlanBatch, ConflictingRowDoesNotCreateItsPatient) {
  ExistingState state;
  StorePatient(state, 1, "M1", {1, 1});
  StoreVisit(state, 10, "V1", 1, {1, 1});
  const BatchPlan plan = Plan({Row(1, "NEW", "V1")}, state);
  EXPECT_TRUE(NoWrites(plan));
  EXPECT_EQ(plan.counters.error_count, 1);
  EXPECT_EQ(plan.counters.patients_created, 0);
}

TEST(PlanBatch, ConflictWithinBatchRejectsLaterRow) {
  const BatchPlan plan = Plan({Row(1, "M1", "V1"), Row(2, "M2", "V1"), Row(3, "M2", "V2")});
  ASSERT_EQ(plan.errors.size(), 1u);
  EXPECT_EQ(plan.errors[0].row, 2);
  ASSERT_EQ(plan.new_patients.size(), 2u);  // M2 created by row 3, not row 2
  EXPECT_EQ(plan.new_patients[1].mrn, "M2");
  EXPECT_EQ(plan.new_patients[1].pos, (Position{kTask, 3}));
  ASSERT_EQ(plan.new_visits.size(), 2u);
  EXPECT_EQ(plan.new_visits[0].patient, (PatientRef{true, 0}));
  EXPECT_EQ(plan.new_visits[1].patient, (PatientRef{true, 1}));
  EXPECT_EQ(plan.counters.patients_created, 2);
  EXPECT_EQ(plan.counters.visits_created, 2);
}

TEST(PlanBatch, ConflictingRowLeavesExistingPatientUntouched) {
  ExistingState state;
  StorePatient(state, 1, "M1", {1, 1});
  StorePatient(state, 2, "M2", {1, 2});
  StoreVisit(state, 10, "V1", 1, {1, 1});
  const BatchPlan plan = Plan({Row(1, "M2", "V1", "Changed")}, state);
  EXPECT_TRUE(plan.patient_updates.empty());
  EXPECT_EQ(plan.counters.patients_updated + plan.counters.patients_unchanged, 0);
}

TEST(PlanBatch, RejectedRowsStillCountAsProcessed) {
  ExistingState state;
  StorePatient(state, 1, "M1", {1, 1});
  StoreVisit(state, 10, "V1", 1, {1, 1});
  const BatchPlan plan = Plan({Row(1, "M2", "V1"), Row(2, "M3", "V1"), Row(3, "M1", "V1")}, state);
  EXPECT_EQ(plan.counters.processed_records, 3);
  EXPECT_EQ(plan.counters.error_count, 2);
  ASSERT_EQ(plan.errors.size(), 2u);
  EXPECT_EQ(plan.errors[0].row, 1);
  EXPECT_EQ(plan.errors[1].row, 2);
}

TEST(PlanBatch, ReplayOfSameTaskChangesNothing) {
  const std::vector<RowInput> rows = {Row(1, "M1", "V1", "Jon"), Row(2, "M1", "V2", "John"),
                                      Row(3, "M2", "V3")};
  // The state the first run left behind.
  ExistingState state;
  StorePatient(state, 1, "M1", {kTask, 2}, "John");
  StorePatient(state, 2, "M2", {kTask, 3});
  StoreVisit(state, 10, "V1", 1, {kTask, 1});
  StoreVisit(state, 11, "V2", 1, {kTask, 2});
  StoreVisit(state, 12, "V3", 2, {kTask, 3});
  const BatchPlan plan = Plan(rows, state);
  EXPECT_TRUE(NoWrites(plan));
  EXPECT_EQ(plan.counters.patients_unchanged, 3);
  EXPECT_EQ(plan.counters.visits_unchanged, 3);
}

TEST(PlanBatch, OlderTaskNeverOverwritesNewerValues) {
  ExistingState state;
  StorePatient(state, 1, "M1", {kTask + 1, 1}, "Newer");
  StoreVisit(state, 10, "V1", 1, {kTask + 1, 1}, "2025-01-01", "Newer reason");
  const BatchPlan plan = Plan({Row(100, "M1", "V1", "Older", "2020-01-01", "Older reason")}, state);
  EXPECT_TRUE(NoWrites(plan));
  EXPECT_EQ(plan.counters.patients_unchanged, 1);
  EXPECT_EQ(plan.counters.visits_unchanged, 1);
}

TEST(PlanBatch, LaterRowOfSameTaskWins) {
  ExistingState state;
  StorePatient(state, 1, "M1", {kTask, 2}, "Row2");
  const BatchPlan plan = Plan({Row(1, "M1", "V1", "Row1"), Row(3, "M1", "V2", "Row3")}, state);
  ASSERT_EQ(plan.patient_updates.size(), 1u);
  EXPECT_EQ(plan.patient_updates[0].person.first_name, "Row3");
  EXPECT_EQ(plan.patient_updates[0].pos, (Position{kTask, 3}));
  EXPECT_EQ(plan.counters.patients_unchanged, 1);
  EXPECT_EQ(plan.counters.patients_updated, 1);
}

TEST(PlanBatch, NewerPatientDoesNotBlockNewVisit) {
  ExistingState state;
  StorePatient(state, 1, "M1", {kTask + 1, 1}, "Newer");
  const BatchPlan plan = Plan({Row(1, "M1", "V9", "Older")}, state);
  EXPECT_TRUE(plan.patient_updates.empty());
  ASSERT_EQ(plan.new_visits.size(), 1u);
  EXPECT_EQ(plan.new_visits[0].patient, (PatientRef{false, 1}));
  EXPECT_EQ(plan.counters.patients_unchanged, 1);
  EXPECT_EQ(plan.counters.visits_created, 1);
}

TEST(PlanBatch, OneUpdatePerEntityWithFinalValues) {
  ExistingState state;
  StorePatient(state, 1, "M1", {1, 1}, "A");
  StoreVisit(state, 10, "V1", 1, {1, 1});
  const BatchPlan plan =
      Plan({Row(1, "M1", "V1", "B", "2024-01-01"), Row(2, "M1", "V1", "C", "2024-01-02"),
            Row(3, "M1", "V1", "C", "2024-01-02")},
           state);
  ASSERT_EQ(plan.patient_updates.size(), 1u);
  EXPECT_EQ(plan.patient_updates[0].person.first_name, "C");
  EXPECT_EQ(plan.patient_updates[0].pos, (Position{kTask, 3}));
  ASSERT_EQ(plan.visit_updates.size(), 1u);
  EXPECT_EQ(plan.visit_updates[0].visit_date, "2024-01-02");
  EXPECT_EQ(plan.visit_updates[0].pos, (Position{kTask, 3}));
  EXPECT_EQ(plan.counters.patients_updated, 2);
  EXPECT_EQ(plan.counters.patients_unchanged, 1);
  EXPECT_EQ(plan.counters.visits_updated, 2);
  EXPECT_EQ(plan.counters.visits_unchanged, 1);
}

TEST(PlanBatch, BackAndForthWithinBatchStillCountsUpdates) {
  ExistingState state;
  StorePatient(state, 1, "M1", {1, 1}, "A");
  const BatchPlan plan = Plan({Row(1, "M1", "V1", "B"), Row(2, "M1", "V2", "A")}, state);
  ASSERT_EQ(plan.patient_updates.size(), 1u);
  EXPECT_EQ(plan.patient_updates[0].person.first_name, "A");
  EXPECT_EQ(plan.counters.patients_updated, 2);
}

TEST(PlanBatch, VisitsForExistingPatientReferToItsId) {
  ExistingState state;
  StorePatient(state, 9, "M9", {1, 1});
  const BatchPlan plan = Plan({Row(1, "M1", "V1"), Row(2, "M9", "V2")}, state);
  ASSERT_EQ(plan.new_visits.size(), 2u);
  EXPECT_EQ(plan.new_visits[0].patient, (PatientRef{true, 0}));
  EXPECT_EQ(plan.new_visits[1].patient, (PatientRef{false, 9}));
}

TEST(PlanBatch, StoredVisitOfPatientNotInStateIsAConflict) {
  // The visit's owner (id 99) was not loaded because its MRN is not in the batch.
  ExistingState state;
  StoreVisit(state, 10, "V1", 99, {1, 1});
  const BatchPlan plan = Plan({Row(1, "M1", "V1")}, state);
  EXPECT_TRUE(NoWrites(plan));
  EXPECT_EQ(plan.counters.error_count, 1);
}

TEST(PlanBatch, IsDeterministic) {
  ExistingState state;
  StorePatient(state, 1, "M1", {1, 1}, "A");
  StorePatient(state, 2, "M2", {1, 1}, "A");
  StorePatient(state, 3, "M3", {1, 1}, "A");
  std::vector<RowInput> rows;
  for (int i = 1; i <= 30; ++i) {
    rows.push_back(
        Row(i, "M" + std::to_string(i % 5), "V" + std::to_string(i % 7), "N" + std::to_string(i)));
  }
  const BatchPlan a = Plan(rows, state);
  const BatchPlan b = Plan(rows, state);
  ASSERT_EQ(a.patient_updates.size(), b.patient_updates.size());
  for (std::size_t i = 0; i < a.patient_updates.size(); ++i) {
    EXPECT_EQ(a.patient_updates[i].id, b.patient_updates[i].id);
  }
  ASSERT_EQ(a.new_patients.size(), b.new_patients.size());
  for (std::size_t i = 0; i < a.new_patients.size(); ++i) {
    EXPECT_EQ(a.new_patients[i].mrn, b.new_patients[i].mrn);
  }
  EXPECT_EQ(a.counters, b.counters);
  EXPECT_EQ(a.errors, b.errors);
}

TEST(PlanBatch, CountersAddUpOnAMixedBatch) {
  ExistingState state;
  StorePatient(state, 1, "M1", {1, 1}, "A");
  StorePatient(state, 2, "M2", {kTask + 1, 1}, "A");
  StoreVisit(state, 10, "V1", 1, {1, 1});
  StoreVisit(state, 20, "V2", 2, {kTask + 1, 1});
  std::vector<RowInput> rows;
  for (int i = 1; i <= 200; ++i) {
    rows.push_back(Row(i, "M" + std::to_string(i % 13), "V" + std::to_string(i % 17),
                       "N" + std::to_string(i % 3), "2024-01-0" + std::to_string(1 + i % 5)));
  }
  const BatchPlan plan = Plan(rows, state);  // Plan() checks the invariant
  EXPECT_GT(plan.counters.error_count, 0);
  EXPECT_GT(plan.counters.patients_created, 0);
  EXPECT_GT(plan.counters.visits_updated, 0);
  // At most one write per entity.
  std::set<std::string> visit_numbers;
  for (const NewVisit& v : plan.new_visits) {
    EXPECT_TRUE(visit_numbers.insert(v.visit_account_number).second);
  }
  std::set<std::int64_t> updated_visits;
  for (const VisitUpdate& v : plan.visit_updates) EXPECT_TRUE(updated_visits.insert(v.id).second);
  std::set<std::int64_t> updated_patients;
  for (const PatientUpdate& p : plan.patient_updates) {
    EXPECT_TRUE(updated_patients.insert(p.id).second);
  }
  for (const NewVisit& v : plan.new_visits) {
    if (v.patient.is_new) {
      EXPECT_LT(v.patient.value, static_cast<std::int64_t>(plan.new_patients.size()));
    }
  }
}

TEST(PlanBatch, LargeBatchOfDistinctRows) {
  std::vector<RowInput> rows;
  rows.reserve(50000);
  for (int i = 1; i <= 50000; ++i) {
    rows.push_back(Row(i, "M" + std::to_string(i / 2), "V" + std::to_string(i)));
  }
  const BatchPlan plan = Plan(rows);
  EXPECT_EQ(plan.new_patients.size(), 25001u);
  EXPECT_EQ(plan.new_visits.size(), 50000u);
}

}  // namespace
}  // namespace intake::domain
