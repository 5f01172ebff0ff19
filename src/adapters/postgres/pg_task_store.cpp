#include "adapters/postgres/pg_task_store.hpp"

#include "adapters/postgres/pg_time.hpp"

namespace intake::adapters::postgres {
namespace {

using domain::TaskState;

#define INTAKE_TASK_COLUMNS                                                                  \
  "task_id, seq, csv_filename, records_received, state, total_records, processed_records, "  \
  "patients_created, patients_updated, patients_unchanged, visits_created, visits_updated, " \
  "visits_unchanged, error_count, rows_done, failure_reason, created_at, started_at, finished_at"

constexpr std::string_view kInsertTask =
    "INSERT INTO tasks (task_id, csv_filename, records_received, state, created_at)"
    " VALUES ($1, $2, $3, 'PENDING', $4) RETURNING " INTAKE_TASK_COLUMNS;
constexpr std::string_view kSelectTask =
    "SELECT " INTAKE_TASK_COLUMNS " FROM tasks WHERE task_id = $1";
constexpr std::string_view kSelectTaskErrors =
    "SELECT row, field, message FROM task_errors WHERE task_id = $1 ORDER BY row, id LIMIT $2";
constexpr std::string_view kCountTasks = "SELECT COUNT(*) FROM tasks";
constexpr std::string_view kSelectTaskPage =
    "SELECT " INTAKE_TASK_COLUMNS " FROM tasks ORDER BY seq DESC LIMIT $1 OFFSET $2";
constexpr std::string_view kMarkStarted =
    "UPDATE tasks SET state = 'STARTED', started_at = $2 WHERE task_id = $1 AND state = 'PENDING'";
constexpr std::string_view kSelectState = "SELECT state FROM tasks WHERE task_id = $1";
constexpr std::string_view kFinishTask =
    "UPDATE tasks SET state = $2, failure_reason = $3, finished_at = $4 WHERE task_id = $1";
constexpr std::string_view kResetTask =
    "UPDATE tasks SET state = 'PENDING', total_records = 0, processed_records = 0,"
    " patients_created = 0, patients_updated = 0, patients_unchanged = 0, visits_created = 0,"
    " visits_updated = 0, visits_unchanged = 0, error_count = 0, rows_done = 0,"
    " failure_reason = NULL, finished_at = NULL,"
    // A finished task's lease is stale (its worker's ack may have failed): the replay is free.
    " lease_owner = NULL, lease_token = NULL, lease_expires_at = NULL"
    " WHERE task_id = $1 AND state IN ('SUCCESS', 'FAILURE')"
    " RETURNING " INTAKE_TASK_COLUMNS;
constexpr std::string_view kDeleteTaskErrors = "DELETE FROM task_errors WHERE task_id = $1";
constexpr std::string_view kCountByState = "SELECT state, COUNT(*) FROM tasks GROUP BY state";

#undef INTAKE_TASK_COLUMNS

ports::TaskRecord ReadTask(const PgResult& r, int i) {
  ports::TaskRecord t;
  t.task_id = r.Text(i, 0);
  t.seq = r.Int(i, 1);
  t.csv_filename = r.Text(i, 2);
  t.records_received = r.Int(i, 3);
  t.state = domain::TaskStateFromName(r.Text(i, 4)).value_or(TaskState::kPending);
  t.counters.total_records = r.Int(i, 5);
  t.counters.processed_records = r.Int(i, 6);
  t.counters.patients_created = r.Int(i, 7);
  t.counters.patients_updated = r.Int(i, 8);
  t.counters.patients_unchanged = r.Int(i, 9);
  t.counters.visits_created = r.Int(i, 10);
  t.counters.visits_updated = r.Int(i, 11);
  t.counters.visits_unchanged = r.Int(i, 12);
  t.counters.error_count = r.Int(i, 13);
  t.rows_done = r.Int(i, 14);
  if (!r.IsNull(i, 15)) t.failure_reason = r.Text(i, 15);
  t.created_at = FromMicros(r.Int(i, 16));
  if (!r.IsNull(i, 17)) t.started_at = FromMicros(r.Int(i, 17));
  if (!r.IsNull(i, 18)) t.finished_at = FromMicros(r.Int(i, 18));
  return t;
}

Error TaskNotFound() { return NotFound("task not found"); }

// The task's state, or nullopt when there is no such task.
Result<std::optional<TaskState>> LoadState(PgConnection& conn, std::string_view task_id) {
  auto r = conn.Exec(kSelectState, {task_id}, "read task state");
  if (!r) return r.error();
  if (r->rows() == 0) return std::optional<TaskState>();
  return domain::TaskStateFromName(r->Text(0, 0));
}

Status LoadErrors(PgConnection& conn, ports::TaskRecord& task) {
  auto r = conn.Exec(kSelectTaskErrors,
                     {task.task_id, static_cast<std::int64_t>(domain::kMaxStoredRowErrors)},
                     "read task errors");
  if (!r) return r.error();
  for (int i = 0; i < r->rows(); ++i) {
    domain::RowError e;
    e.row = r->Int(i, 0);
    if (!r->IsNull(i, 1)) e.field = domain::FieldFromName(r->Text(i, 1));
    e.message = r->Text(i, 2);
    task.errors.push_back(std::move(e));
  }
  return {};
}

}  // namespace

Result<ports::TaskRecord> PgTaskStore::CreateTask(const ports::NewTask& task) {
  return db_->Transaction([&](PgConnection& conn) -> Result<ports::TaskRecord> {
    auto r = conn.Exec(
        kInsertTask,
        {task.task_id, task.csv_filename, task.records_received, ToMicros(task.created_at)},
        "insert task");
    if (!r) return r.error();
    if (r->rows() == 0) return Internal("postgres: insert task returned no row");
    return ReadTask(*r, 0);
  });
}

Result<ports::TaskRecord> PgTaskStore::GetTask(std::string_view task_id, bool with_errors) {
  return db_->Transaction([&](PgConnection& conn) -> Result<ports::TaskRecord> {
    auto r = conn.Exec(kSelectTask, {task_id}, "read task");
    if (!r) return r.error();
    if (r->rows() == 0) return TaskNotFound();
    auto record = ReadTask(*r, 0);
    if (with_errors) {
      if (auto loaded = LoadErrors(conn, record); !loaded) return loaded.error();
    }
    return record;
  });
}

Result<ports::TaskPage> PgTaskStore::ListTasks(std::int64_t page, std::int64_t page_size) {
  if (page < 1 || page_size < 1 || page_size > 100) {
    return InvalidArgument("page must be >= 1 and page_size between 1 and 100");
  }
  return db_->Transaction([&](PgConnection& conn) -> Result<ports::TaskPage> {
    ports::TaskPage out;
    auto count = conn.Exec(kCountTasks, {}, "count tasks");
    if (!count) return count.error();
    out.total = count->Int(0, 0);
    if (page - 1 > out.total / page_size) return out;  // past the end (and no overflow below)
    auto r = conn.Exec(kSelectTaskPage, {page_size, (page - 1) * page_size}, "list tasks");
    if (!r) return r.error();
    for (int i = 0; i < r->rows(); ++i) out.tasks.push_back(ReadTask(*r, i));
    return out;
  });
}

Status PgTaskStore::MarkStarted(std::string_view task_id, ports::TimePoint now) {
  return db_->Transaction([&](PgConnection& conn) -> Status {
    auto r = conn.Exec(kMarkStarted, {task_id, ToMicros(now)}, "mark task started");
    if (!r) return r.error();
    if (r->Affected() > 0) return {};
    auto state = LoadState(conn, task_id);
    if (!state) return state.error();
    if (!*state) return TaskNotFound();
    if (domain::IsFinished(**state)) return Conflict("task is already finished");
    return {};
  });
}

Status PgTaskStore::FinishTask(std::string_view task_id, TaskState final_state,
                               std::optional<std::string> failure_reason, ports::TimePoint now) {
  if (!domain::IsFinished(final_state)) {
    return InvalidArgument("a task finishes as SUCCESS or FAILURE");
  }
  return db_->Transaction([&](PgConnection& conn) -> Status {
    auto r = conn.Exec(kFinishTask,
                       {task_id, domain::TaskStateName(final_state), failure_reason, ToMicros(now)},
                       "finish task");
    if (!r) return r.error();
    if (r->Affected() == 0) return TaskNotFound();
    return {};
  });
}

Result<ports::TaskRecord> PgTaskStore::ResetForReplay(std::string_view task_id) {
  return db_->Transaction([&](PgConnection& conn) -> Result<ports::TaskRecord> {
    auto r = conn.Exec(kResetTask, {task_id}, "reset task");
    if (!r) return r.error();
    if (r->rows() == 0) {
      auto state = LoadState(conn, task_id);
      if (!state) return state.error();
      if (!*state) return TaskNotFound();
      return Conflict("task is not finished");
    }
    auto record = ReadTask(*r, 0);
    auto del = conn.Exec(kDeleteTaskErrors, {task_id}, "delete task errors");
    if (!del) return del.error();
    return record;
  });
}

Result<std::map<TaskState, std::int64_t>> PgTaskStore::CountByState() {
  return db_->Transaction([&](PgConnection& conn) -> Result<std::map<TaskState, std::int64_t>> {
    std::map<TaskState, std::int64_t> out = {{TaskState::kPending, 0},
                                             {TaskState::kStarted, 0},
                                             {TaskState::kProgress, 0},
                                             {TaskState::kSuccess, 0},
                                             {TaskState::kFailure, 0}};
    auto r = conn.Exec(kCountByState, {}, "count tasks by state");
    if (!r) return r.error();
    for (int i = 0; i < r->rows(); ++i) {
      if (auto state = domain::TaskStateFromName(r->Text(i, 0))) out[*state] += r->Int(i, 1);
    }
    return out;
  });
}

Status PgTaskStore::Check() { return db_->Ping(); }

}  // namespace intake::adapters::postgres
