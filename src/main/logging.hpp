// Process logging: spdlog's default logger writing to stderr, as text or one JSON object per line
// ({"ts","level","msg"}). Called once by the commands before anything logs.
#pragma once

#include <spdlog/formatter.h>

#include <memory>

#include "main/config.hpp"

namespace intake::main_ {

// Formats a record as {"ts":"<UTC ISO-8601 with ms>","level":"info","msg":"…"} plus a newline,
// with JSON string escaping (control characters as \uXXXX).
class JsonFormatter final : public spdlog::formatter {
 public:
  void format(const spdlog::details::log_msg& msg, spdlog::memory_buf_t& dest) override;
  std::unique_ptr<spdlog::formatter> clone() const override;
};

// Replaces spdlog's default logger with a thread-safe stderr logger configured from `config`.
void SetUpLogging(LogLevel level, LogFormat format);

}  // namespace intake::main_
