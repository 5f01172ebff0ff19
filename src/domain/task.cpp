#include "domain/task.hpp"

#include <array>
#include <cstddef>

namespace intake::domain {

namespace {

constexpr std::array<std::string_view, 5> kTaskStateNames = {"PENDING", "STARTED", "PROGRESS",
                                                             "SUCCESS", "FAILURE"};

}  // namespace

std::string_view TaskStateName(TaskState s) { return kTaskStateNames[static_cast<std::size_t>(s)]; }

std::optional<TaskState> TaskStateFromName(std::string_view name) {
  for (std::size_t i = 0; i < kTaskStateNames.size(); ++i) {
    if (kTaskStateNames[i] == name) return static_cast<TaskState>(i);
  }
  return std::nullopt;
}

TaskCounters& TaskCounters::operator+=(const TaskCounters& o) {
  total_records += o.total_records;
  processed_records += o.processed_records;
  patients_created += o.patients_created;
  patients_updated += o.patients_updated;
  patients_unchanged += o.patients_unchanged;
  visits_created += o.visits_created;
  visits_updated += o.visits_updated;
  visits_unchanged += o.visits_unchanged;
  error_count += o.error_count;
  return *this;
}

}  // namespace intake::domain
