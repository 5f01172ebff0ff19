#include "adapters/sqlite/wal_checkpointer.hpp"

#include <spdlog/spdlog.h>

#include <utility>

namespace intake::adapters::sqlite {
namespace {

constexpr int kBusyTimeoutMs = 5000;

}  // namespace

WalCheckpointer::WalCheckpointer(std::string path, std::int64_t threshold_pages)
    : path_(std::move(path)), threshold_pages_(threshold_pages) {
  thread_ = std::thread([this] { Loop(); });
}

WalCheckpointer::~WalCheckpointer() {
  {
    std::lock_guard lock(mu_);
    stop_ = true;
  }
  cv_.notify_all();
  thread_.join();
}

void WalCheckpointer::Attach(sqlite3* writer) { sqlite3_wal_hook(writer, &OnCommit, this); }

int WalCheckpointer::OnCommit(void* self, sqlite3* db, const char* name, int pages) {
  auto* checkpointer = static_cast<WalCheckpointer*>(self);
  if (pages < checkpointer->threshold_pages_) return SQLITE_OK;
  if (pages >= 2 * checkpointer->threshold_pages_) {
    // The background checkpoint lags a commit behind a busy writer, so the WAL would never be
    // fully copied when the next transaction begins, and SQLite restarts the WAL only then. This
    // catch-up copies what the background has not (about one commit), and the WAL restarts.
    sqlite3_wal_checkpoint_v2(db, name, SQLITE_CHECKPOINT_PASSIVE, nullptr, nullptr);
    return SQLITE_OK;
  }
  {
    std::lock_guard lock(checkpointer->mu_);
    checkpointer->wanted_ = true;
  }
  checkpointer->cv_.notify_one();
  return SQLITE_OK;
}

void WalCheckpointer::Loop() {
  sqlite3* conn = nullptr;
  std::unique_lock lock(mu_);
  while (true) {
    cv_.wait(lock, [&] { return stop_ || wanted_; });
    if (stop_) break;
    wanted_ = false;
    lock.unlock();
    Checkpoint(conn);
    lock.lock();
  }
  if (conn) sqlite3_close_v2(conn);
}

void WalCheckpointer::Checkpoint(sqlite3*& conn) {
  if (!conn) {
    if (sqlite3_open_v2(path_.c_str(), &conn, SQLITE_OPEN_READWRITE | SQLITE_OPEN_NOMUTEX,
                        nullptr) != SQLITE_OK) {
      sqlite3_close_v2(conn);
      conn = nullptr;
      spdlog::warn("sqlite: the checkpoint connection cannot open; the next commit retries");
      return;
    }
    sqlite3_busy_timeout(conn, kBusyTimeoutMs);
    // A new connection learns that the file is in WAL mode only when it first reads it.
    sqlite3_exec(conn, "PRAGMA journal_mode = WAL", nullptr, nullptr, nullptr);
  }
  int rc = sqlite3_wal_checkpoint_v2(conn, nullptr, SQLITE_CHECKPOINT_PASSIVE, nullptr, nullptr);
  if (rc != SQLITE_OK && rc != SQLITE_BUSY) {
    spdlog::warn("sqlite: checkpoint failed: {}", sqlite3_errstr(rc));
  }
}

}  // namespace intake::adapters::sqlite
