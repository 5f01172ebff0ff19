// PgListener: LISTENs on one NOTIFY channel over its own connection (outside the pool), in a
// background thread, and calls `on_notify` for every batch of notifications that arrives; also
// once after each (re)LISTEN, since notifications sent while it was not listening are lost. It
// waits with poll() on the connection's socket and a self-pipe, so destruction is prompt. A broken
// connection is re-made with backoff (up to kMaxBackoff). Thread-safe.
#pragma once

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <thread>

#include "adapters/postgres/pg_database.hpp"

namespace intake::adapters::postgres {

class PgListener {
 public:
  static constexpr std::chrono::milliseconds kMaxBackoff{5000};

  // Starts listening at once. `on_notify` runs on the listener thread; it must be quick.
  PgListener(std::shared_ptr<PgDatabase> db, std::string channel, std::function<void()> on_notify);
  ~PgListener();  // stops and joins the thread
  PgListener(const PgListener&) = delete;
  PgListener& operator=(const PgListener&) = delete;

  // Waits up to `timeout` for LISTEN to be active; true when it is.
  bool WaitListening(std::chrono::milliseconds timeout);

 private:
  void Run();
  // Polls the connection until it breaks or Stop; false when stopping.
  bool Listen(PgConnection& conn);
  // Sleeps up to `d` unless stopped; false when stopping.
  bool Sleep(std::chrono::milliseconds d);
  void SetListening(bool on);

  std::shared_ptr<PgDatabase> db_;
  std::string channel_;
  std::function<void()> on_notify_;
  int wake_[2] = {-1, -1};  // self-pipe: the destructor writes, the thread polls
  std::atomic<bool> stop_{false};
  std::mutex mu_;
  std::condition_variable cv_;
  bool listening_ = false;
  std::thread thread_;
};

}  // namespace intake::adapters::postgres
