// The apply rules of SPEC §4 as a pure planner: given a batch of validated rows and the stored
// state of the patients and visits they name, decide every insert and update and the row counters.
// The record store loads that state, calls PlanBatch and writes the plan in one transaction.
#pragma once

#include <compare>
#include <cstdint>
#include <span>
#include <string>
#include <unordered_map>
#include <vector>

#include "domain/task.hpp"
#include "domain/visit_record.hpp"

namespace intake::domain {

// Where a value came from: (task sequence, 1-based row). Compared lexicographically. A row never
// overwrites an entity last written from a later position.
struct Position {
  std::int64_t task_seq = 0;
  std::int64_t row = 0;
  auto operator<=>(const Position&) const = default;
};

struct Person {
  std::string first_name;
  std::string last_name;
  std::string birth_date;
  bool operator==(const Person&) const = default;
};

struct StoredPatient {
  std::int64_t id = 0;
  Person person;
  Position pos;
};

struct StoredVisit {
  std::int64_t id = 0;
  std::int64_t patient_id = 0;
  std::string visit_date;
  std::string reason;
  Position pos;
};

// The stored state a batch depends on: at least every patient whose MRN and every visit whose
// number appears in the batch (absent key = not stored).
struct ExistingState {
  std::unordered_map<std::string, StoredPatient> patients_by_mrn;
  std::unordered_map<std::string, StoredVisit> visits_by_number;
};

// A validated row with its 1-based row number.
struct RowInput {
  std::int64_t row = 0;
  VisitRecord record;
};

// A patient either already stored (id) or created by this plan (index into
// BatchPlan::new_patients).
struct PatientRef {
  bool is_new = false;
  std::int64_t value = 0;  // patient id, or index into new_patients
  bool operator==(const PatientRef&) const = default;
};

struct NewPatient {
  std::string mrn;
  Person person;  // final values after every row of the batch
  Position pos;   // position of the last row that wrote it
};
struct PatientUpdate {  // at most one per patient id: the final values and position
  std::int64_t id = 0;
  Person person;
  Position pos;
};
struct NewVisit {
  std::string visit_account_number;
  PatientRef patient;
  std::string visit_date;
  std::string reason;
  Position pos;
};
struct VisitUpdate {  // at most one per visit id
  std::int64_t id = 0;
  std::string visit_date;
  std::string reason;
  Position pos;
};

struct BatchPlan {
  std::vector<NewPatient> new_patients;
  std::vector<PatientUpdate> patient_updates;
  std::vector<NewVisit> new_visits;
  std::vector<VisitUpdate> visit_updates;
  // processed_records, patients_*, visits_* and error_count (conflicts) for these rows;
  // total_records is left 0.
  TaskCounters counters;
  std::vector<RowError> errors;  // visit conflicts, in row order

  // True when applying the plan creates a patient or changes a person's values: what patient
  // lists, their totals and their filters can see.
  bool ChangesPatients() const { return counters.patients_created + counters.patients_updated > 0; }
  // True when applying the plan writes any patient, person or visit row (a new position
  // included); false when every row is unchanged, or the batch has none.
  bool WritesRecords() const {
    return !new_patients.empty() || !patient_updates.empty() || !new_visits.empty() ||
           !visit_updates.empty();
  }
};

// Applies the rules, in row order, to `rows` of task `task_seq`:
// - Patient by MRN: unknown → created; known → person values replaced where they differ
//   (patients_updated) unless the stored position is later (patients_unchanged).
// - Visit by number: unknown → created for the row's patient; known for the same patient →
//   updated where different (visits_updated) unless written from a later position; known for a
//   different patient → the row is rejected (RowError, field nullopt) and changes nothing, not even
//   its patient.
// - Whenever a row wins (its position is later than the stored one) the entity's position moves to
//   it, even if no value changed, so later replays of older tasks cannot roll values back.
// Rows of the same batch see each other's effects. Deterministic.
BatchPlan PlanBatch(std::int64_t task_seq, std::span<const RowInput> rows,
                    const ExistingState& existing);

}  // namespace intake::domain
