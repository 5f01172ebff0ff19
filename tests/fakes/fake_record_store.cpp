#include "fakes/fake_record_store.hpp"

#include <algorithm>

#include "domain/case_fold.hpp"

namespace intake::fakes {
namespace {

bool Matches(const std::optional<std::string>& needle, const std::string& value) {
  if (!needle) return true;
  return domain::FoldCase(value).find(domain::FoldCase(*needle)) != std::string::npos;
}

}  // namespace

Result<domain::TaskCounters> FakeRecordStore::ApplyBatch(const ports::BatchInput& batch) {
  ++begun_;
  std::unique_lock turn(turn_mu_, std::defer_lock);
  if (overlaps_) turn.lock();
  return Applied(batch);
}

Result<domain::TaskCounters> FakeRecordStore::Applied(const ports::BatchInput& batch) {
  if (auto error = Inject("ApplyBatch")) return *error;
  return ApplyOne(batch);
}

bool FakeRecordStore::OverlapsBatches() const { return overlaps_.load(); }

void FakeRecordStore::SetOverlapsBatches(bool overlaps) { overlaps_ = overlaps; }

void FakeRecordStore::SetAfterTurn(std::function<void(const ports::BatchInput&)> hook) {
  after_turn_ = std::move(hook);
}

Result<domain::TaskCounters> FakeRecordStore::ApplyBatchInTurn(
    const ports::BatchInput& batch, const std::function<void()>& in_turn) {
  if (!overlaps_) return ports::RecordStore::ApplyBatchInTurn(batch, in_turn);
  ++begun_;
  std::lock_guard turn(turn_mu_);
  in_turn();
  if (after_turn_) after_turn_(batch);
  return Applied(batch);
}

Result<domain::TaskCounters> FakeRecordStore::ApplyOne(const ports::BatchInput& batch) {
  // Lock order: task store, then this store (ApplyProgress calls back under the task lock).
  return tasks_.ApplyProgress(batch, [&] {
    std::lock_guard lock(mu_);
    domain::ExistingState existing = LoadState(batch);
    domain::BatchPlan plan = domain::PlanBatch(batch.task_seq, batch.rows, existing);
    WritePlan(plan);
    FakeTaskStore::BatchEffect effect;
    effect.counters = plan.counters;
    effect.counters.processed_records += batch.rejected_rows;
    effect.counters.error_count += batch.rejected_rows;
    effect.errors = batch.row_errors;
    effect.errors.insert(effect.errors.end(), plan.errors.begin(), plan.errors.end());
    std::stable_sort(effect.errors.begin(), effect.errors.end(),
                     [](const auto& a, const auto& b) { return a.row < b.row; });
    applied_.push_back(batch);
    return effect;
  });
}

std::size_t FakeRecordStore::MaxGroupedBatches() const {
  std::lock_guard lock(mu_);
  return max_grouped_;
}

void FakeRecordStore::SetMaxGroupedBatches(std::size_t n) {
  std::lock_guard lock(mu_);
  max_grouped_ = n;
}

std::vector<std::size_t> FakeRecordStore::GroupSizes() const {
  std::lock_guard lock(mu_);
  return group_sizes_;
}

Result<std::vector<domain::TaskCounters>> FakeRecordStore::ApplyBatches(
    std::span<const ports::BatchInput> batches) {
  {
    std::lock_guard lock(mu_);
    group_sizes_.push_back(batches.size());
  }
  if (auto error = Inject("ApplyBatches")) return *error;
  if (MaxGroupedBatches() <= 1) return ports::RecordStore::ApplyBatches(batches);
  // All or none, as a grouping store: every batch is checked before any is applied (a batch of
  // the group can only fail those checks here).
  for (const auto& batch : batches) {
    auto task = tasks_.Task(batch.task_id);
    if (!task) return NotFound("task not found");
    if (task->rows_done != batch.rows_done_before || domain::IsFinished(task->state)) {
      return Conflict("task progress moved on");
    }
  }
  std::vector<domain::TaskCounters> out;
  for (const auto& batch : batches) {
    auto counters = ApplyOne(batch);
    if (!counters) return counters.error();
    out.push_back(*counters);
  }
  return out;
}

domain::ExistingState FakeRecordStore::LoadState(const ports::BatchInput& batch) const {
  domain::ExistingState state;
  for (const auto& row : batch.rows) {
    if (auto it = patient_by_mrn_.find(row.record.mrn); it != patient_by_mrn_.end()) {
      const PatientRow& p = tables_.patients.at(it->second);
      state.patients_by_mrn[row.record.mrn] = domain::StoredPatient{it->second, p.person, p.pos};
    }
    if (auto it = visit_by_number_.find(row.record.visit_account_number);
        it != visit_by_number_.end()) {
      const VisitRow& v = tables_.visits.at(it->second);
      state.visits_by_number[row.record.visit_account_number] =
          domain::StoredVisit{it->second, v.patient_id, v.visit_date, v.reason, v.pos};
    }
  }
  return state;
}

void FakeRecordStore::WritePlan(const domain::BatchPlan& plan) {
  std::vector<std::int64_t> new_ids;
  for (const auto& p : plan.new_patients) {
    std::int64_t id = next_patient_id_++;
    new_ids.push_back(id);
    tables_.patients[id] = PatientRow{p.mrn, p.person, p.pos};
    patient_by_mrn_[p.mrn] = id;
  }
  for (const auto& u : plan.patient_updates) {
    PatientRow& row = tables_.patients.at(u.id);
    row.person = u.person;
    row.pos = u.pos;
  }
  for (const auto& v : plan.new_visits) {
    std::int64_t patient_id =
        v.patient.is_new ? new_ids.at(static_cast<std::size_t>(v.patient.value)) : v.patient.value;
    std::int64_t id = next_visit_id_++;
    tables_.visits[id] =
        VisitRow{v.visit_account_number, patient_id, v.visit_date, v.reason, v.pos};
    visit_by_number_[v.visit_account_number] = id;
  }
  for (const auto& u : plan.visit_updates) {
    VisitRow& row = tables_.visits.at(u.id);
    row.visit_date = u.visit_date;
    row.reason = u.reason;
    row.pos = u.pos;
  }
}

ports::PatientView FakeRecordStore::View(std::int64_t id, const PatientRow& row) const {
  ports::PatientView view{id, row.mrn, row.person, {}};
  for (const auto& [visit_id, visit] : tables_.visits) {
    if (visit.patient_id != id) continue;
    view.visits.push_back(
        ports::VisitView{visit_id, visit.visit_account_number, visit.visit_date, visit.reason});
  }
  std::stable_sort(view.visits.begin(), view.visits.end(), [](const auto& a, const auto& b) {
    return a.visit_date != b.visit_date ? a.visit_date < b.visit_date : a.id < b.id;
  });
  return view;
}

Result<ports::PatientPage> FakeRecordStore::ListPatients(const ports::PatientFilter& filter,
                                                         std::int64_t page,
                                                         std::int64_t page_size) {
  if (auto error = Inject("ListPatients")) return *error;
  if (page < 1 || page_size < 1 || page_size > 100) return InvalidArgument("bad paging");
  std::lock_guard lock(mu_);
  ports::PatientPage result;
  const std::int64_t first = (page - 1) * page_size;
  for (const auto& [id, row] : tables_.patients) {
    if (!Matches(filter.mrn, row.mrn) || !Matches(filter.first_name, row.person.first_name) ||
        !Matches(filter.last_name, row.person.last_name)) {
      continue;
    }
    if (result.total >= first && result.total < first + page_size) {
      result.patients.push_back(View(id, row));
    }
    ++result.total;
  }
  return result;
}

Result<ports::PatientView> FakeRecordStore::GetPatient(std::int64_t id) {
  if (auto error = Inject("GetPatient")) return *error;
  std::lock_guard lock(mu_);
  auto it = tables_.patients.find(id);
  if (it == tables_.patients.end()) return NotFound("patient not found");
  return View(id, it->second);
}

Status FakeRecordStore::Check() { return InjectStatus("Check"); }

FakeRecordStore::Tables FakeRecordStore::Snapshot() const {
  std::lock_guard lock(mu_);
  return tables_;
}

std::size_t FakeRecordStore::PatientCount() const {
  std::lock_guard lock(mu_);
  return tables_.patients.size();
}

std::size_t FakeRecordStore::VisitCount() const {
  std::lock_guard lock(mu_);
  return tables_.visits.size();
}

std::vector<ports::BatchInput> FakeRecordStore::AppliedBatches() const {
  std::lock_guard lock(mu_);
  return applied_;
}

}  // namespace intake::fakes
