// N worker threads that claim tasks from the queue and run LoadTask on them.
// Start() once; Stop() asks every thread to finish its current batch, hand unfinished tasks back to
// the queue, and join. Thread-safe.
#pragma once

#include <atomic>
#include <string>
#include <thread>
#include <vector>

#include "app/load_task.hpp"
#include "ports/task_queue.hpp"

namespace intake::app {

class WorkerPool {
 public:
  WorkerPool(ports::TaskQueue& queue, LoadTask& load, int threads, std::string worker_id_prefix);
  ~WorkerPool();  // calls Stop()
  void Start();
  void Stop();

 private:
  void Loop(int index);

  ports::TaskQueue& queue_;
  LoadTask& load_;
  int thread_count_;
  std::string prefix_;
  std::atomic<bool> stop_{false};
  std::vector<std::thread> threads_;
};

}  // namespace intake::app
