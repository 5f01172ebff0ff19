#include "main/backend_ensurer.hpp"

#include <spdlog/spdlog.h>

#include <algorithm>

namespace intake::main_ {
namespace {

// One attempt at a single-port backend: on success it is kept in `slot` and published through
// `gate`; otherwise the gate carries the reason (what /ready and 503 answers say).
template <typename Port>
void TryOpen(std::unique_ptr<Port>& slot, BackendGate<Port>& gate, std::string_view what,
             Result<std::unique_ptr<Port>> opened) {
  if (opened) {
    slot = std::move(*opened);
    spdlog::info("{} ready", what);
    gate.Publish(slot.get());
  } else {
    const std::string reason = opened.error().message;
    spdlog::warn("{} not ready, retrying in the background: {}", what, reason);
    gate.SetReason(reason);
  }
}

}  // namespace

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
  if (!objects_) TryOpen(objects_, gates_.objects, "object store", factory_.OpenObjectStore());
  if (!factory_.QueueInDatabase() && !queue_) {
    TryOpen(queue_, gates_.queue, "task queue", factory_.OpenQueue());
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
