// SqliteInbox: the tasks that requests have accepted and that no write of the records database has
// taken in yet, kept in a database file of their own beside it (`intake.db` → `intake-inbox.db`).
//
// Why: SQLite lets one connection write a file at a time, and a load's write transaction holds the
// records file for as long as it writes its rows (a group of queued tasks: up to a second). A
// request recording its task in that file would wait for it; recording it here, it waits only for
// other requests' one-row inserts (docs/architecture.md, "SQLite: the inbox").
//
// The inbox assigns each task its seq (strictly increasing, above every seq of the records'
// `tasks` table: raised when the inbox is opened). Any write transaction of the records database
// that needs a task (a claim, MarkStarted, a batch, a replay) first takes in every inbox task it
// does not hold yet (AdoptInto: INSERT OR IGNORE with the same seq, state PENDING), and forgets
// them in the inbox once that transaction committed (Forget). A crash between the two leaves them
// in both; the next adoption ignores them and forgets them. Readers look in the records first, then
// in the inbox, and count an inbox task only when its seq is above the records' highest seq
// (adoption takes every inbox task at once, so the records hold exactly the seqs up to theirs).
//
// Thread-safe; several processes may share the two files.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <type_traits>
#include <vector>

#include "adapters/sqlite/sqlite_database.hpp"
#include "ports/task_store.hpp"

namespace intake::adapters::sqlite {

// A task as the inbox keeps it.
struct InboxTask {
  std::int64_t seq = 0;
  std::string task_id;
  std::string csv_filename;
  std::int64_t records_received = 0;
  std::int64_t created_at_us = 0;  // microseconds since the epoch

  // The task as the TaskStore reports it: PENDING, nothing counted yet.
  ports::TaskRecord ToRecord() const;
};

class SqliteInbox {
 public:
  // The inbox file of the records database at `records_path`: `dir/name.ext` → `dir/name-inbox.ext`
  // (":memory:" stays ":memory:": a private in-memory database of its own).
  static std::string PathFor(const std::string& records_path);

  // Opens (creating) the inbox of `records` (migrated), and raises its seq above the records'
  // highest. kUnavailable when the file cannot be opened.
  static Result<std::shared_ptr<SqliteInbox>> Open(std::shared_ptr<SqliteDatabase> records,
                                                   SqliteOptions options = {});

  // Records `task` (durable on success) and returns it with its seq. kConflict when a task of
  // that id exists (in the inbox or in the records).
  Result<InboxTask> Add(const ports::NewTask& task);
  // The task `task_id` when it is in the inbox.
  Result<std::optional<InboxTask>> Find(std::string_view task_id);
  // Every inbox task, in seq order.
  Result<std::vector<InboxTask>> All();

  // Inside a write transaction of the records database (`records_conn` holds it): inserts every
  // inbox task into `tasks` unless a task of that id is there already. Returns the highest seq
  // taken in (0 when the inbox is empty), to Forget once the transaction committed. Any failure is
  // kUnavailable (never kConflict, which callers take for a verdict on their task).
  Result<std::int64_t> AdoptInto(Connection& records_conn);
  // Forgets the inbox tasks up to `seq` (held by the records now). A failure is logged only: the
  // next adoption ignores them and forgets them again.
  void Forget(std::int64_t seq);

  // Runs `fn` in a write transaction of the records database after taking in the inbox's tasks,
  // and forgets them once it committed.
  template <class Fn>
  auto WriteAdopting(SqliteDatabase& records, Fn&& fn, bool bulk = false)
      -> std::invoke_result_t<Fn&, Connection&> {
    std::int64_t adopted = 0;
    auto body = [&](Connection& conn) -> std::invoke_result_t<Fn&, Connection&> {
      adopted = 0;  // an attempt before this one rolled back
      auto taken = AdoptInto(conn);
      if (!taken) return taken.error();
      adopted = *taken;
      return fn(conn);
    };
    auto result = bulk ? records.WriteBulk(body) : records.Write(body);
    if (result && adopted > 0) Forget(adopted);
    return result;
  }

  // Runs `fn(records_conn, waiting)` in a read transaction of the records database, `waiting`
  // being the inbox tasks that its snapshot does not hold yet (seq order): the inbox is read first,
  // then the records, and an inbox task counts only above the records' highest seq.
  template <class Fn>
  auto ReadBeside(SqliteDatabase& records, Fn&& fn)
      -> std::invoke_result_t<Fn&, Connection&, const std::vector<InboxTask>&> {
    auto inbox = All();
    if (!inbox) return inbox.error();
    return records.Read(
        [&](Connection& conn)
            -> std::invoke_result_t<Fn&, Connection&, const std::vector<InboxTask>&> {
          auto highest = HighestTakenIn(conn);
          if (!highest) return highest.error();
          // A copy: a read transaction retried after busy runs this again.
          std::vector<InboxTask> waiting;
          for (const InboxTask& task : *inbox) {
            if (task.seq > *highest) waiting.push_back(task);
          }
          return fn(conn, waiting);
        });
  }

  // In a transaction of the records database: their highest task seq.
  static Result<std::int64_t> HighestTakenIn(Connection& records_conn);

  Status Check();
  const std::string& path() const { return db_->path(); }

 private:
  SqliteInbox(std::shared_ptr<SqliteDatabase> db, std::shared_ptr<SqliteDatabase> records)
      : db_(std::move(db)), records_(std::move(records)) {}

  std::shared_ptr<SqliteDatabase> db_;
  std::shared_ptr<SqliteDatabase> records_;
};

}  // namespace intake::adapters::sqlite
