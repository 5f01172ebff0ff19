// Steps that LoadTask's single runs (load_task.cpp) and its groups (load_group.cpp) share. Private
// to LoadTask.
#pragma once

#include <chrono>
#include <string>

#include "app/batch_producer.hpp"
#include "app/load_task.hpp"
#include "domain/task.hpp"
#include "ports/task_store.hpp"

namespace intake::app::load_steps {

// The calendar date (UTC) of `now`: the validation date of the rows.
domain::Date UtcDate(std::chrono::system_clock::time_point now);

// The producer settings for a task's object: its expected rows, where it resumes, its known
// errors.
ProducerSettings SettingsFor(const ports::TaskRecord& task, const LoadOptions& options,
                             domain::Date today);

// The seed's log lines (task ids, never values).
void LogStart(const ports::TaskRecord& task, bool first_attempt);
void LogComplete(const std::string& task_id, const domain::TaskCounters& c);

}  // namespace intake::app::load_steps
