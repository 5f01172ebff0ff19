// ApplyBatch and Check; the read queries live in sqlite_patient_queries.cpp.
#include "adapters/sqlite/sqlite_record_store.hpp"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <iterator>
#include <optional>
#include <vector>

#include "adapters/write_log.hpp"
#include "domain/case_fold.hpp"

namespace intake::adapters::sqlite {
namespace {

constexpr std::string_view kSelectTaskProgress =
    "SELECT seq, rows_done, state FROM tasks WHERE task_id = ?1";
constexpr std::string_view kSelectPatientByMrn =
    "SELECT p.id, pe.first_name, pe.last_name, pe.birth_date, pe.src_seq, pe.src_row"
    " FROM patients p LEFT JOIN persons pe ON pe.id = p.id WHERE p.mrn = ?1";
constexpr std::string_view kSelectVisitByNumber =
    "SELECT id, patient_id, visit_date, reason, src_seq, src_row"
    " FROM visits WHERE visit_account_number = ?1";
constexpr std::string_view kInsertPatient =
    "INSERT INTO patients (mrn, mrn_folded) VALUES (?1, ?2)";
constexpr std::string_view kUpsertPerson =
    "INSERT INTO persons (id, first_name, last_name, birth_date, first_name_folded,"
    " last_name_folded, src_seq, src_row) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)"
    " ON CONFLICT (id) DO UPDATE SET first_name = excluded.first_name,"
    " last_name = excluded.last_name, birth_date = excluded.birth_date,"
    " first_name_folded = excluded.first_name_folded, last_name_folded = excluded.last_name_folded,"
    " src_seq = excluded.src_seq, src_row = excluded.src_row";
constexpr std::string_view kInsertVisit =
    "INSERT INTO visits (visit_account_number, patient_id, visit_date, reason, src_seq, src_row)"
    " VALUES (?1, ?2, ?3, ?4, ?5, ?6)";
constexpr std::string_view kUpdateVisit =
    "UPDATE visits SET visit_date = ?2, reason = ?3, src_seq = ?4, src_row = ?5 WHERE id = ?1";
constexpr std::string_view kCountTaskErrors = "SELECT COUNT(*) FROM task_errors WHERE task_id = ?1";
constexpr std::string_view kInsertTaskError =
    "INSERT INTO task_errors (task_id, row, field, message) VALUES (?1, ?2, ?3, ?4)";
constexpr std::string_view kAddTaskProgress =
    "UPDATE tasks SET processed_records = processed_records + ?2,"
    " patients_created = patients_created + ?3, patients_updated = patients_updated + ?4,"
    " patients_unchanged = patients_unchanged + ?5, visits_created = visits_created + ?6,"
    " visits_updated = visits_updated + ?7, visits_unchanged = visits_unchanged + ?8,"
    " error_count = error_count + ?9, rows_done = ?10,"
    " total_records = COALESCE(?11, total_records),"
    " state = CASE WHEN ?12 = 1 AND state IN ('PENDING', 'STARTED') THEN 'PROGRESS' ELSE state END"
    " WHERE task_id = ?1"
    " RETURNING total_records, processed_records, patients_created, patients_updated,"
    " patients_unchanged, visits_created, visits_updated, visits_unchanged, error_count";

// counters (migration 002): patients created, and a new data version when patients or persons
// changed (cached filtered totals then no longer apply).
constexpr std::string_view kBumpCounters =
    "UPDATE counters SET value = value + CASE WHEN name = 'patients' THEN ?1 ELSE 1 END"
    " WHERE name IN ('patients', 'data_version')";

// records_version (migration 003): moved by one by every batch that writes records.
constexpr std::string_view kBumpRecordsVersion =
    "UPDATE counters SET value = value + 1 WHERE name = 'records_version'";
constexpr std::string_view kSelectRecordsVersion =
    "SELECT value FROM counters WHERE name = 'records_version'";

// Value -1 when the row is missing (no early load is then ever kept). Tagged with how many other
// connections' commits the writer had noticed (`epoch`, SqliteDatabase::OtherCommitsSeen), so
// that a value this process set is not taken for the same value set again after another
// connection wrote (a restored file, say).
Result<RecordsVersion> ReadRecordsVersion(Connection& conn, std::uint64_t epoch) {
  auto s = conn.Prepare(kSelectRecordsVersion, "read records version");
  if (!s) return s.error();
  auto row = s->Step();
  if (!row) return row.error();
  return *row ? RecordsVersion{s->Int(0), static_cast<std::int64_t>(epoch)} : RecordsVersion{};
}

Status BumpRecordsVersion(Connection& conn) {
  auto s = conn.Prepare(kBumpRecordsVersion, "update records version");
  if (!s) return s.error();
  return s->Run();
}

Status BumpCounters(Connection& conn, const domain::BatchPlan& plan) {
  if (!plan.ChangesPatients()) return {};
  auto s = conn.Prepare(kBumpCounters, "update counters");
  if (!s) return s.error();
  s->Bind(1, plan.counters.patients_created);
  return s->Run();
}

Status CheckTask(Connection& conn, const ports::BatchInput& batch) {
  auto s = conn.Prepare(kSelectTaskProgress, "read task progress");
  if (!s) return s.error();
  s->Bind(1, batch.task_id);
  auto row = s->Step();
  if (!row) return row.error();
  if (!*row) return NotFound("task not found");
  if (s->Int(0) != batch.task_seq) return InvalidArgument("batch task_seq differs from the task's");
  if (s->Int(1) != batch.rows_done_before) return Conflict("task progress moved: lease lost");
  auto state = domain::TaskStateFromName(s->Text(2));
  if (state && domain::IsFinished(*state)) return Conflict("task is already finished");
  return {};
}

// The batch's distinct keys in sorted order: consecutive lookups then walk the index pages in
// order instead of at random, which keeps them in the CPU caches.
std::vector<std::string_view> SortedKeys(const std::vector<domain::RowInput>& rows,
                                         std::string domain::VisitRecord::*field) {
  std::vector<std::string_view> keys;
  keys.reserve(rows.size());
  for (const auto& input : rows) keys.emplace_back(input.record.*field);
  std::sort(keys.begin(), keys.end());
  keys.erase(std::unique(keys.begin(), keys.end()), keys.end());
  return keys;
}

Result<domain::ExistingState> LoadExisting(Connection& conn,
                                           const std::vector<domain::RowInput>& rows) {
  domain::ExistingState state;
  auto patient = conn.Prepare(kSelectPatientByMrn, "load patients");
  if (!patient) return patient.error();
  for (std::string_view mrn : SortedKeys(rows, &domain::VisitRecord::mrn)) {
    patient->Bind(1, mrn);
    auto found = patient->Step();
    if (!found) return found.error();
    if (*found) {
      domain::StoredPatient p{patient->Int(0),
                              {patient->Text(1), patient->Text(2), patient->Text(3)},
                              {patient->Int(4), patient->Int(5)}};
      state.patients_by_mrn.emplace(mrn, std::move(p));
    }
    patient->Reset();
  }
  auto visit = conn.Prepare(kSelectVisitByNumber, "load visits");
  if (!visit) return visit.error();
  for (std::string_view number : SortedKeys(rows, &domain::VisitRecord::visit_account_number)) {
    visit->Bind(1, number);
    auto found = visit->Step();
    if (!found) return found.error();
    if (*found) {
      domain::StoredVisit v{visit->Int(0),
                            visit->Int(1),
                            visit->Text(2),
                            visit->Text(3),
                            {visit->Int(4), visit->Int(5)}};
      state.visits_by_number.emplace(number, std::move(v));
    }
    visit->Reset();
  }
  return state;
}

Status UpsertPerson(Connection& conn, std::int64_t id, const domain::Person& person,
                    const domain::Position& pos) {
  auto s = conn.Prepare(kUpsertPerson, "write person");
  if (!s) return s.error();
  s->Bind(1, id)
      .Bind(2, person.first_name)
      .Bind(3, person.last_name)
      .Bind(4, person.birth_date)
      .Bind(5, domain::FoldCase(person.first_name))
      .Bind(6, domain::FoldCase(person.last_name))
      .Bind(7, pos.task_seq)
      .Bind(8, pos.row);
  return s->Run();
}

// Inserts the plan's new patients; their ids in plan order.
Result<std::vector<std::int64_t>> InsertPatients(Connection& conn, const domain::BatchPlan& plan) {
  std::vector<std::int64_t> ids;
  ids.reserve(plan.new_patients.size());
  for (const auto& p : plan.new_patients) {
    {
      auto s = conn.Prepare(kInsertPatient, "insert patient");
      if (!s) return s.error();
      s->Bind(1, p.mrn).Bind(2, domain::FoldCase(p.mrn));
      if (auto run = s->Run(); !run) return run.error();
    }
    ids.push_back(conn.LastInsertRowid());
    if (auto person = UpsertPerson(conn, ids.back(), p.person, p.pos); !person) {
      return person.error();
    }
  }
  return ids;
}

Status WriteVisits(Connection& conn, const domain::BatchPlan& plan,
                   const std::vector<std::int64_t>& new_patient_ids) {
  for (const auto& v : plan.new_visits) {
    std::int64_t patient_id = v.patient.value;
    if (v.patient.is_new) {
      auto index = static_cast<std::size_t>(v.patient.value);
      if (index >= new_patient_ids.size()) return Internal("plan names an unknown new patient");
      patient_id = new_patient_ids[index];
    }
    auto s = conn.Prepare(kInsertVisit, "insert visit");
    if (!s) return s.error();
    s->Bind(1, v.visit_account_number)
        .Bind(2, patient_id)
        .Bind(3, v.visit_date)
        .Bind(4, v.reason)
        .Bind(5, v.pos.task_seq)
        .Bind(6, v.pos.row);
    if (auto run = s->Run(); !run) return run.error();
  }
  for (const auto& v : plan.visit_updates) {
    auto s = conn.Prepare(kUpdateVisit, "update visit");
    if (!s) return s.error();
    s->Bind(1, v.id)
        .Bind(2, v.visit_date)
        .Bind(3, v.reason)
        .Bind(4, v.pos.task_seq)
        .Bind(5, v.pos.row);
    if (auto run = s->Run(); !run) return run.error();
  }
  return {};
}

Status WritePlan(Connection& conn, const domain::BatchPlan& plan) {
  auto ids = InsertPatients(conn, plan);
  if (!ids) return ids.error();
  for (const auto& u : plan.patient_updates) {
    if (auto person = UpsertPerson(conn, u.id, u.person, u.pos); !person) return person.error();
  }
  return WriteVisits(conn, plan, *ids);
}

// Stores the batch's problems (pre-rejected rows and plan conflicts, merged in row order) while
// the task holds fewer than kMaxStoredRowErrors.
Status StoreErrors(Connection& conn, const ports::BatchInput& batch,
                   const domain::BatchPlan& plan) {
  if (batch.row_errors.empty() && plan.errors.empty()) return {};
  auto count = conn.Prepare(kCountTaskErrors, "count task errors");
  if (!count) return count.error();
  count->Bind(1, batch.task_id);
  if (auto row = count->Step(); !row) return row.error();
  auto stored = static_cast<std::size_t>(count->Int(0));
  if (stored >= domain::kMaxStoredRowErrors) return {};
  std::vector<domain::RowError> merged;
  merged.reserve(batch.row_errors.size() + plan.errors.size());
  std::merge(batch.row_errors.begin(), batch.row_errors.end(), plan.errors.begin(),
             plan.errors.end(), std::back_inserter(merged),
             [](const domain::RowError& a, const domain::RowError& b) { return a.row < b.row; });
  std::size_t room = domain::kMaxStoredRowErrors - stored;
  for (std::size_t i = 0; i < merged.size() && i < room; ++i) {
    const auto& e = merged[i];
    auto s = conn.Prepare(kInsertTaskError, "insert task error");
    if (!s) return s.error();
    s->Bind(1, batch.task_id).Bind(2, e.row).Bind(4, e.message);
    if (e.field) {
      s->Bind(3, domain::FieldName(*e.field));
    } else {
      s->BindNull(3);
    }
    if (auto run = s->Run(); !run) return run.error();
  }
  return {};
}

Result<domain::TaskCounters> AddProgress(Connection& conn, const ports::BatchInput& batch,
                                         const domain::BatchPlan& plan) {
  const auto& c = plan.counters;
  auto rows = static_cast<std::int64_t>(batch.rows.size());
  auto s = conn.Prepare(kAddTaskProgress, "update task progress");
  if (!s) return s.error();
  s->Bind(1, batch.task_id)
      .Bind(2, rows + batch.rejected_rows)
      .Bind(3, c.patients_created)
      .Bind(4, c.patients_updated)
      .Bind(5, c.patients_unchanged)
      .Bind(6, c.visits_created)
      .Bind(7, c.visits_updated)
      .Bind(8, c.visits_unchanged)
      .Bind(9, c.error_count + batch.rejected_rows)
      .Bind(10, batch.rows_done_after)
      .Bind(11, batch.total_records)
      .Bind(12, std::int64_t{batch.mark_progress ? 1 : 0});
  auto row = s->Step();
  if (!row) return row.error();
  if (!*row) return NotFound("task not found");
  domain::TaskCounters out;
  out.total_records = s->Int(0);
  out.processed_records = s->Int(1);
  out.patients_created = s->Int(2);
  out.patients_updated = s->Int(3);
  out.patients_unchanged = s->Int(4);
  out.visits_created = s->Int(5);
  out.visits_updated = s->Int(6);
  out.visits_unchanged = s->Int(7);
  out.error_count = s->Int(8);
  if (auto done = s->Run(); !done) return done.error();
  return out;
}

// What one batch wrote in its transaction.
struct Applied {
  domain::TaskCounters counters;  // the task's, after the batch
  bool wrote_records = false;     // it moved records_version by one
};

// One batch's writes in a write transaction, planned on `state` (its rows' stored state, up to
// date): the plan, the counters, the row errors, the task's progress, the records_version bump.
Result<Applied> WriteBatch(Connection& conn, const ports::BatchInput& batch,
                           const domain::ExistingState& state) {
  domain::BatchPlan plan = domain::PlanBatch(batch.task_seq, batch.rows, state);
  if (auto written = WritePlan(conn, plan); !written) return written.error();
  if (auto bumped = BumpCounters(conn, plan); !bumped) return bumped.error();
  if (auto errors = StoreErrors(conn, batch, plan); !errors) return errors.error();
  auto progress = AddProgress(conn, batch, plan);
  if (!progress) return progress.error();
  if (plan.WritesRecords()) {
    if (auto bumped = BumpRecordsVersion(conn); !bumped) return bumped.error();
  }
  return Applied{*progress, plan.WritesRecords()};
}

}  // namespace

Result<domain::TaskCounters> SqliteRecordStore::ApplyBatch(const ports::BatchInput& batch) {
  auto applied = ApplyBatches(std::span<const ports::BatchInput>(&batch, 1));
  if (!applied) return applied.error();
  return applied->front();
}

// The batches load the rows they name on a read connection (one snapshot) before they take the
// writer, so that they load while another batch writes (and short writes, such as a worker
// claiming a task, go meanwhile). In the write transaction each batch keeps what it loaded when
// records_version has not moved since, or has moved only by this store's own batches (write_log_):
// then it loads again just the rows naming their keys, and those naming the keys of the group's
// batches before it, which wrote in this same transaction. Otherwise (another process or program
// wrote, which the writer notices by PRAGMA data_version; or the log no longer covers the
// versions) it loads everything again, and the next call loads in the write transaction only. A
// retried attempt (the first rolled back) loads everything in the transaction: the early states
// may hold what the rolled-back attempt wrote.
Result<std::vector<domain::TaskCounters>> SqliteRecordStore::ApplyBatches(
    std::span<const ports::BatchInput> batches) {
  const bool load_early = load_early_.load(std::memory_order_relaxed);
  std::vector<WrittenKeys> keys;
  keys.reserve(batches.size());
  for (const auto& batch : batches) keys.push_back(KeysOf(batch.rows));
  RecordsVersion early_version;
  std::uint64_t early_writes = 0;
  std::vector<domain::ExistingState> early(batches.size());
  if (load_early) {
    early_writes = db_->WriteTransactions();  // both before the read snapshot
    const std::uint64_t epoch = db_->OtherCommitsSeen();
    auto loaded = db_->Read([&](Connection& conn) -> Status {
      auto version = ReadRecordsVersion(conn, epoch);
      if (!version) return version.error();
      early_version = *version;
      for (std::size_t k = 0; k < batches.size(); ++k) {
        auto state = LoadExisting(conn, batches[k].rows);
        if (!state) return state.error();
        early[k] = std::move(*state);
      }
      return {};
    });
    if (!loaded) return loaded.error();
    if (after_early_load_) after_early_load_();
  }
  bool early_wasted = false;
  int attempts = 0;
  PendingEntry entry(write_log_);  // one for the group: a log of kCapacity entries covers more
  const auto write = [&](Connection& conn) -> Result<std::vector<domain::TaskCounters>> {
    entry.Settle(false);  // an attempt before this one (busy) did not commit
    auto version = ReadRecordsVersion(conn, db_->OtherCommitsSeen());
    if (!version) return version.error();
    std::optional<WrittenKeys> since;
    if (++attempts == 1 && early_version.value >= 0 && version->value >= 0 &&
        !db_->OtherCommitSeenAfter(early_writes)) {
      since = write_log_.Between(early_version, *version);
    }
    early_wasted = load_early && !since;
    const auto load = [&](const auto& named) { return LoadExisting(conn, named); };
    std::vector<domain::TaskCounters> out;
    std::int64_t writing = 0;  // batches that moved records_version
    WrittenKeys group_keys;
    for (std::size_t k = 0; k < batches.size(); ++k) {
      const ports::BatchInput& batch = batches[k];
      if (auto task = CheckTask(conn, batch); !task) return task.error();
      if (since) {
        auto refreshed = Refresh(batch.rows, *since, early[k], load);
        if (!refreshed) return refreshed.error();
        if (writing > 0) {  // and the keys the group's batches before it wrote
          auto again = Refresh(batch.rows, group_keys, early[k], load);
          if (!again) return again.error();
        }
        spdlog::debug("sqlite: task {} batch loaded before the writer, {} of {} rows again",
                      batch.task_id, *refreshed, batch.rows.size());
      } else {
        if (load_early) {
          spdlog::debug("sqlite: task {} batch loaded again by the writer", batch.task_id);
        }
        auto full = LoadExisting(conn, batch.rows);  // sees the group's writes so far
        if (!full) return full.error();
        early[k] = std::move(*full);
      }
      auto written = WriteBatch(conn, batch, early[k]);
      if (!written) return written.error();
      if (written->wrote_records) {
        ++writing;
        group_keys.Merge(keys[k]);
      }
      out.push_back(written->counters);
    }
    // The writer holds the file: nobody else writes between the two versions.
    if (writing > 0 && version->value >= 0) {
      entry.Add(*version, {version->value + writing, version->writer}, std::move(group_keys));
    }
    return out;
  };
  auto applied = inbox_->WriteAdopting(*db_, write, /*bulk=*/true);
  entry.Settle(applied.has_value());
  if (applied) load_early_.store(!early_wasted, std::memory_order_relaxed);
  return applied;
}

Status SqliteRecordStore::Check() { return db_->Ping(); }

void SqliteRecordStore::ReleaseIdleMemory() {
  write_log_.Clear();
  db_->ReleaseMemory();
}

}  // namespace intake::adapters::sqlite
