#include "http/metrics.hpp"

#include <spdlog/fmt/fmt.h>

#include <algorithm>

namespace intake::http {
namespace {

constexpr std::array<std::string_view, 7> kKnownMethods = {"GET",   "POST", "PUT",    "DELETE",
                                                           "PATCH", "HEAD", "OPTIONS"};

constexpr std::array<domain::TaskState, 5> kStates = {
    domain::TaskState::kPending, domain::TaskState::kStarted, domain::TaskState::kProgress,
    domain::TaskState::kSuccess, domain::TaskState::kFailure};

// Shortest text that reads back as the same double ("0.005", not "0.0050000000000000001").
std::string FormatDouble(double v) { return fmt::format("{}", v); }

}  // namespace

std::string EscapeLabel(std::string_view value) {
  std::string out;
  out.reserve(value.size());
  for (char c : value) {
    if (c == '\\') {
      out += "\\\\";
    } else if (c == '"') {
      out += "\\\"";
    } else if (c == '\n') {
      out += "\\n";
    } else {
      out += c;
    }
  }
  return out;
}

void HttpMetrics::Record(std::string_view route, std::string_view method, int status,
                         double seconds) {
  bool known = std::find(kKnownMethods.begin(), kKnownMethods.end(), method) != kKnownMethods.end();
  std::string method_label(known ? method : "OTHER");
  std::lock_guard lock(mu_);
  ++requests_[{std::string(route), std::move(method_label), status}];
  Histogram& h = durations_[std::string(route)];
  auto bucket = std::lower_bound(kBuckets.begin(), kBuckets.end(), seconds);
  if (bucket != kBuckets.end()) ++h.buckets[static_cast<std::size_t>(bucket - kBuckets.begin())];
  ++h.count;
  h.sum += seconds;
}

std::string HttpMetrics::Render() const {
  std::lock_guard lock(mu_);
  std::string out;
  out += "# HELP intake_http_requests_total HTTP requests by route template, method and status.\n";
  out += "# TYPE intake_http_requests_total counter\n";
  for (const auto& [key, count] : requests_) {
    const auto& [route, method, status] = key;
    out +=
        fmt::format("intake_http_requests_total{{route=\"{}\",method=\"{}\",status=\"{}\"}} {}\n",
                    EscapeLabel(route), method, status, count);
  }
  out += "# HELP intake_http_request_duration_seconds HTTP request latency by route template.\n";
  out += "# TYPE intake_http_request_duration_seconds histogram\n";
  for (const auto& [route, h] : durations_) {
    std::string label = EscapeLabel(route);
    std::uint64_t cumulative = 0;
    for (std::size_t i = 0; i < kBuckets.size(); ++i) {
      cumulative += h.buckets[i];
      out +=
          fmt::format("intake_http_request_duration_seconds_bucket{{route=\"{}\",le=\"{}\"}} {}\n",
                      label, FormatDouble(kBuckets[i]), cumulative);
    }
    out +=
        fmt::format("intake_http_request_duration_seconds_bucket{{route=\"{}\",le=\"+Inf\"}} {}\n",
                    label, h.count);
    out += fmt::format("intake_http_request_duration_seconds_sum{{route=\"{}\"}} {}\n", label,
                       FormatDouble(h.sum));
    out += fmt::format("intake_http_request_duration_seconds_count{{route=\"{}\"}} {}\n", label,
                       h.count);
  }
  return out;
}

std::string RenderPipeline(const PipelineGauges& g) {
  std::string out;
  out +=
      "# HELP intake_records_total Records accepted by the API, loaded or rejected by workers.\n";
  out += "# TYPE intake_records_total counter\n";
  out += fmt::format("intake_records_total{{outcome=\"accepted\"}} {}\n", g.accepted);
  out += fmt::format("intake_records_total{{outcome=\"loaded\"}} {}\n", g.loaded);
  out += fmt::format("intake_records_total{{outcome=\"rejected\"}} {}\n", g.rejected);
  if (g.tasks) {
    out += "# HELP intake_tasks Tasks by status.\n";
    out += "# TYPE intake_tasks gauge\n";
    for (domain::TaskState state : kStates) {
      auto it = g.tasks->find(state);
      out += fmt::format("intake_tasks{{status=\"{}\"}} {}\n", domain::TaskStateName(state),
                         it == g.tasks->end() ? 0 : it->second);
    }
  }
  if (g.queue_depth) {
    out += "# HELP intake_queue_depth Tasks waiting or in progress in the queue.\n";
    out += "# TYPE intake_queue_depth gauge\n";
    out += fmt::format("intake_queue_depth {}\n", *g.queue_depth);
  }
  return out;
}

}  // namespace intake::http
