// The backend seam of the adapter contract suites. A backend (SQLite today; PostgreSQL, Redis
// later) provides the database-side ports over fresh storage; each suite below is
// value-parameterized over AllBackends(), so a new adapter only adds its factory to that list
// (tests/adapters/backends.cpp); a factory returning nullptr skips (e.g. no PostgreSQL URL set).
#pragma once

#include <gtest/gtest.h>

#include <chrono>
#include <functional>
#include <memory>
#include <ostream>
#include <string>
#include <vector>

#include "ports/clock.hpp"
#include "ports/idempotency_store.hpp"
#include "ports/record_store.hpp"
#include "ports/task_queue.hpp"
#include "ports/task_store.hpp"

namespace intake::adapters::testing {

// Fresh, empty storage as one process sees it. Owns whatever it created (temp files, schemas).
class Backend {
 public:
  virtual ~Backend() = default;
  virtual ports::RecordStore& records() = 0;
  virtual ports::TaskStore& tasks() = 0;
  virtual ports::IdempotencyStore& idempotency() = 0;
  // A queue over this storage. `clock` (may be null: real time) outlives the queue.
  virtual std::unique_ptr<ports::TaskQueue> NewQueue(std::chrono::milliseconds lease,
                                                     std::chrono::milliseconds poll,
                                                     const ports::Clock* clock) = 0;
  // The same storage opened again, as a second process would (own connections, no shared state).
  // REQUIRES: this backend outlives the peer.
  virtual std::unique_ptr<Backend> OpenPeer() = 0;
  // True when the queues' leases expire by the `clock` given to NewQueue (so a ManualClock can
  // drive them); false when they follow a clock of their own (Redis: the server's idle time),
  // which only the real-time lease tests exercise.
  virtual bool LeasesFollowClock() const { return true; }
  // True when the queue is the tasks table itself (a created task is claimable even before
  // Enqueue); false for a broker, which delivers only what was enqueued.
  virtual bool QueueInDatabase() const { return true; }
};

struct BackendFactory {
  std::string name;
  std::function<std::unique_ptr<Backend>()> make;
};

// Test listings name the backend instead of dumping the struct's bytes.
inline void PrintTo(const BackendFactory& factory, std::ostream* os) { *os << factory.name; }

inline std::string BackendName(const ::testing::TestParamInfo<BackendFactory>& info) {
  return info.param.name;
}

class BackendTest : public ::testing::TestWithParam<BackendFactory> {
 protected:
  void SetUp() override {
    backend_ = GetParam().make();
    if (backend_ == nullptr) GTEST_SKIP() << GetParam().name << " is not configured";
  }
  Backend& backend() { return *backend_; }

  std::unique_ptr<Backend> backend_;
};

// Every database backend the suites run on (tests/adapters/backends.cpp).
std::vector<BackendFactory> AllBackends();

}  // namespace intake::adapters::testing
