#include "domain/merge_rules.hpp"

#include <boost/unordered/unordered_flat_map.hpp>
#include <optional>
#include <string_view>
#include <utility>

namespace intake::domain {

namespace {

// Values are held as pointers into the input rows or the existing state (both outlive the
// planner) and copied once, into the plan, at the end.
struct WorkPatient {
  PatientRef ref;
  std::string_view mrn;
  const std::string* first_name = nullptr;
  const std::string* last_name = nullptr;
  const std::string* birth_date = nullptr;
  Position pos;
  bool dirty = false;  // an existing patient to update
};

struct WorkVisit {
  bool is_new = false;
  std::int64_t id = 0;  // for an existing visit
  std::string_view number;
  PatientRef patient;
  const std::string* visit_date = nullptr;
  const std::string* reason = nullptr;
  Position pos;
  bool dirty = false;  // an existing visit to update
};

enum class Outcome { kCreated, kUpdated, kUnchanged };

constexpr std::size_t kNone = static_cast<std::size_t>(-1);

class Planner {
 public:
  Planner(std::int64_t task_seq, std::size_t row_count, const ExistingState& existing)
      : task_seq_(task_seq), existing_(existing) {
    patients_.reserve(row_count);
    patient_index_.reserve(row_count);
    visits_.reserve(row_count);
    visit_index_.reserve(row_count);
  }

  void Apply(const RowInput& row);
  BatchPlan Finish();

 private:
  // Index into patients_ / visits_, or kNone (then `stored` is the stored entity, if any).
  std::size_t FindPatient(const std::string& mrn, const StoredPatient*& stored) const;
  std::size_t FindVisit(const std::string& number, const StoredVisit*& stored) const;
  std::size_t AddPatient(const std::string& mrn, const StoredPatient* stored,
                         const VisitRecord& record, Position pos);
  std::size_t AddVisit(const std::string& number, const StoredVisit* stored,
                       const VisitRecord& record, PatientRef patient, Position pos);
  static Outcome UpdatePatient(WorkPatient& p, const VisitRecord& record, Position pos);
  static Outcome UpdateVisit(WorkVisit& v, const VisitRecord& record, Position pos);
  void Count(Outcome patient, Outcome visit);

