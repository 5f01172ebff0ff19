// LoadTask::RunGroup: several queued tasks' rows in one RecordStore::ApplyBatches call. On SQLite
// each commit rewrites every page its rows touched, and a task of a JSON request (up to 50,000
// records, often far fewer) is one batch: grouping queued tasks into batch_rows rows saves most of
// those rewrites (docs/architecture.md, "Worker").
#include <spdlog/spdlog.h>

#include <chrono>
#include <utility>
#include <variant>

#include "app/batch_producer.hpp"
#include "app/load_steps.hpp"
#include "app/load_task.hpp"

namespace intake::app {
namespace {

// A claimed task read whole into one batch, started, ready to be applied with the group.
struct Member {
  ports::ClaimedTask claim;
  ports::TaskRecord task;
  ports::BatchInput batch;
};

// What became of a claimed task offered to a group.
enum class Offer {
  kJoined,    // a Member now
  kAlone,     // cannot join: run it on its own
  kCarry,     // would overflow the group: the next group's first
  kFinished,  // finished already (by another worker): ack it
};

// Reads the object of a task that has nothing committed yet and takes its rows when they are one
// batch and the object ends there. nullopt otherwise (the producer is then cancelled).
std::optional<ports::BatchInput> ReadWhole(std::unique_ptr<ports::ObjectReader> reader,
                                           ProducerSettings settings) {
  BatchProducer producer(std::move(reader), std::move(settings));
  BatchProducer::Item item = producer.Next();
  auto* batch = std::get_if<ports::BatchInput>(&item);
  if (batch == nullptr || !batch->total_records) return std::nullopt;
  BatchProducer::Item end = producer.Next();  // pushed right after the last batch
  const auto* complete = std::get_if<ProducerEnd>(&end);
  if (complete == nullptr || complete->kind != ProducerEnd::Kind::kComplete) return std::nullopt;
  return std::move(*batch);
}

// What applying a group needs.
struct GroupPorts {
  ports::RecordStore& records;
  ports::TaskStore& tasks;
  ports::TaskQueue& queue;
  const ports::Clock& clock;
  RecordMetrics& metrics;
};

// Renews the members' leases when `renew` (reading their objects took a while), applies their
// batches together and marks each task SUCCESS, settling it. A member whose lease is lost is
// settled as lost; one whose part fails goes to `alone`.
void ApplyGroup(const GroupPorts& p, std::vector<Member>& members, bool renew,
                const SettleFn& settle, std::vector<ports::ClaimedTask>& alone) {
  std::vector<Member> kept;
  for (Member& m : members) {
    if (auto extended = renew ? p.queue.Extend(m.claim) : Status{}; !extended) {
      if (extended.error().code == ErrorCode::kConflict) {
        spdlog::warn("task={} lease lost before its group was applied", m.claim.task_id);
        settle({m.claim, LoadOutcome::kLost});
      } else {
        alone.push_back(m.claim);
      }
      continue;
    }
    kept.push_back(std::move(m));
  }
  if (kept.empty()) return;
  std::vector<ports::BatchInput> batches;
  batches.reserve(kept.size());
  for (Member& m : kept) {
    m.batch.task_id = m.claim.task_id;
    m.batch.task_seq = m.task.seq;
    m.batch.rows_done_before = m.task.rows_done;
    m.batch.mark_progress = true;
    batches.push_back(std::move(m.batch));
  }
  // All or none (MaxGroupedBatches() > 1): on failure nothing committed, and each task runs alone.
  auto counters = p.records.ApplyBatches(batches);
  if (!counters) {
    spdlog::warn("a group of {} tasks was not applied ({}); running each on its own", kept.size(),
                 counters.error().message);
    for (const Member& m : kept) alone.push_back(m.claim);
    return;
  }
  for (std::size_t k = 0; k < kept.size(); ++k) {
    const Member& m = kept[k];
    const domain::TaskCounters& c = (*counters)[k];
    const std::int64_t rejected = c.error_count - m.task.counters.error_count;
    p.metrics.loaded += c.processed_records - m.task.counters.processed_records - rejected;
    p.metrics.rejected += rejected;
    if (auto finished = p.tasks.FinishTask(m.claim.task_id, domain::TaskState::kSuccess,
                                           std::nullopt, p.clock.Now());
        !finished) {
      alone.push_back(m.claim);  // its rows are committed: Run finds nothing left but the end
      continue;
    }
    load_steps::LogComplete(m.claim.task_id, c);
    settle({m.claim, LoadOutcome::kFinished});
  }
}

}  // namespace

std::optional<ports::ClaimedTask> LoadTask::RunGroup(const ports::ClaimedTask& first,
                                                     const ClaimNow& claim_now,
                                                     const SettleFn& settle,
                                                     const std::function<bool()>& stop_requested) {
  const auto rows_limit = static_cast<std::int64_t>(options_.batch_rows);
  const std::size_t max_members = records_.MaxGroupedBatches();
  const auto stopping = [&] { return stop_requested && stop_requested(); };
  const auto claimed_at = std::chrono::steady_clock::now();
  std::vector<Member> members;
  std::vector<ports::ClaimedTask> alone;
  std::optional<ports::ClaimedTask> carry;
  std::int64_t rows = 0;

  // Offers one claimed task to the group: admitted (started, its object still to be read), or not.
  // Reading waits until the claiming is over: the claims and MarkStarted are short writes that go
  // back to back, before a bulk write waiting for the writer (SqliteDatabase). Read between them,
  // the other worker's group takes the writer after the first claim, and the next claim waits for
  // its whole transaction while nobody prepares a group (the two workers fall into step).
  std::vector<std::pair<ports::ClaimedTask, ports::TaskRecord>> admitted;
  const auto offer = [&](const ports::ClaimedTask& claim) -> Offer {
    for (const auto& a : admitted) {
      // Delivered twice (enqueued twice, or its lease ran out while the group was read): the
      // copy runs after the group, finds the task finished and is acked.
      if (a.first.task_id == claim.task_id) return Offer::kAlone;
    }
    auto task = tasks_.GetTask(claim.task_id, false);
    if (!task || domain::IsFinished(task->state) || task->rows_done > 0 ||
        task->records_received > rows_limit) {
      return Offer::kAlone;  // Run sees to each of these
    }
    if (!admitted.empty() && rows + task->records_received > rows_limit) return Offer::kCarry;
    if (auto started = tasks_.MarkStarted(claim.task_id, clock_.Now()); !started) {
      return started.error().code == ErrorCode::kConflict ? Offer::kFinished : Offer::kAlone;
    }
    load_steps::LogStart(*task, true);
    rows += task->records_received;
    admitted.emplace_back(claim, std::move(*task));
    return Offer::kJoined;
  };

  std::optional<ports::ClaimedTask> next = first;
  while (next) {
    const ports::ClaimedTask claim = std::move(*next);
    next.reset();
    switch (offer(claim)) {
      case Offer::kJoined:
        if (admitted.size() < max_members && rows < rows_limit && !stopping()) next = claim_now();
        break;
      case Offer::kAlone:
        alone.push_back(claim);
        break;
      case Offer::kCarry:
        carry = claim;
        break;
      case Offer::kFinished:
        settle({claim, LoadOutcome::kFinished});
        break;
    }
  }
  // Each admitted task's object, read whole: it joins the group, or runs on its own after it.
  const domain::Date today = load_steps::UtcDate(clock_.Now());
  for (auto& [claim, task] : admitted) {
    auto reader = objects_.Get(task.csv_filename);
    spdlog::info("[STEP 2] Parsing CSV… task={}", claim.task_id);
    auto batch = reader
                     ? ReadWhole(std::move(*reader), load_steps::SettingsFor(task, options_, today))
                     : std::nullopt;
    if (!batch) {
      alone.push_back(claim);
      continue;
    }
    members.push_back(Member{claim, std::move(task), std::move(*batch)});
  }
  const bool renew = std::chrono::steady_clock::now() - claimed_at > options_.group_lease_renewal;
  ApplyGroup(GroupPorts{records_, tasks_, queue_, clock_, metrics_}, members, renew, settle, alone);
  if (carry && !alone.empty()) {
    settle({*carry, LoadOutcome::kStopped});  // handed back rather than held while these run
    carry.reset();
  }
  for (const auto& claim : alone) {
    settle({claim, stopping() ? LoadOutcome::kStopped : Run(claim, stop_requested)});
  }
  return carry;
}

}  // namespace intake::app
