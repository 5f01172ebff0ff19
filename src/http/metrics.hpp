// Request counters and latency histograms for GET /metrics (Prometheus text format 0.0.4).
// Labels are route templates and fixed method names only, so cardinality stays bounded and no
// label ever holds an id or PHI. Thread-safe.
#pragma once

#include <array>
#include <cstdint>
#include <map>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <tuple>

#include "domain/task.hpp"

namespace intake::http {

class HttpMetrics {
 public:
  // Upper bounds (seconds) of the latency histogram buckets; +Inf is implied.
  static constexpr std::array<double, 12> kBuckets = {0.001, 0.005, 0.01, 0.025, 0.05, 0.1,
                                                      0.25,  0.5,   1.0,  2.5,   5.0,  10.0};

  // `method` outside the usual verbs is counted as "OTHER".
  void Record(std::string_view route, std::string_view method, int status, double seconds);

  // The intake_http_* series.
  std::string Render() const;

 private:
  struct Histogram {
    std::array<std::uint64_t, kBuckets.size()> buckets{};  // non-cumulative
    std::uint64_t count = 0;
    double sum = 0;
  };

  mutable std::mutex mu_;
  std::map<std::tuple<std::string, std::string, int>, std::uint64_t> requests_;
  std::map<std::string, Histogram> durations_;
};

// The non-HTTP series /metrics shows; a source that failed is left out (nullopt).
struct PipelineGauges {
  std::int64_t accepted = 0;
  std::int64_t loaded = 0;
  std::int64_t rejected = 0;
  std::optional<std::map<domain::TaskState, std::int64_t>> tasks;
  std::optional<std::int64_t> queue_depth;
};

// intake_records_total, intake_tasks and intake_queue_depth (every task state is listed, 0 when
// absent from `tasks`).
std::string RenderPipeline(const PipelineGauges& gauges);

// A label value escaped for the text format (\\, \" and \n).
std::string EscapeLabel(std::string_view value);

}  // namespace intake::http
