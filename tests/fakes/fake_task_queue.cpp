#include "fakes/fake_task_queue.hpp"

#include <algorithm>

namespace intake::fakes {

Status FakeTaskQueue::Enqueue(std::string_view task_id) {
  if (auto error = Inject("Enqueue")) return *error;
  {
    std::lock_guard lock(mu_);
    pending_.emplace_back(task_id);
  }
  cv_.notify_all();
  return {};
}

void FakeTaskQueue::ReclaimExpiredLocked() {
  const auto now = clock_.Now();
  std::vector<std::pair<std::string, Lease>> expired;
  for (auto it = leases_.begin(); it != leases_.end();) {
    if (it->second.expires <= now) {
      expired.emplace_back(it->first, it->second);
      it = leases_.erase(it);
    } else {
      ++it;
    }
  }
  // Expired tasks were claimed before anything still pending: they go first.
  for (auto it = expired.rbegin(); it != expired.rend(); ++it) {
    pending_.push_front(it->second.task_id);
  }
}

std::optional<ports::ClaimedTask> FakeTaskQueue::TakeLocked(std::string_view worker_id) {
  ReclaimExpiredLocked();
  if (pending_.empty()) return std::nullopt;
  ports::ClaimedTask claimed{pending_.front(), "receipt-" + std::to_string(next_receipt_++)};
  pending_.pop_front();
  leases_[claimed.receipt] = Lease{claimed.task_id, std::string(worker_id), clock_.Now() + lease_};
  return claimed;
}

Result<std::optional<ports::ClaimedTask>> FakeTaskQueue::Claim(std::string_view worker_id,
                                                               std::chrono::milliseconds wait) {
  if (auto error = Inject("Claim")) return *error;
  std::unique_lock lock(mu_);
  const auto deadline = std::chrono::steady_clock::now() + wait;
  const std::uint64_t generation = wake_generation_;
  while (true) {
    if (auto claimed = TakeLocked(worker_id)) return claimed;
    if (wake_generation_ != generation) return std::optional<ports::ClaimedTask>();
    if (cv_.wait_until(lock, deadline) == std::cv_status::timeout) {
      return TakeLocked(worker_id);
    }
  }
}

Status FakeTaskQueue::Extend(const ports::ClaimedTask& task) {
  if (auto error = Inject("Extend")) return *error;
  std::lock_guard lock(mu_);
  ReclaimExpiredLocked();
  auto it = leases_.find(task.receipt);
  if (it == leases_.end()) return Conflict("lease lost");
  it->second.expires = clock_.Now() + lease_;
  return {};
}

Status FakeTaskQueue::Ack(const ports::ClaimedTask& task) {
  if (auto error = Inject("Ack")) return *error;
  std::lock_guard lock(mu_);
  auto it = leases_.find(task.receipt);
  if (it == leases_.end()) return Conflict("lease lost");
  leases_.erase(it);
  acked_.push_back(task.task_id);
  return {};
}

Status FakeTaskQueue::Release(const ports::ClaimedTask& task) {
  if (auto error = Inject("Release")) return *error;
  {
    std::lock_guard lock(mu_);
    auto it = leases_.find(task.receipt);
    if (it == leases_.end()) return Conflict("lease lost");
    leases_.erase(it);
    pending_.push_front(task.task_id);
    released_.push_back(task.task_id);
  }
  cv_.notify_all();
  return {};
}

Result<std::int64_t> FakeTaskQueue::Depth() {
  if (auto error = Inject("Depth")) return *error;
  std::lock_guard lock(mu_);
  return static_cast<std::int64_t>(pending_.size() + leases_.size());
}

Status FakeTaskQueue::Check() { return InjectStatus("Check"); }

void FakeTaskQueue::WakeAll() {
  {
    std::lock_guard lock(mu_);
    ++wake_generation_;
  }
  cv_.notify_all();
}

std::vector<std::string> FakeTaskQueue::Pending() const {
  std::lock_guard lock(mu_);
  return {pending_.begin(), pending_.end()};
}

std::size_t FakeTaskQueue::LeasedCount() const {
  std::lock_guard lock(mu_);
  return leases_.size();
}

std::vector<std::string> FakeTaskQueue::Acked() const {
  std::lock_guard lock(mu_);
  return acked_;
}

std::vector<std::string> FakeTaskQueue::Released() const {
  std::lock_guard lock(mu_);
  return released_;
}

std::string FakeTaskQueue::Holder(std::string_view task_id) const {
  std::lock_guard lock(mu_);
  for (const auto& [receipt, lease] : leases_) {
    if (lease.task_id == task_id) return lease.worker_id;
  }
  return "";
}

void FakeTaskQueue::RevokeLease(std::string_view task_id) {
  std::lock_guard lock(mu_);
  std::erase_if(leases_, [&](const auto& entry) { return entry.second.task_id == task_id; });
}

}  // namespace intake::fakes
