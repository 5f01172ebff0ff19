// Delivers task ids to workers, at least once, with leases: a task claimed by a worker that dies
// becomes claimable again after the lease expires. Task state itself lives in the TaskStore.
// Implementations: adapters/sqlite (the tasks table), adapters/postgres (SKIP LOCKED),
// adapters/redis (Streams + consumer group). All methods thread-safe.
#pragma once

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "domain/result.hpp"

namespace intake::ports {

struct ClaimedTask {
  std::string task_id;
  std::string receipt;  // adapter-specific lease token / stream message id
};

class TaskQueue {
 public:
  virtual ~TaskQueue() = default;
  // Makes `task_id` claimable. Durable on success. REQUIRES: the task exists in the TaskStore.
  virtual Status Enqueue(std::string_view task_id) = 0;
  // Claims the next task (oldest first), waiting up to `wait` for one; nullopt when none came.
  // The claim holds a lease; keep it with Extend() while working.
  virtual Result<std::optional<ClaimedTask>> Claim(std::string_view worker_id,
                                                   std::chrono::milliseconds wait) = 0;
  // Renews the lease. kConflict when the lease was lost (another worker took the task over).
  virtual Status Extend(const ClaimedTask& task) = 0;
  // The task is finished (SUCCESS or FAILURE recorded): never deliver it again.
  virtual Status Ack(const ClaimedTask& task) = 0;
  // Hands the task back unfinished (drain on shutdown): claimable again at once.
  virtual Status Release(const ClaimedTask& task) = 0;
  // Tasks waiting or in progress.
  virtual Result<std::int64_t> Depth() = 0;
  virtual Status Check() = 0;
  // Wakes every Claim() now waiting (used at shutdown). Never fails.
  virtual void WakeAll() = 0;
};

}  // namespace intake::ports
