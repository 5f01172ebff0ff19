// In-memory TaskQueue with leases timed by an injected clock. Claim() waits in real time (up to
// `wait`) for an Enqueue, Release or WakeAll; an expired lease (by the injected clock) makes its
// task claimable again, oldest first. Failure injection method names: "Enqueue", "Claim",
// "Extend", "Ack", "Release", "Depth", "Check". Thread-safe.
#pragma once

#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <deque>
#include <map>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "fakes/failure_injector.hpp"
#include "ports/clock.hpp"
#include "ports/task_queue.hpp"

namespace intake::fakes {

class FakeTaskQueue : public ports::TaskQueue, public FailureInjector {
 public:
  explicit FakeTaskQueue(const ports::Clock& clock,
                         std::chrono::seconds lease = std::chrono::seconds(60))
      : clock_(clock), lease_(lease) {}

  Status Enqueue(std::string_view task_id) override;
  Result<std::optional<ports::ClaimedTask>> Claim(std::string_view worker_id,
                                                  std::chrono::milliseconds wait) override;
  // kConflict when the receipt no longer holds the lease (expired and reclaimed, or revoked).
  Status Extend(const ports::ClaimedTask& task) override;
  Status Ack(const ports::ClaimedTask& task) override;
  Status Release(const ports::ClaimedTask& task) override;
  Result<std::int64_t> Depth() override;
  Status Check() override;
  void WakeAll() override;

  // ---- Test helpers ----
  std::vector<std::string> Pending() const;  // claimable task ids, in claim order
  std::size_t LeasedCount() const;
  std::vector<std::string> Acked() const;     // task ids, in ack order
  std::vector<std::string> Released() const;  // task ids, in release order
  // Who holds `task_id` now ("" when nobody).
  std::string Holder(std::string_view task_id) const;
  // Drops the lease of `task_id` (another worker took it over): Extend/Ack with the old receipt
  // now give kConflict. The task is not put back.
  void RevokeLease(std::string_view task_id);

 private:
  struct Lease {
    std::string task_id;
    std::string worker_id;
    std::chrono::system_clock::time_point expires;
  };
  void ReclaimExpiredLocked();
  std::optional<ports::ClaimedTask> TakeLocked(std::string_view worker_id);

  const ports::Clock& clock_;
  const std::chrono::seconds lease_;
  mutable std::mutex mu_;
  std::condition_variable cv_;
  std::deque<std::string> pending_;
  std::map<std::string, Lease> leases_;  // by receipt
  std::vector<std::string> acked_;
  std::vector<std::string> released_;
  std::uint64_t next_receipt_ = 1;
  std::uint64_t wake_generation_ = 0;
};

}  // namespace intake::fakes
