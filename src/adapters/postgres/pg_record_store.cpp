// ApplyBatch and Check; the read queries live in pg_patient_queries.cpp.
#include "adapters/postgres/pg_record_store.hpp"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <iterator>
#include <unordered_map>
#include <unordered_set>

#include "adapters/postgres/pg_array.hpp"
#include "adapters/write_log.hpp"
#include "domain/case_fold.hpp"

namespace intake::adapters::postgres {
namespace {

// Serializes ApplyBatch per schema, across processes (two-key advisory lock: class, schema hash).
// Each statement sees the commits before it: what the early-load check relies on, whatever the
// server's or the role's default isolation.
constexpr std::string_view kBeginReadCommitted = "BEGIN ISOLATION LEVEL READ COMMITTED";
constexpr std::string_view kLockApply =
    "SELECT pg_advisory_xact_lock(1769236331, hashtext(COALESCE(current_schema()::text, '')))";
constexpr std::string_view kTryLockApply =
    "SELECT pg_try_advisory_xact_lock(1769236331, hashtext(COALESCE(current_schema()::text, '')))";
// Read without a row lock: a batch writes the task's row last (kAddTaskProgress, which checks
// again), so that the lease can be extended (an UPDATE of the row) while the next batch of the task
// writes its records.
constexpr std::string_view kSelectTaskProgress =
    "SELECT seq, rows_done, state FROM tasks WHERE task_id = $1";
constexpr std::string_view kLoadPatients =
    "SELECT p.mrn, p.id, COALESCE(pe.first_name, ''), COALESCE(pe.last_name, ''),"
    " COALESCE(pe.birth_date, ''), COALESCE(pe.src_seq, 0), COALESCE(pe.src_row, 0)"
    " FROM patients p LEFT JOIN persons pe ON pe.id = p.id WHERE p.mrn = ANY($1::text[])";
constexpr std::string_view kLoadVisits =
    "SELECT visit_account_number, id, patient_id, visit_date, reason, src_seq, src_row"
    " FROM visits WHERE visit_account_number = ANY($1::text[])";
// Ids follow array order (ORDER BY the ordinality), as the plan's creation order.
constexpr std::string_view kInsertPatients =
    "INSERT INTO patients (mrn, mrn_folded)"
    " SELECT m, f FROM unnest($1::text[], $2::text[]) WITH ORDINALITY AS u(m, f, n) ORDER BY n"
    " RETURNING id, mrn";
// New patients' persons: a plain INSERT (their ids are new: no conflict to check for).
constexpr std::string_view kInsertPersons =
    "INSERT INTO persons (id, first_name, last_name, birth_date, first_name_folded,"
    " last_name_folded, src_seq, src_row, version)"
    " SELECT *, $9::bigint FROM unnest($1::bigint[], $2::text[], $3::text[], $4::text[],"
    " $5::text[], $6::text[], $7::bigint[], $8::bigint[])";
// Known patients' persons: an upsert, so a patient stored without one (by other SQL) gets it.
// Some of them only move to a newer position (patients_unchanged): the batch then bumps no
// data version ($9 is 0), and their version must stay.
constexpr std::string_view kUpsertPersons =
    "INSERT INTO persons (id, first_name, last_name, birth_date, first_name_folded,"
    " last_name_folded, src_seq, src_row, version)"
    " SELECT *, $9::bigint FROM unnest($1::bigint[], $2::text[], $3::text[], $4::text[],"
    " $5::text[], $6::text[], $7::bigint[], $8::bigint[])"
    " ON CONFLICT (id) DO UPDATE SET first_name = excluded.first_name,"
    " last_name = excluded.last_name, birth_date = excluded.birth_date,"
    " first_name_folded = excluded.first_name_folded, last_name_folded = excluded.last_name_folded,"
    " src_seq = excluded.src_seq, src_row = excluded.src_row,"
    // A new position alone (same names) keeps the row's version: its search entry still holds.
    " version = CASE WHEN (persons.first_name_folded, persons.last_name_folded)"
    " IS DISTINCT FROM (excluded.first_name_folded, excluded.last_name_folded)"
    " THEN excluded.version ELSE persons.version END";
constexpr std::string_view kInsertVisits =
    "INSERT INTO visits (visit_account_number, patient_id, visit_date, reason, src_seq, src_row)"
    " SELECT v, p, d, r, s, w FROM unnest($1::text[], $2::bigint[], $3::text[], $4::text[],"
    " $5::bigint[], $6::bigint[]) WITH ORDINALITY AS u(v, p, d, r, s, w, n) ORDER BY n";
constexpr std::string_view kUpdateVisits =
    "UPDATE visits v SET visit_date = u.d, reason = u.r, src_seq = u.s, src_row = u.w"
    " FROM unnest($1::bigint[], $2::text[], $3::text[], $4::bigint[], $5::bigint[])"
    " AS u(id, d, r, s, w) WHERE v.id = u.id";
constexpr std::string_view kCountTaskErrors = "SELECT COUNT(*) FROM task_errors WHERE task_id = $1";
constexpr std::string_view kInsertTaskErrors =
    "INSERT INTO task_errors (task_id, row, field, message)"
    " SELECT $1, r, f, m FROM unnest($2::bigint[], $3::text[], $4::text[])"
    " WITH ORDINALITY AS u(r, f, m, n) ORDER BY n";
constexpr std::string_view kAddTaskProgress =
    "UPDATE tasks SET processed_records = processed_records + $2,"
    " patients_created = patients_created + $3, patients_updated = patients_updated + $4,"
    " patients_unchanged = patients_unchanged + $5, visits_created = visits_created + $6,"
    " visits_updated = visits_updated + $7, visits_unchanged = visits_unchanged + $8,"
    " error_count = error_count + $9, rows_done = $10,"
    " total_records = COALESCE($11::bigint, total_records),"
    " state = CASE WHEN $12::boolean AND state IN ('PENDING', 'STARTED') THEN 'PROGRESS'"
    " ELSE state END"
    // The batch is still the task's next one (CheckTask's answer, checked again on the row as
    // it is now, since CheckTask did not lock it).
    " WHERE task_id = $1 AND seq = $13 AND rows_done = $14"
    " AND state IN ('PENDING', 'STARTED', 'PROGRESS')"
    " RETURNING total_records, processed_records, patients_created, patients_updated,"
    " patients_unchanged, visits_created, visits_updated, visits_unchanged, error_count";

// counters (migration 002): patients created, and a new data version when patients or persons
// changed (cached filtered totals then no longer apply; the persons written carry it: migration
// 003). (records_version, migration 004, is bumped by the tables' statement triggers.)
constexpr std::string_view kBumpCounters =
    "UPDATE counters SET value = value + CASE WHEN name = 'patients' THEN $1::bigint ELSE 1 END"
    " WHERE name IN ('patients', 'data_version') RETURNING name, value";
// The version and the transaction that set it (xmin: another writer setting the same value, after a
// restore or a failover, is another version).
constexpr std::string_view kSelectRecordsVersion =
    "SELECT value, xmin::text::bigint FROM counters WHERE name = 'records_version'";
// Before a batch's first write: from here to its commit no other writer can bump the version
// (their bumps wait for this row), so what the batch moves it by is its own doing.
constexpr std::string_view kLockRecordsVersion =
    "SELECT value, xmin::text::bigint FROM counters WHERE name = 'records_version'"
    " FOR NO KEY UPDATE";

// The batch's data version (0 when it changes no patient and bumps nothing).
Result<std::int64_t> BumpCounters(PgConnection& conn, const domain::BatchPlan& plan) {
  if (!plan.ChangesPatients()) return std::int64_t{0};
  auto r = conn.Exec(kBumpCounters, {plan.counters.patients_created}, "update counters");
  if (!r) return r.error();
  for (int i = 0; i < r->rows(); ++i) {
    if (r->Text(i, 0) == "data_version") return r->Int(i, 1);
  }
  return Internal("postgres: the data_version counter is missing");
}

// counters.records_version in a new snapshot (`sql`: kSelectRecordsVersion or
// kLockRecordsVersion); value -1 when the row is missing (no early load is then ever kept).
Result<RecordsVersion> ReadRecordsVersion(PgConnection& conn,
                                          std::string_view sql = kSelectRecordsVersion) {
  auto r = conn.Exec(sql, {}, "read records version");
  if (!r) return r.error();
  if (r->rows() == 0) return RecordsVersion{};
  return RecordsVersion{r->Int(0, 0), r->Int(0, 1)};
}

// Takes the apply lock; while another batch holds it, this one waits marked as such for the
// search syncer (`sync`), which may use the idle core meanwhile.
Status LockApply(PgConnection& conn, PgSearchSync& sync) {
  auto taken = conn.Exec(kTryLockApply, {}, "lock apply");
  if (!taken) return taken.error();
  if (taken->Text(0, 0) == "t") return {};
  PgSearchSync::Waiting waiting(sync);
  if (auto locked = conn.Exec(kLockApply, {}, "lock apply"); !locked) return locked.error();
  return {};
}

// Under the apply lock: the batch is still the task's next one.
Status CheckTask(PgConnection& conn, const ports::BatchInput& batch) {
  auto r = conn.Exec(kSelectTaskProgress, {batch.task_id}, "read task progress");
  if (!r) return r.error();
  if (r->rows() == 0) return NotFound("task not found");
  if (r->Int(0, 0) != batch.task_seq)
    return InvalidArgument("batch task_seq differs from the task's");
  if (r->Int(0, 1) != batch.rows_done_before) return Conflict("task progress moved: lease lost");
  auto state = domain::TaskStateFromName(r->Text(0, 2));
  if (state && domain::IsFinished(*state)) return Conflict("task is already finished");
  return {};
}

Result<domain::ExistingState> LoadExisting(PgConnection& conn,
                                           const std::vector<domain::RowInput>& rows) {
  domain::ExistingState state;
  if (rows.empty()) return state;
  std::unordered_set<std::string_view> mrns;
  std::unordered_set<std::string_view> numbers;
  ArrayLiteral mrn_array;
  ArrayLiteral number_array;
  for (const auto& input : rows) {
    if (mrns.insert(input.record.mrn).second) mrn_array.Add(input.record.mrn);
    if (numbers.insert(input.record.visit_account_number).second) {
      number_array.Add(input.record.visit_account_number);
    }
  }
  auto patients = conn.Exec(kLoadPatients, {mrn_array.Take()}, "load patients");
  if (!patients) return patients.error();
  for (int i = 0; i < patients->rows(); ++i) {
    const auto& r = *patients;
    state.patients_by_mrn.emplace(
        r.Text(i, 0),
        domain::StoredPatient{
            r.Int(i, 1), {r.Text(i, 2), r.Text(i, 3), r.Text(i, 4)}, {r.Int(i, 5), r.Int(i, 6)}});
  }
  auto visits = conn.Exec(kLoadVisits, {number_array.Take()}, "load visits");
  if (!visits) return visits.error();
  for (int i = 0; i < visits->rows(); ++i) {
    const auto& r = *visits;
    state.visits_by_number.emplace(
        r.Text(i, 0),
        domain::StoredVisit{
            r.Int(i, 1), r.Int(i, 2), r.Text(i, 3), r.Text(i, 4), {r.Int(i, 5), r.Int(i, 6)}});
  }
  return state;
}

// Inserts the plan's new patients; their ids in plan order.
Result<std::vector<std::int64_t>> InsertPatients(PgConnection& conn,
                                                 const domain::BatchPlan& plan) {
  std::vector<std::int64_t> ids;
  if (plan.new_patients.empty()) return ids;
  ArrayLiteral mrns;
  ArrayLiteral folded;
  for (const auto& p : plan.new_patients) {
    mrns.Add(p.mrn);
    folded.Add(domain::FoldCase(p.mrn));
  }
  auto r = conn.Exec(kInsertPatients, {mrns.Take(), folded.Take()}, "insert patients");
  if (!r) return r.error();
  std::unordered_map<std::string, std::int64_t> by_mrn;
  for (int i = 0; i < r->rows(); ++i) by_mrn.emplace(r->Text(i, 1), r->Int(i, 0));
  ids.reserve(plan.new_patients.size());
  for (const auto& p : plan.new_patients) {
    auto it = by_mrn.find(p.mrn);
    if (it == by_mrn.end()) return Internal("postgres: inserted patient id missing");
    ids.push_back(it->second);
  }
  return ids;
}

// Writes persons as `sql` (kInsertPersons or kUpsertPersons) with the batch's data version.
class PersonRows {
 public:
  void Add(std::int64_t person_id, const domain::Person& p, const domain::Position& pos) {
    id_.Add(person_id);
    first_.Add(p.first_name);
    last_.Add(p.last_name);
    birth_.Add(p.birth_date);
    first_folded_.Add(domain::FoldCase(p.first_name));
    last_folded_.Add(domain::FoldCase(p.last_name));
    seq_.Add(pos.task_seq);
    row_.Add(pos.row);
  }
  Status Write(PgConnection& conn, std::string_view sql, std::int64_t version) {
    if (id_.size() == 0) return {};
    auto r =
        conn.Exec(sql,
                  {id_.Take(), first_.Take(), last_.Take(), birth_.Take(), first_folded_.Take(),
                   last_folded_.Take(), seq_.Take(), row_.Take(), version},
                  "write persons");
    if (!r) return r.error();
    return {};
  }

