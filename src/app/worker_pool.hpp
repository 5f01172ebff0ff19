// N worker threads that claim tasks from the queue and run LoadTask on them: each task on its own,
// or, where the record store applies several tasks in one transaction, queued tasks in groups
// (LoadTask::RunGroup).
// Start() once; Stop() asks every thread to finish its current batch, hand unfinished tasks back to
// the queue, and join. Thread-safe.
#pragma once

#include <atomic>
#include <functional>
#include <string>
#include <thread>
#include <vector>

#include "app/load_task.hpp"
#include "ports/task_queue.hpp"

namespace intake::app {

class WorkerPool {
 public:
  // `on_idle`, when set, runs on a worker thread once the queue has been empty for a claim's wait
  // while no worker runs a task, after some task ended: a place to give memory back (never in the
  // middle of another worker's load).
  WorkerPool(ports::TaskQueue& queue, LoadTask& load, int threads, std::string worker_id_prefix,
             std::function<void()> on_idle = {});
  ~WorkerPool();  // calls Stop()
  void Start();
  void Stop();

 private:
  void Loop(int index);
  // Acks a finished task, releases a stopped one.
  void Settle(const std::string& worker_id, const TaskOutcome& done);

  ports::TaskQueue& queue_;
  LoadTask& load_;
  int thread_count_;
  std::string prefix_;
  std::function<void()> on_idle_;
  std::atomic<bool> ran_since_idle_{false};  // a task ended since on_idle last ran
  std::atomic<int> busy_{0};                 // workers running a task
  std::atomic<bool> stop_{false};
  std::vector<std::thread> threads_;
};

}  // namespace intake::app
