#include "app/worker_pool.hpp"

#include <spdlog/spdlog.h>

#include <chrono>
#include <optional>
#include <utility>

namespace intake::app {
namespace {

constexpr std::chrono::milliseconds kClaimWait{1000};
constexpr std::chrono::milliseconds kClaimErrorBackoff{500};
constexpr std::chrono::milliseconds kSleepSlice{50};

}  // namespace

WorkerPool::WorkerPool(ports::TaskQueue& queue, LoadTask& load, int threads,
                       std::string worker_id_prefix, std::function<void()> on_idle)
    : queue_(queue),
      load_(load),
      thread_count_(threads),
      prefix_(std::move(worker_id_prefix)),
      on_idle_(std::move(on_idle)) {}

WorkerPool::~WorkerPool() { Stop(); }

void WorkerPool::Start() {
  if (!threads_.empty()) return;
  stop_ = false;
  for (int i = 0; i < thread_count_; ++i) threads_.emplace_back([this, i] { Loop(i); });
}

void WorkerPool::Stop() {
  stop_ = true;
  queue_.WakeAll();
  for (auto& thread : threads_) {
    if (thread.joinable()) thread.join();
  }
  threads_.clear();
}

void WorkerPool::Loop(int index) {
  const std::string worker_id = prefix_ + "-" + std::to_string(index);
  const std::function<bool()> stop_requested = [this] { return stop_.load(); };
  const ClaimNow claim_now = [&]() -> std::optional<ports::ClaimedTask> {
    auto claimed = queue_.Claim(worker_id, std::chrono::milliseconds(0));
    if (!claimed) return std::nullopt;  // the group goes without; the next Claim reports it
    return std::move(*claimed);
  };
  std::optional<ports::ClaimedTask> carried;  // claimed for a group that was full
  while (!stop_ || carried) {
    std::optional<ports::ClaimedTask> task = std::exchange(carried, std::nullopt);
    if (!task) {
      auto claimed = queue_.Claim(worker_id, kClaimWait);
      if (!claimed) {
        spdlog::warn("worker={} claim failed: {}", worker_id, claimed.error().message);
        for (auto slept = std::chrono::milliseconds(0); slept < kClaimErrorBackoff && !stop_;
             slept += kSleepSlice) {
          std::this_thread::sleep_for(kSleepSlice);
        }
        continue;
      }
      if (!*claimed) {
        if (on_idle_ && busy_ == 0 && ran_since_idle_.exchange(false)) on_idle_();
        continue;
      }
      task = std::move(*claimed);
    }
    ++busy_;
    struct Ended {  // counted out whatever the outcome, then arms on_idle
      WorkerPool* pool;
      ~Ended() {
        --pool->busy_;
        pool->ran_since_idle_ = true;
      }
    } ended{this};
    if (stop_) {  // a carried task, claimed before the stop: hand it back
      Settle(worker_id, {*task, LoadOutcome::kStopped});
      continue;
    }
    if (!load_.Groups()) {
      Settle(worker_id, {*task, load_.Run(*task, stop_requested)});
      continue;
    }
    carried = load_.RunGroup(
        *task, claim_now, [&](const TaskOutcome& done) { Settle(worker_id, done); },
        stop_requested);
  }
}

void WorkerPool::Settle(const std::string& worker_id, const TaskOutcome& done) {
  const ports::ClaimedTask& task = done.task;
  switch (done.outcome) {
    case LoadOutcome::kFinished:
      if (auto acked = queue_.Ack(task); !acked) {
        spdlog::warn("worker={} task={} ack failed: {}", worker_id, task.task_id,
                     acked.error().message);
      }
      break;
    case LoadOutcome::kStopped:
      if (auto released = queue_.Release(task); !released) {
        spdlog::warn("worker={} task={} release failed: {}", worker_id, task.task_id,
                     released.error().message);
      }
      break;
    case LoadOutcome::kLost:
      break;
  }
}

}  // namespace intake::app
