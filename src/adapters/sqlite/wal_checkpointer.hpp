// Checkpoints the WAL on a thread of its own, so that the writer never stops to copy pages back
// into the database file. The writer connection reports its WAL size after each commit
// (sqlite3_wal_hook, which replaces SQLite's automatic checkpoint on that connection); past
// `threshold_pages` the thread runs a PASSIVE checkpoint on its own connection, which blocks
// neither the writer nor the readers.
//
// Thread-safety: OnCommit is called by the writer's thread; the destructor stops and joins.
#pragma once

#include <sqlite3.h>

#include <condition_variable>
#include <cstdint>
#include <mutex>
#include <string>
#include <thread>

namespace intake::adapters::sqlite {

class WalCheckpointer {
 public:
  WalCheckpointer(std::string path, std::int64_t threshold_pages);
  ~WalCheckpointer();
  WalCheckpointer(const WalCheckpointer&) = delete;
  WalCheckpointer& operator=(const WalCheckpointer&) = delete;

  // Installs the commit hook on `writer`. REQUIRES: this outlives the connection's use.
  void Attach(sqlite3* writer);

 private:
  static int OnCommit(void* self, sqlite3* db, const char* name, int pages);
  void Loop();
  void Checkpoint(sqlite3*& conn);

  std::string path_;
  std::int64_t threshold_pages_;
  std::mutex mu_;
  std::condition_variable cv_;
  bool wanted_ = false;
  bool stop_ = false;
  std::thread thread_;
};

}  // namespace intake::adapters::sqlite
