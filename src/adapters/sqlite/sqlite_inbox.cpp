#include "adapters/sqlite/sqlite_inbox.hpp"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <filesystem>

#include "adapters/sqlite/sqlite_time.hpp"

namespace intake::adapters::sqlite {
namespace {

// AUTOINCREMENT: a seq is never handed out twice, even after the tasks up to it were forgotten.
constexpr std::string_view kCreateInbox =
    "CREATE TABLE IF NOT EXISTS inbox ("
    " seq INTEGER PRIMARY KEY AUTOINCREMENT,"
    " task_id TEXT NOT NULL UNIQUE,"
    " csv_filename TEXT NOT NULL,"
    " records_received INTEGER NOT NULL,"
    " created_at INTEGER NOT NULL)";
constexpr std::string_view kSeedSequence =
    "INSERT INTO sqlite_sequence (name, seq) SELECT 'inbox', 0"
    " WHERE NOT EXISTS (SELECT 1 FROM sqlite_sequence WHERE name = 'inbox')";
constexpr std::string_view kRaiseSequence =
    "UPDATE sqlite_sequence SET seq = MAX(seq, ?1) WHERE name = 'inbox'";
constexpr std::string_view kRecordsMaxSeq = "SELECT COALESCE(MAX(seq), 0) FROM tasks";
constexpr std::string_view kRecordsHasTask = "SELECT 1 FROM tasks WHERE task_id = ?1";
constexpr std::string_view kAdd =
    "INSERT INTO inbox (task_id, csv_filename, records_received, created_at)"
    " VALUES (?1, ?2, ?3, ?4) RETURNING seq";
constexpr std::string_view kFind =
    "SELECT seq, task_id, csv_filename, records_received, created_at FROM inbox"
    " WHERE task_id = ?1";
constexpr std::string_view kAll =
    "SELECT seq, task_id, csv_filename, records_received, created_at FROM inbox ORDER BY seq";
constexpr std::string_view kForget = "DELETE FROM inbox WHERE seq <= ?1";
// A task of the same id is there already: adopted before, its inbox row not forgotten yet. A seq
// taken by another task is a constraint error (never silently dropped).
constexpr std::string_view kAdopt =
    "INSERT INTO tasks (task_id, seq, csv_filename, records_received, state, created_at)"
    " VALUES (?1, ?2, ?3, ?4, 'PENDING', ?5) ON CONFLICT (task_id) DO NOTHING";

InboxTask ReadInboxTask(const Statement& s) {
  return InboxTask{s.Int(0), s.Text(1), s.Text(2), s.Int(3), s.Int(4)};
}

}  // namespace

ports::TaskRecord InboxTask::ToRecord() const {
  ports::TaskRecord record;
  record.task_id = task_id;
  record.seq = seq;
  record.csv_filename = csv_filename;
  record.records_received = records_received;
  record.state = domain::TaskState::kPending;
  record.created_at = FromMicros(created_at_us);
  return record;
}

std::string SqliteInbox::PathFor(const std::string& records_path) {
  if (records_path == SqliteDatabase::kMemoryPath) return records_path;
  const std::filesystem::path path(records_path);
  std::filesystem::path name = path.stem();
  name += "-inbox";
  name += path.extension();
  return (path.parent_path() / name).string();
}

Result<std::shared_ptr<SqliteInbox>> SqliteInbox::Open(std::shared_ptr<SqliteDatabase> records,
                                                       SqliteOptions options) {
  options.migrate_on_open = false;  // the records' migrations are not the inbox's
  options.writer_cache_kib = std::min<std::int64_t>(options.writer_cache_kib, 2048);  // a few rows
  auto db = SqliteDatabase::Open(PathFor(records->path()), options);
  if (!db) return db.error();
  auto highest = records->Read([](Connection& conn) { return HighestTakenIn(conn); });
  if (!highest) return highest.error();
  auto created = (*db)->Write([&](Connection& conn) -> Status {
    if (auto made = conn.Exec(kCreateInbox, "create the inbox"); !made) return made;
    if (auto seeded = conn.Exec(kSeedSequence, "seed the inbox seq"); !seeded) return seeded;
    auto raise = conn.Prepare(kRaiseSequence, "raise the inbox seq");
    if (!raise) return raise.error();
    raise->Bind(1, *highest);
    return raise->Run();
  });
  if (!created) return created.error();
  return std::shared_ptr<SqliteInbox>(new SqliteInbox(std::move(*db), std::move(records)));
}

Result<InboxTask> SqliteInbox::Add(const ports::NewTask& task) {
  return db_->Write([&](Connection& conn) -> Result<InboxTask> {
    // A task of this id taken in already: the inbox's UNIQUE no longer sees it. Checked with the
    // inbox's writer held, so it cannot be forgotten between this read and the insert.
    auto known = records_->Read([&](Connection& records_conn) -> Result<bool> {
      auto s = records_conn.Prepare(kRecordsHasTask, "read task");
      if (!s) return s.error();
      s->Bind(1, task.task_id);
      return s->Step();
    });
    if (!known) return known.error();
    if (*known) return Conflict("sqlite: a task with this id exists");
    auto s = conn.Prepare(kAdd, "record task");
    if (!s) return s.error();
    const std::int64_t created_at = ToMicros(task.created_at);
    s->Bind(1, task.task_id)
        .Bind(2, task.csv_filename)
        .Bind(3, task.records_received)
        .Bind(4, created_at);
    auto row = s->Step();
    if (!row) return row.error();
    if (!*row) return Internal("sqlite: recording a task returned no seq");
    InboxTask added{s->Int(0), task.task_id, task.csv_filename, task.records_received, created_at};
    if (auto done = s->Run(); !done) return done.error();
    return added;
  });
}

Result<std::optional<InboxTask>> SqliteInbox::Find(std::string_view task_id) {
  return db_->Read([&](Connection& conn) -> Result<std::optional<InboxTask>> {
    auto s = conn.Prepare(kFind, "read inbox task");
    if (!s) return s.error();
    s->Bind(1, task_id);
    auto row = s->Step();
    if (!row) return row.error();
    if (!*row) return std::optional<InboxTask>();
    return std::optional<InboxTask>(ReadInboxTask(*s));
  });
}

Result<std::vector<InboxTask>> SqliteInbox::All() {
  return db_->Read([&](Connection& conn) -> Result<std::vector<InboxTask>> {
    auto s = conn.Prepare(kAll, "read inbox");
    if (!s) return s.error();
    std::vector<InboxTask> out;
    for (;;) {
      auto row = s->Step();
      if (!row) return row.error();
      if (!*row) return out;
      out.push_back(ReadInboxTask(*s));
    }
  });
}

Result<std::int64_t> SqliteInbox::AdoptInto(Connection& records_conn) {
  auto tasks = All();
  if (!tasks)
    return Unavailable("sqlite: the inbox cannot be read (" + tasks.error().message + ")");
  for (const InboxTask& task : *tasks) {
    auto s = records_conn.Prepare(kAdopt, "take in inbox task");
    if (!s) return s.error();
    s->Bind(1, task.task_id)
        .Bind(2, task.seq)
        .Bind(3, task.csv_filename)
        .Bind(4, task.records_received)
        .Bind(5, task.created_at_us);
    if (auto run = s->Run(); !run) {
      // Never kConflict: the callers would take it for a verdict on the task they name. A seq
      // held by another task (the files restored from different moments, or a program writing
      // the records' tasks itself) stops every write that needs a task until it is mended.
      spdlog::error("sqlite: inbox task seq={} cannot be taken in: {}", task.seq,
                    run.error().message);
      return Unavailable("sqlite: an inbox task cannot be taken in (" + run.error().message + ")");
    }
  }
  return tasks->empty() ? 0 : tasks->back().seq;
}

void SqliteInbox::Forget(std::int64_t seq) {
  auto forgotten = db_->Write([&](Connection& conn) -> Status {
    auto s = conn.Prepare(kForget, "forget inbox tasks");
    if (!s) return s.error();
    s->Bind(1, seq);
    return s->Run();
  });
  if (!forgotten) {
    spdlog::warn("sqlite: the inbox keeps tasks already taken in ({}); the next write forgets them",
                 forgotten.error().message);
  }
}

Result<std::int64_t> SqliteInbox::HighestTakenIn(Connection& records_conn) {
  auto s = records_conn.Prepare(kRecordsMaxSeq, "read the highest task seq");
  if (!s) return s.error();
  if (auto row = s->Step(); !row) return row.error();
  return s->Int(0);
}

Status SqliteInbox::Check() { return db_->Ping(); }

}  // namespace intake::adapters::sqlite
