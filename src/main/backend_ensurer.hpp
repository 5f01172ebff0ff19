// Brings the backends up and keeps trying until they answer (SPEC §2): opens the database and
// applies the migrations, builds the object store and ensures its bucket, connects the broker's
// queue (when BROKER_URL is set), then publishes each
// through its gate. Owns the opened adapters; they live until the ensurer is destroyed.
// Thread-safe: TryOnce() is for the starting thread before StartRetrying(); afterwards only the
// background thread touches the backends until Stop().
#pragma once

#include <chrono>
#include <condition_variable>
#include <memory>
#include <mutex>
#include <thread>

#include "main/backends.hpp"
#include "main/deferred_ports.hpp"

namespace intake::main_ {

struct BackendGates {
  DatabaseGate database{"database"};
  ObjectStoreGate objects{"object_store"};
  TaskQueueGate queue{"queue"};
};

class BackendEnsurer {
 public:
  BackendEnsurer(const BackendFactory& factory, BackendGates& gates)
      : factory_(factory), gates_(gates) {}
  ~BackendEnsurer() { Stop(); }
  BackendEnsurer(const BackendEnsurer&) = delete;
  BackendEnsurer& operator=(const BackendEnsurer&) = delete;

  // One attempt at every backend not yet up; true when all are up. Logs what failed.
  bool TryOnce();
  // Retries in a background thread, with backoff, until every backend is up or Stop().
  void StartRetrying();
  void Stop();

 private:
  static constexpr std::chrono::milliseconds kFirstBackoff{500};
  static constexpr std::chrono::milliseconds kMaxBackoff{30000};

  void Loop();
  bool AllUp() const;

  const BackendFactory& factory_;
  BackendGates& gates_;
  std::unique_ptr<DatabaseBackend> database_;
  DatabasePorts database_ports_;  // what the database gate points to
  std::unique_ptr<ports::ObjectStore> objects_;
  std::unique_ptr<ports::TaskQueue> queue_;  // the broker's queue; the database's lives there

  std::mutex mu_;
  std::condition_variable cv_;
  bool stop_ = false;
  std::thread thread_;
};

}  // namespace intake::main_
