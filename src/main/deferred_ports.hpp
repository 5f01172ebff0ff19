// Ports whose backend may not be reachable yet (SPEC §2: a well-formed but unreachable backend
// must not stop start-up). Each Deferred* class implements a port by forwarding to the real
// adapter once a background "ensure" loop has published it through a BackendGate; until then
// every call answers kUnavailable naming the backend and why it is not ready, so /ready and
// POST /ingest answer 503 and the workers back off.
//
// Thread-safety: Publish() may race with any number of callers; the published adapter must
// outlive the gate's users (the composition root keeps both and tears down in reverse order).
#pragma once

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <mutex>
#include <string>

#include "domain/result.hpp"
#include "ports/idempotency_store.hpp"
#include "ports/object_store.hpp"
#include "ports/record_store.hpp"
#include "ports/task_queue.hpp"
#include "ports/task_store.hpp"

namespace intake::main_ {

// One backend's adapter, published once. `T` is the port (or a struct of ports).
template <class T>
class BackendGate {
 public:
  explicit BackendGate(std::string name) : name_(std::move(name)) {}

  // nullptr until Publish().
  T* Get() const { return ptr_.load(std::memory_order_acquire); }

  // REQUIRES: called at most once; `port` outlives the gate's users.
  void Publish(T* port) {
    {
      std::lock_guard lock(mu_);
      ptr_.store(port, std::memory_order_release);
    }
    cv_.notify_all();
  }

  // Why the backend is not ready (shown by /ready). No secrets.
  void SetReason(std::string reason) {
    std::lock_guard lock(mu_);
    reason_ = std::move(reason);
  }

  Error NotReady() const {
    std::lock_guard lock(mu_);
    return Unavailable(name_ + " not ready: " + reason_);
  }

  // Waits up to `timeout` for Publish(); true when published. Also returns early on Interrupt().
  bool WaitReady(std::chrono::milliseconds timeout) {
    std::unique_lock lock(mu_);
    cv_.wait_for(lock, timeout, [&] { return Get() != nullptr || interrupted_; });
    return Get() != nullptr;
  }

  void Interrupt() {
    {
      std::lock_guard lock(mu_);
      interrupted_ = true;
    }
    cv_.notify_all();
  }

 private:
  const std::string name_;
  std::atomic<T*> ptr_{nullptr};
  mutable std::mutex mu_;
  std::condition_variable cv_;
  std::string reason_ = "starting";
  bool interrupted_ = false;
};

// The ports that live in the database (the queue too when BROKER_URL is unset, but it has its own
// gate so that a separate broker can be published independently).
struct DatabasePorts {
  ports::RecordStore* records = nullptr;
  ports::TaskStore* tasks = nullptr;
  ports::IdempotencyStore* idempotency = nullptr;
};

using DatabaseGate = BackendGate<DatabasePorts>;
using ObjectStoreGate = BackendGate<ports::ObjectStore>;
using TaskQueueGate = BackendGate<ports::TaskQueue>;

class DeferredRecordStore final : public ports::RecordStore {
 public:
  explicit DeferredRecordStore(DatabaseGate& gate) : gate_(gate) {}
  Result<domain::TaskCounters> ApplyBatch(const ports::BatchInput& batch) override;
  // False (no overlap) until the database is published.
  bool OverlapsBatches() const override;
  Result<domain::TaskCounters> ApplyBatchInTurn(const ports::BatchInput& batch,
                                                const std::function<void()>& in_turn) override;
  // 1 (no grouping) until the database is published.
  std::size_t MaxGroupedBatches() const override;
  Result<std::vector<domain::TaskCounters>> ApplyBatches(
      std::span<const ports::BatchInput> batches) override;
  Result<ports::PatientPage> ListPatients(const ports::PatientFilter& filter, std::int64_t page,
                                          std::int64_t page_size) override;
  Result<ports::PatientView> GetPatient(std::int64_t id) override;
  Status Check() override;
  void ReleaseIdleMemory() override;

 private:
  DatabaseGate& gate_;
};

class DeferredTaskStore final : public ports::TaskStore {
 public:
  explicit DeferredTaskStore(DatabaseGate& gate) : gate_(gate) {}
  Result<ports::TaskRecord> CreateTask(const ports::NewTask& task) override;
  Result<ports::TaskRecord> GetTask(std::string_view task_id, bool with_errors) override;
  Result<ports::TaskPage> ListTasks(std::int64_t page, std::int64_t page_size) override;
  Status MarkStarted(std::string_view task_id, ports::TimePoint now) override;
  Status FinishTask(std::string_view task_id, domain::TaskState final_state,
                    std::optional<std::string> failure_reason, ports::TimePoint now) override;
  Result<ports::TaskRecord> ResetForReplay(std::string_view task_id) override;
  Result<std::map<domain::TaskState, std::int64_t>> CountByState() override;
  Status Check() override;

 private:
  DatabaseGate& gate_;
};

class DeferredIdempotencyStore final : public ports::IdempotencyStore {
 public:
  explicit DeferredIdempotencyStore(DatabaseGate& gate) : gate_(gate) {}
  Result<ports::IdempotencyBegin> Begin(std::string_view key,
                                        std::chrono::system_clock::time_point now,
                                        std::chrono::seconds ttl,
                                        std::chrono::seconds stale_after) override;
  Status Complete(std::string_view key, std::string_view body_sha256,
                  std::string_view response_body) override;
  Status Abandon(std::string_view key) override;

 private:
  DatabaseGate& gate_;
};

class DeferredObjectStore final : public ports::ObjectStore {
 public:
  explicit DeferredObjectStore(ObjectStoreGate& gate) : gate_(gate) {}
  Status EnsureBucket() override;
  Status Put(std::string_view key, std::string_view bytes) override;
  Result<std::unique_ptr<ports::ObjectWriter>> BeginPut(std::string_view key) override;
  Result<std::unique_ptr<ports::ObjectReader>> Get(std::string_view key) override;
  Status Check() override;

 private:
  ObjectStoreGate& gate_;
};

// Claim() on a queue that is not ready waits (up to `wait`) for it instead of failing at once, so
// idle workers do not spin while the backend is down.
class DeferredTaskQueue final : public ports::TaskQueue {
 public:
  explicit DeferredTaskQueue(TaskQueueGate& gate) : gate_(gate) {}
  Status Enqueue(std::string_view task_id) override;
  Result<std::optional<ports::ClaimedTask>> Claim(std::string_view worker_id,
                                                  std::chrono::milliseconds wait) override;
  Status Extend(const ports::ClaimedTask& task) override;
  Status Ack(const ports::ClaimedTask& task) override;
  Status Release(const ports::ClaimedTask& task) override;
  Result<std::int64_t> Depth() override;
  Status Check() override;
  void WakeAll() override;

 private:
  TaskQueueGate& gate_;
};

}  // namespace intake::main_