  std::int64_t task_seq_;
  const ExistingState& existing_;
  std::vector<WorkPatient> patients_;  // in first-touch order
  boost::unordered_flat_map<std::string_view, std::size_t> patient_index_;
  std::vector<WorkVisit> visits_;  // in first-touch order
  boost::unordered_flat_map<std::string_view, std::size_t> visit_index_;
  std::int64_t new_patient_count_ = 0;
  BatchPlan plan_;
};

std::size_t Planner::FindPatient(const std::string& mrn, const StoredPatient*& stored) const {
  stored = nullptr;
  if (auto it = patient_index_.find(mrn); it != patient_index_.end()) return it->second;
  if (auto it = existing_.patients_by_mrn.find(mrn); it != existing_.patients_by_mrn.end()) {
    stored = &it->second;
  }
  return kNone;
}

std::size_t Planner::FindVisit(const std::string& number, const StoredVisit*& stored) const {
  stored = nullptr;
  if (auto it = visit_index_.find(number); it != visit_index_.end()) return it->second;
  if (auto it = existing_.visits_by_number.find(number); it != existing_.visits_by_number.end()) {
    stored = &it->second;
  }
  return kNone;
}

// A stored patient enters the working set with its stored values; an unknown one is created
// from the row. The key views point into the existing state or the row, which outlive the plan.
std::size_t Planner::AddPatient(const std::string& mrn, const StoredPatient* stored,
                                const VisitRecord& record, Position pos) {
  const std::size_t index = patients_.size();
  patient_index_.emplace(mrn, index);
  if (stored != nullptr) {
    patients_.push_back(WorkPatient{PatientRef{false, stored->id}, mrn, &stored->person.first_name,
                                    &stored->person.last_name, &stored->person.birth_date,
                                    stored->pos, false});
  } else {
    patients_.push_back(WorkPatient{PatientRef{true, new_patient_count_++}, mrn, &record.first_name,
                                    &record.last_name, &record.birth_date, pos, false});
  }
  return index;
}

std::size_t Planner::AddVisit(const std::string& number, const StoredVisit* stored,
                              const VisitRecord& record, PatientRef patient, Position pos) {
  const std::size_t index = visits_.size();
  visit_index_.emplace(number, index);
  if (stored != nullptr) {
    visits_.push_back(WorkVisit{false, stored->id, number, PatientRef{false, stored->patient_id},
                                &stored->visit_date, &stored->reason, stored->pos, false});
  } else {
    visits_.push_back(
        WorkVisit{true, 0, number, patient, &record.visit_date, &record.reason, pos, false});
  }
  return index;
}

Outcome Planner::UpdatePatient(WorkPatient& p, const VisitRecord& record, Position pos) {
  if (pos <= p.pos) return Outcome::kUnchanged;  // a later (or the same) row wrote it
  const bool changed = *p.first_name != record.first_name || *p.last_name != record.last_name ||
                       *p.birth_date != record.birth_date;
  p.first_name = &record.first_name;
  p.last_name = &record.last_name;
  p.birth_date = &record.birth_date;
  p.pos = pos;
  p.dirty = !p.ref.is_new;
  return changed ? Outcome::kUpdated : Outcome::kUnchanged;
}

Outcome Planner::UpdateVisit(WorkVisit& v, const VisitRecord& record, Position pos) {
  if (pos <= v.pos) return Outcome::kUnchanged;
  const bool changed = *v.visit_date != record.visit_date || *v.reason != record.reason;
  v.visit_date = &record.visit_date;
  v.reason = &record.reason;
  v.pos = pos;
  v.dirty = !v.is_new;
  return changed ? Outcome::kUpdated : Outcome::kUnchanged;
}

void Planner::Count(Outcome patient, Outcome visit) {
  TaskCounters& c = plan_.counters;
  (patient == Outcome::kCreated   ? c.patients_created
   : patient == Outcome::kUpdated ? c.patients_updated
                                  : c.patients_unchanged)++;
  (visit == Outcome::kCreated   ? c.visits_created
   : visit == Outcome::kUpdated ? c.visits_updated
                                : c.visits_unchanged)++;
}

void Planner::Apply(const RowInput& row) {
  const VisitRecord& record = row.record;
  const Position pos{task_seq_, row.row};
  const StoredPatient* stored_patient = nullptr;
  std::size_t patient = FindPatient(record.mrn, stored_patient);
  const StoredVisit* stored_visit = nullptr;
  std::size_t visit = FindVisit(record.visit_account_number, stored_visit);

  // The visit is checked before anything is touched: a conflicting row changes nothing.
  const bool visit_known = visit != kNone || stored_visit != nullptr;
  if (visit_known) {
    const PatientRef owner =
        visit != kNone ? visits_[visit].patient : PatientRef{false, stored_visit->patient_id};
    const bool same_patient = patient != kNone ? patients_[patient].ref == owner
                              : stored_patient != nullptr
                                  ? owner == PatientRef{false, stored_patient->id}
                                  : false;
    if (!same_patient) {
      plan_.errors.push_back(RowError{row.row, std::nullopt,
                                      "visit_account_number already belongs to another patient"});
      ++plan_.counters.error_count;
      return;
    }
  }

  Outcome patient_outcome = Outcome::kCreated;
  if (patient == kNone) {
    patient = AddPatient(record.mrn, stored_patient, record, pos);
    if (stored_patient != nullptr) patient_outcome = UpdatePatient(patients_[patient], record, pos);
  } else {
    patient_outcome = UpdatePatient(patients_[patient], record, pos);
  }
  Outcome visit_outcome = Outcome::kCreated;
  if (visit == kNone) {
    visit =
        AddVisit(record.visit_account_number, stored_visit, record, patients_[patient].ref, pos);
    if (stored_visit != nullptr) visit_outcome = UpdateVisit(visits_[visit], record, pos);
  } else {
    visit_outcome = UpdateVisit(visits_[visit], record, pos);
  }
  Count(patient_outcome, visit_outcome);
}

BatchPlan Planner::Finish() {
  plan_.new_patients.reserve(static_cast<std::size_t>(new_patient_count_));
  for (const WorkPatient& p : patients_) {
    if (!p.ref.is_new && !p.dirty) continue;
    Person person{*p.first_name, *p.last_name, *p.birth_date};
    if (p.ref.is_new) {  // first-touch order is creation order, so indices line up
      plan_.new_patients.push_back(NewPatient{std::string(p.mrn), std::move(person), p.pos});
    } else {
      plan_.patient_updates.push_back(PatientUpdate{p.ref.value, std::move(person), p.pos});
    }
  }
  for (const WorkVisit& v : visits_) {
    if (v.is_new) {
      plan_.new_visits.push_back(
          NewVisit{std::string(v.number), v.patient, *v.visit_date, *v.reason, v.pos});
    } else if (v.dirty) {
      plan_.visit_updates.push_back(VisitUpdate{v.id, *v.visit_date, *v.reason, v.pos});
    }
  }
  return std::move(plan_);
}

}  // namespace

BatchPlan PlanBatch(std::int64_t task_seq, std::span<const RowInput> rows,
                    const ExistingState& existing) {
  Planner planner(task_seq, rows.size(), existing);
  for (const RowInput& row : rows) planner.Apply(row);
  BatchPlan plan = planner.Finish();
  plan.counters.processed_records = static_cast<std::int64_t>(rows.size());
  return plan;
}

}  // namespace intake::domain
