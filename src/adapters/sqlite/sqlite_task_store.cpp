#include "adapters/sqlite/sqlite_task_store.hpp"

#include <algorithm>
#include <iterator>
#include <limits>

#include "adapters/sqlite/sqlite_time.hpp"

namespace intake::adapters::sqlite {
namespace {

using domain::TaskState;

#define INTAKE_TASK_COLUMNS                                                                  \
  "task_id, seq, csv_filename, records_received, state, total_records, processed_records, "  \
  "patients_created, patients_updated, patients_unchanged, visits_created, visits_updated, " \
  "visits_unchanged, error_count, rows_done, failure_reason, created_at, started_at, finished_at"

constexpr std::string_view kSelectTask =
    "SELECT " INTAKE_TASK_COLUMNS " FROM tasks WHERE task_id = ?1";
constexpr std::string_view kSelectTaskErrors =
    "SELECT row, field, message FROM task_errors WHERE task_id = ?1 ORDER BY row, id LIMIT ?2";
constexpr std::string_view kCountTasks = "SELECT COUNT(*) FROM tasks";
constexpr std::string_view kSelectTaskPage =
    "SELECT " INTAKE_TASK_COLUMNS " FROM tasks ORDER BY seq DESC LIMIT ?1 OFFSET ?2";
constexpr std::string_view kMarkStarted =
    "UPDATE tasks SET state = 'STARTED', started_at = ?2 WHERE task_id = ?1 AND state = 'PENDING'";
constexpr std::string_view kSelectState = "SELECT state FROM tasks WHERE task_id = ?1";
constexpr std::string_view kFinishTask =
    "UPDATE tasks SET state = ?2, failure_reason = ?3, finished_at = ?4 WHERE task_id = ?1";
constexpr std::string_view kResetTask =
    "UPDATE tasks SET state = 'PENDING', total_records = 0, processed_records = 0,"
    " patients_created = 0, patients_updated = 0, patients_unchanged = 0, visits_created = 0,"
    " visits_updated = 0, visits_unchanged = 0, error_count = 0, rows_done = 0,"
    " failure_reason = NULL, finished_at = NULL,"
    // A finished task's lease is stale (its worker's ack may have failed): the replay is free.
    " lease_owner = NULL, lease_token = NULL, lease_expires_at = NULL"
    " WHERE task_id = ?1 AND state IN ('SUCCESS', 'FAILURE')"
    " RETURNING " INTAKE_TASK_COLUMNS;
constexpr std::string_view kDeleteTaskErrors = "DELETE FROM task_errors WHERE task_id = ?1";
constexpr std::string_view kCountByState = "SELECT state, COUNT(*) FROM tasks GROUP BY state";

#undef INTAKE_TASK_COLUMNS

ports::TaskRecord ReadTask(const Statement& s) {
  ports::TaskRecord t;
  t.task_id = s.Text(0);
  t.seq = s.Int(1);
  t.csv_filename = s.Text(2);
  t.records_received = s.Int(3);
  t.state = domain::TaskStateFromName(s.Text(4)).value_or(TaskState::kPending);
  t.counters.total_records = s.Int(5);
  t.counters.processed_records = s.Int(6);
  t.counters.patients_created = s.Int(7);
  t.counters.patients_updated = s.Int(8);
  t.counters.patients_unchanged = s.Int(9);
  t.counters.visits_created = s.Int(10);
  t.counters.visits_updated = s.Int(11);
  t.counters.visits_unchanged = s.Int(12);
  t.counters.error_count = s.Int(13);
  t.rows_done = s.Int(14);
  if (!s.IsNull(15)) t.failure_reason = s.Text(15);
  t.created_at = FromMicros(s.Int(16));
  if (!s.IsNull(17)) t.started_at = FromMicros(s.Int(17));
  if (!s.IsNull(18)) t.finished_at = FromMicros(s.Int(18));
  return t;
}

Error TaskNotFound() { return NotFound("task not found"); }

// The task's state, or nullopt when there is no such task.
Result<std::optional<TaskState>> LoadState(Connection& conn, std::string_view task_id) {
  auto s = conn.Prepare(kSelectState, "read task state");
  if (!s) return s.error();
  s->Bind(1, task_id);
  auto row = s->Step();
  if (!row) return row.error();
  if (!*row) return std::optional<TaskState>();
  return domain::TaskStateFromName(s->Text(0));
}

Status LoadErrors(Connection& conn, ports::TaskRecord& task) {
  auto s = conn.Prepare(kSelectTaskErrors, "read task errors");
  if (!s) return s.error();
  s->Bind(1, task.task_id).Bind(2, static_cast<std::int64_t>(domain::kMaxStoredRowErrors));
  for (;;) {
    auto row = s->Step();
    if (!row) return row.error();
    if (!*row) return {};
    domain::RowError e;
    e.row = s->Int(0);
    if (!s->IsNull(1)) e.field = domain::FieldFromName(s->Text(1));
    e.message = s->Text(2);
    task.errors.push_back(std::move(e));
  }
}

}  // namespace

Result<ports::TaskRecord> SqliteTaskStore::CreateTask(const ports::NewTask& task) {
  auto added = inbox_->Add(task);
  if (!added) return added.error();
  return added->ToRecord();
}

Result<ports::TaskRecord> SqliteTaskStore::GetTask(std::string_view task_id, bool with_errors) {
  const auto read = [&] {
    return db_->Read([&](Connection& conn) -> Result<ports::TaskRecord> {
      auto s = conn.Prepare(kSelectTask, "read task");
      if (!s) return s.error();
      s->Bind(1, task_id);
      auto row = s->Step();
      if (!row) return row.error();
      if (!*row) return TaskNotFound();
      auto record = ReadTask(*s);
      if (with_errors) {
        if (auto loaded = LoadErrors(conn, record); !loaded) return loaded.error();
      }
      return record;
    });
  };
  auto found = read();
  if (found || found.error().code != ErrorCode::kNotFound) return found;
  auto waiting = inbox_->Find(task_id);
  if (!waiting) return waiting.error();
  if (*waiting) return (*waiting)->ToRecord();
  return read();  // taken in (and forgotten by the inbox) between the two reads
}

Result<ports::TaskPage> SqliteTaskStore::ListTasks(std::int64_t page, std::int64_t page_size) {
  if (page < 1 || page_size < 1 || page_size > 100) {
    return InvalidArgument("page must be >= 1 and page_size between 1 and 100");
  }
  return inbox_->ReadBeside(
      *db_,
      [&](Connection& conn, const std::vector<InboxTask>& waiting) -> Result<ports::TaskPage> {
        // Newest first: the tasks still in the inbox have the highest seqs.
        const auto waiting_count = std::ssize(waiting);
        ports::TaskPage out;
        auto count = conn.Prepare(kCountTasks, "count tasks");
        if (!count) return count.error();
        if (auto row = count->Step(); !row) return row.error();
        out.total = count->Int(0) + waiting_count;
        if (page - 1 > out.total / page_size) return out;  // past the end (and no overflow below)
        const std::int64_t offset = (page - 1) * page_size;
        for (std::int64_t k = offset; k < waiting_count && k < offset + page_size; ++k) {
          out.tasks.push_back(waiting[static_cast<std::size_t>(waiting_count - 1 - k)].ToRecord());
        }
        const auto wanted = page_size - static_cast<std::int64_t>(out.tasks.size());
        if (wanted == 0) return out;
        auto s = conn.Prepare(kSelectTaskPage, "list tasks");
        if (!s) return s.error();
        s->Bind(1, wanted).Bind(2, std::max<std::int64_t>(0, offset - waiting_count));
        for (;;) {
          auto row = s->Step();
          if (!row) return row.error();
          if (!*row) return out;
          out.tasks.push_back(ReadTask(*s));
        }
      });
}

Status SqliteTaskStore::MarkStarted(std::string_view task_id, ports::TimePoint now) {
  return inbox_->WriteAdopting(*db_, [&](Connection& conn) -> Status {
    auto s = conn.Prepare(kMarkStarted, "mark task started");
    if (!s) return s.error();
    s->Bind(1, task_id).Bind(2, ToMicros(now));
    if (auto run = s->Run(); !run) return run.error();
    if (conn.Changes() > 0) return {};
    auto state = LoadState(conn, task_id);
    if (!state) return state.error();
    if (!*state) return TaskNotFound();
    if (domain::IsFinished(**state)) return Conflict("task is already finished");
    return {};
  });
}

Status SqliteTaskStore::FinishTask(std::string_view task_id, TaskState final_state,
                                   std::optional<std::string> failure_reason,
                                   ports::TimePoint now) {
  if (!domain::IsFinished(final_state)) {
    return InvalidArgument("a task finishes as SUCCESS or FAILURE");
  }
  return inbox_->WriteAdopting(*db_, [&](Connection& conn) -> Status {
    auto s = conn.Prepare(kFinishTask, "finish task");
    if (!s) return s.error();
    s->Bind(1, task_id)
        .Bind(2, domain::TaskStateName(final_state))
        .Bind(3, failure_reason)
        .Bind(4, ToMicros(now));
    if (auto run = s->Run(); !run) return run.error();
    if (conn.Changes() == 0) return TaskNotFound();
    return {};
  });
}

Result<ports::TaskRecord> SqliteTaskStore::ResetForReplay(std::string_view task_id) {
  return inbox_->WriteAdopting(*db_, [&](Connection& conn) -> Result<ports::TaskRecord> {
    auto s = conn.Prepare(kResetTask, "reset task");
    if (!s) return s.error();
    s->Bind(1, task_id);
    auto row = s->Step();
    if (!row) return row.error();
    if (!*row) {
      auto state = LoadState(conn, task_id);
      if (!state) return state.error();
      if (!*state) return TaskNotFound();
      return Conflict("task is not finished");
    }
    auto record = ReadTask(*s);
    if (auto done = s->Run(); !done) return done.error();
    auto del = conn.Prepare(kDeleteTaskErrors, "delete task errors");
    if (!del) return del.error();
    del->Bind(1, task_id);
    if (auto run = del->Run(); !run) return run.error();
    return record;
  });
}

Result<std::map<TaskState, std::int64_t>> SqliteTaskStore::CountByState() {
  return inbox_->ReadBeside(
      *db_,
      [&](Connection& conn,
          const std::vector<InboxTask>& waiting) -> Result<std::map<TaskState, std::int64_t>> {
        std::map<TaskState, std::int64_t> out = {{TaskState::kPending, std::ssize(waiting)},
                                                 {TaskState::kStarted, 0},
                                                 {TaskState::kProgress, 0},
                                                 {TaskState::kSuccess, 0},
                                                 {TaskState::kFailure, 0}};
        auto s = conn.Prepare(kCountByState, "count tasks by state");
        if (!s) return s.error();
        for (;;) {
          auto row = s->Step();
          if (!row) return row.error();
          if (!*row) return out;
          if (auto state = domain::TaskStateFromName(s->Text(0))) out[*state] += s->Int(1);
        }
      });
}

Status SqliteTaskStore::Check() {
  if (auto pinged = db_->Ping(); !pinged) return pinged;
  return inbox_->Check();
}

}  // namespace intake::adapters::sqlite
