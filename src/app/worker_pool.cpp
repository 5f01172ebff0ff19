#include "app/worker_pool.hpp"

#include <spdlog/spdlog.h>

#include <chrono>

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
  while (!stop_) {
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
    ++busy_;
    struct Ended {  // counted out whatever the outcome, then arms on_idle
      WorkerPool* pool;
      ~Ended() {
        --pool->busy_;
        pool->ran_since_idle_ = true;
      }
    } ended{this};
    const ports::ClaimedTask& task = **claimed;
    switch (load_.Run(task, stop_requested)) {
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
}

}  // namespace intake::app
