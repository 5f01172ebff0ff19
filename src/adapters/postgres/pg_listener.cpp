#include "adapters/postgres/pg_listener.hpp"

#include <fcntl.h>
#include <poll.h>
#include <spdlog/spdlog.h>
#include <unistd.h>

#include <algorithm>

namespace intake::adapters::postgres {
namespace {

constexpr std::chrono::milliseconds kFirstBackoff{100};
constexpr int kPollSliceMs = 1000;

}  // namespace

PgListener::PgListener(std::shared_ptr<PgDatabase> db, std::string channel,
                       std::function<void()> on_notify)
    : db_(std::move(db)), channel_(std::move(channel)), on_notify_(std::move(on_notify)) {
  if (pipe2(wake_, O_CLOEXEC | O_NONBLOCK) != 0) {
    wake_[0] = wake_[1] = -1;  // Sleep/Listen then poll in slices and check stop_
  }
  thread_ = std::thread([this] { Run(); });
}

PgListener::~PgListener() {
  stop_ = true;
  if (wake_[1] >= 0) {
    char byte = 1;
    (void)!write(wake_[1], &byte, 1);
  }
  thread_.join();
  for (int fd : wake_) {
    if (fd >= 0) close(fd);
  }
}

bool PgListener::WaitListening(std::chrono::milliseconds timeout) {
  std::unique_lock lock(mu_);
  return cv_.wait_for(lock, timeout, [&] { return listening_; });
}

void PgListener::SetListening(bool on) {
  {
    std::lock_guard lock(mu_);
    listening_ = on;
  }
  cv_.notify_all();
}

bool PgListener::Sleep(std::chrono::milliseconds d) {
  pollfd fd{wake_[0], POLLIN, 0};
  auto ms = static_cast<int>(std::min<std::int64_t>(d.count(), kPollSliceMs));
  if (wake_[0] >= 0) {
    (void)poll(&fd, 1, ms);
  } else {
    std::this_thread::sleep_for(std::chrono::milliseconds(ms));
  }
  return !stop_;
}

void PgListener::Run() {
  auto backoff = kFirstBackoff;
  while (!stop_) {
    auto conn = db_->Connect();
    if (conn) {
      auto listen = (*conn)->Script("LISTEN " + (*conn)->QuoteIdentifier(channel_), "listen");
      if (listen) {
        backoff = kFirstBackoff;
        SetListening(true);
        on_notify_();  // anything sent before LISTEN took effect
        if (!Listen(**conn)) return;
        SetListening(false);
        spdlog::warn("postgres: task notification connection lost; reconnecting");
        continue;
      }
      spdlog::warn("{}", listen.error().message);
    } else {
      spdlog::warn("{}", conn.error().message);
    }
    if (!Sleep(backoff)) return;
    backoff = std::min(backoff * 2, kMaxBackoff);
  }
}

bool PgListener::Listen(PgConnection& conn) {
  PGconn* raw = conn.raw();
  while (!stop_) {
    pollfd fds[2] = {{PQsocket(raw), POLLIN, 0}, {wake_[0], POLLIN, 0}};
    int ready = poll(fds, wake_[0] >= 0 ? 2 : 1, kPollSliceMs);
    if (stop_) return false;
    if (ready <= 0 || (fds[0].revents & (POLLIN | POLLERR | POLLHUP)) == 0) continue;
    if (PQconsumeInput(raw) == 0 || conn.broken()) return true;
    bool got = false;
    while (PGnotify* n = PQnotifies(raw)) {
      got = true;
      PQfreemem(n);
    }
    if (got) on_notify_();
  }
  return false;
}

}  // namespace intake::adapters::postgres