 private:
  ArrayLiteral id_, first_, last_, birth_, first_folded_, last_folded_, seq_, row_;
};

Status WritePersons(PgConnection& conn, const domain::BatchPlan& plan,
                    const std::vector<std::int64_t>& new_ids, std::int64_t version) {
  PersonRows created;
  for (std::size_t i = 0; i < plan.new_patients.size(); ++i) {
    created.Add(new_ids[i], plan.new_patients[i].person, plan.new_patients[i].pos);
  }
  if (auto s = created.Write(conn, kInsertPersons, version); !s) return s;
  PersonRows updated;
  for (const auto& u : plan.patient_updates) updated.Add(u.id, u.person, u.pos);
  return updated.Write(conn, kUpsertPersons, version);
}

Status WriteVisits(PgConnection& conn, const domain::BatchPlan& plan,
                   const std::vector<std::int64_t>& new_ids) {
  if (!plan.new_visits.empty()) {
    ArrayLiteral number, patient, date, reason, seq, row;
    for (const auto& v : plan.new_visits) {
      std::int64_t patient_id = v.patient.value;
      if (v.patient.is_new) {
        auto index = static_cast<std::size_t>(v.patient.value);
        if (index >= new_ids.size()) return Internal("plan names an unknown new patient");
        patient_id = new_ids[index];
      }
      number.Add(v.visit_account_number);
      patient.Add(patient_id);
      date.Add(v.visit_date);
      reason.Add(v.reason);
      seq.Add(v.pos.task_seq);
      row.Add(v.pos.row);
    }
    auto r = conn.Exec(
        kInsertVisits,
        {number.Take(), patient.Take(), date.Take(), reason.Take(), seq.Take(), row.Take()},
        "insert visits");
    if (!r) return r.error();
  }
  if (!plan.visit_updates.empty()) {
    ArrayLiteral id, date, reason, seq, row;
    for (const auto& v : plan.visit_updates) {
      id.Add(v.id);
      date.Add(v.visit_date);
      reason.Add(v.reason);
      seq.Add(v.pos.task_seq);
      row.Add(v.pos.row);
    }
    auto r =
        conn.Exec(kUpdateVisits, {id.Take(), date.Take(), reason.Take(), seq.Take(), row.Take()},
                  "update visits");
    if (!r) return r.error();
  }
  return {};
}

// Stores the batch's problems (pre-rejected rows and plan conflicts, merged in row order) while
// the task holds fewer than kMaxStoredRowErrors.
Status StoreErrors(PgConnection& conn, const ports::BatchInput& batch,
                   const domain::BatchPlan& plan) {
  if (batch.row_errors.empty() && plan.errors.empty()) return {};
  auto count = conn.Exec(kCountTaskErrors, {batch.task_id}, "count task errors");
  if (!count) return count.error();
  auto stored = static_cast<std::size_t>(count->Int(0, 0));
  if (stored >= domain::kMaxStoredRowErrors) return {};
  std::vector<domain::RowError> merged;
  merged.reserve(batch.row_errors.size() + plan.errors.size());
  std::merge(batch.row_errors.begin(), batch.row_errors.end(), plan.errors.begin(),
             plan.errors.end(), std::back_inserter(merged),
             [](const domain::RowError& a, const domain::RowError& b) { return a.row < b.row; });
  std::size_t room = domain::kMaxStoredRowErrors - stored;
  ArrayLiteral rows, fields, messages;
  for (std::size_t i = 0; i < merged.size() && i < room; ++i) {
    const auto& e = merged[i];
    rows.Add(e.row);
    if (e.field) {
      fields.Add(domain::FieldName(*e.field));
    } else {
      fields.AddNull();
    }
    messages.Add(e.message);
  }
  auto r =
      conn.Exec(kInsertTaskErrors, {batch.task_id, rows.Take(), fields.Take(), messages.Take()},
                "insert task errors");
  if (!r) return r.error();
  return {};
}

Result<domain::TaskCounters> AddProgress(PgConnection& conn, const ports::BatchInput& batch,
                                         const domain::BatchPlan& plan) {
  const auto& c = plan.counters;
  auto rows = static_cast<std::int64_t>(batch.rows.size());
  auto r =
      conn.Exec(kAddTaskProgress,
                {batch.task_id, rows + batch.rejected_rows, c.patients_created, c.patients_updated,
                 c.patients_unchanged, c.visits_created, c.visits_updated, c.visits_unchanged,
                 c.error_count + batch.rejected_rows, batch.rows_done_after, batch.total_records,
                 batch.mark_progress ? "true" : "false", batch.task_seq, batch.rows_done_before},
                "update task progress");
  if (!r) return r.error();
  if (r->rows() == 0) return Conflict("task progress moved: lease lost");
  domain::TaskCounters out;
  out.total_records = r->Int(0, 0);
  out.processed_records = r->Int(0, 1);
  out.patients_created = r->Int(0, 2);
  out.patients_updated = r->Int(0, 3);
  out.patients_unchanged = r->Int(0, 4);
  out.visits_created = r->Int(0, 5);
  out.visits_updated = r->Int(0, 6);
  out.visits_unchanged = r->Int(0, 7);
  out.error_count = r->Int(0, 8);
  return out;
}

}  // namespace

Result<domain::TaskCounters> PgRecordStore::ApplyBatch(const ports::BatchInput& batch) {
  return ApplyBatchInTurn(batch, {});
}

// The batch's turn is fixed once it holds the apply lock: a batch begun later waits for it there.
Result<domain::TaskCounters> PgRecordStore::ApplyBatchInTurn(const ports::BatchInput& batch,
                                                             const std::function<void()>& in_turn) {
  bool turn_told = false;
  auto tell_turn = [&] {
    if (in_turn && !turn_told) in_turn();
    turn_told = true;
  };
  bool persons_written = false;
  // The batch loads the rows it names before the apply lock, so that it loads while another batch
  // applies, and keeps what it loaded when records_version has not moved by the time it holds the
  // lock (read before the load, and again under the lock in a new snapshot, which READ COMMITTED
  // gives each statement: any statement that wrote patients, persons or visits in between bumped
  // it, by trigger), or moved only by this store's own batches: then it loads again just the rows
  // naming their keys (write_log_). Otherwise it loads everything again under the lock; and the
  // next batch, after such a wasted early load, loads under the lock only. A batch that writes
  // takes the counters row before its first write, checks that the version is still the one it
  // planned on, and logs the range it moves the version by.
  const bool load_early = load_early_.load(std::memory_order_relaxed);
  bool early_wasted = false;
  const WrittenKeys keys = KeysOf(batch.rows);  // hashed before the lock
  PendingEntry entry(write_log_);
  auto apply = [&](PgConnection& conn) -> Result<domain::TaskCounters> {
    RecordsVersion early_version;
    domain::ExistingState early;
    if (load_early) {
      auto version = ReadRecordsVersion(conn);
      if (!version) return version.error();
      auto loaded = LoadExisting(conn, batch.rows);
      if (!loaded) return loaded.error();
      early_version = *version;
      early = std::move(*loaded);
      if (after_early_load_) after_early_load_();
    }
    if (auto locked = LockApply(conn, search_); !locked) return locked.error();
    tell_turn();
    if (auto task = CheckTask(conn, batch); !task) return task.error();
    auto seen = ReadRecordsVersion(conn);
    if (!seen) return seen.error();
    std::optional<WrittenKeys> since;
    if (early_version.value >= 0 && seen->value >= 0) {
      since = write_log_.Between(early_version, *seen);
    }
    early_wasted = load_early && !since;
    Result<domain::ExistingState> existing =
        since ? Result<domain::ExistingState>(std::move(early)) : LoadExisting(conn, batch.rows);
    if (!existing) return existing.error();
    if (since) {
      auto refreshed = Refresh(batch.rows, *since, *existing,
                               [&](const auto& named) { return LoadExisting(conn, named); });
      if (!refreshed) return refreshed.error();
      spdlog::debug("postgres: task {} batch loaded before the apply lock, {} of {} rows again",
                    batch.task_id, *refreshed, batch.rows.size());
    } else if (load_early) {
      spdlog::debug(
          "postgres: task {} batch loaded again under the apply lock (records written by"
          " a writer other than this store)",
          batch.task_id);
    }
    domain::BatchPlan plan = domain::PlanBatch(batch.task_seq, batch.rows, *existing);
    if (plan.WritesRecords()) {
      if (before_records_lock_) before_records_lock_();
      auto locked = ReadRecordsVersion(conn, kLockRecordsVersion);
      if (!locked) return locked.error();
      if (*locked != *seen) {
        // Another writer (not an Intake applier: they wait for the apply lock) committed since
        // the load; nobody can from here on. Plan again on what is there now.
        existing = LoadExisting(conn, batch.rows);
        if (!existing) return existing.error();
        plan = domain::PlanBatch(batch.task_seq, batch.rows, *existing);
        seen = locked;
        early_wasted = load_early;
      }
    }
    auto version = BumpCounters(conn, plan);
    if (!version) return version.error();
    auto ids = InsertPatients(conn, plan);
    if (!ids) return ids.error();
    if (auto persons = WritePersons(conn, plan, *ids, *version); !persons) return persons.error();
    if (auto visits = WriteVisits(conn, plan, *ids); !visits) return visits.error();
    if (auto errors = StoreErrors(conn, batch, plan); !errors) return errors.error();
    persons_written = plan.ChangesPatients();
    auto progress = AddProgress(conn, batch, plan);
    if (progress && plan.WritesRecords() && seen->value >= 0) {
      auto after = ReadRecordsVersion(conn);
      if (!after) return after.error();
      entry.Add(*seen, *after, keys);
    }
    return progress;
  };
  auto applied = db_->Transaction(apply, kBeginReadCommitted);
  entry.Settle(applied.has_value());
  if (applied) {
    load_early_.store(!early_wasted, std::memory_order_relaxed);
    if (persons_written) search_.NudgeAfterBatch();
  }
  tell_turn();
  return applied;
}

Status PgRecordStore::Check() { return db_->Ping(); }

}  // namespace intake::adapters::postgres
