#include "main/backend_ensurer.hpp"

#include <spdlog/spdlog.h>

#include <algorithm>

namespace intake::main_ {

bool BackendEnsurer::TryOnce() {
  if (!database_) {
    auto opened = factory_.OpenDatabase();
    if (opened) {
      database_ = std::move(*opened);
      spdlog::info("database ready (schema version {})", database_->schema_version);
      database_ports_ = database_->Ports();
      gates_.database.Publish(&database_ports_);
      if (database_->queue) gates_.queue.Publish(database_->queue.get());
    } else {
      const std::string reason = opened.error().message;
      spdlog::warn("database not ready, retrying in the background: {}", reason);
      gates_.database.SetReason(reason);
      if (factory_.QueueInDatabase()) gates_.queue.SetReason(reason);
    }
  }
  if (!objects_) {
    auto opened = factory_.OpenObjectStore();
    if (opened) {
      objects_ = std::move(*opened);
      spdlog::info("object store ready");
      gates_.objects.Publish(objects_.get());
    } else {
      const std::string reason = opened.error().message;
      spdlog::warn("object store not ready, retrying in the background: {}", reason);
      gates_.objects.SetReason(reason);
    }
  }
  if (!factory_.QueueInDatabase() && !queue_) {
    auto opened = factory_.OpenQueue();
    if (opened) {
      queue_ = std::move(*opened);
      spdlog::info("task queue ready");
      gates_.queue.Publish(queue_.get());
    } else {
      const std::string reason = opened.error().message;
      spdlog::warn("task queue not ready, retrying in the background: {}", reason);
      gates_.queue.SetReason(reason);
    }
  }
  return AllUp();
}

bool BackendEnsurer::AllUp() const {
  return database_ && objects_ && (factory_.QueueInDatabase() || queue_);
}

void BackendEnsurer::StartRetrying() {
  if (AllUp()) return;
  thread_ = std::thread([this] { Loop(); });
}

void BackendEnsurer::Stop() {
  {
    std::lock_guard lock(mu_);
    stop_ = true;
  }
  cv_.notify_all();
  if (thread_.joinable()) thread_.join();
}

void BackendEnsurer::Loop() {
  auto backoff = kFirstBackoff;
  while (true) {
    {
      std::unique_lock lock(mu_);
      if (cv_.wait_for(lock, backoff, [&] { return stop_; })) return;
    }
    if (TryOnce()) {
      spdlog::info("all backends ready");
      return;
    }
    backoff = std::min(backoff * 2, kMaxBackoff);
  }
}

}  // namespace intake::main_
