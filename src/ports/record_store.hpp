// The patient database: batched, set-based apply of validated rows (with the task's progress in the
// same transaction) and the read queries. Thread-safe.
#pragma once

#include <cstddef>
#include <cstdint>
#include <functional>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include "domain/merge_rules.hpp"
#include "domain/result.hpp"
#include "domain/task.hpp"

namespace intake::ports {

struct BatchInput {
  std::string task_id;
  std::int64_t task_seq = 0;
  // The task's rows_done this batch starts from. The store refuses (kConflict) when the stored
  // value differs: another worker has taken the task over.
  std::int64_t rows_done_before = 0;
  // The last data row this batch covers; becomes the task's rows_done.
  std::int64_t rows_done_after = 0;
  std::vector<domain::RowInput> rows;  // valid rows, ascending row numbers
  // Rows rejected before reaching the store (parse or field problems): their count and problems.
  std::int64_t rejected_rows = 0;
  std::vector<domain::RowError> row_errors;
  // Set on the batch that reaches the end of the CSV.
  std::optional<std::int64_t> total_records;
  // When true the task state becomes PROGRESS in the same transaction.
  bool mark_progress = true;
};

struct PatientFilter {
  // Case-insensitive (Unicode simple case folding) literal substring matches; unset = no filter.
  std::optional<std::string> mrn;
  std::optional<std::string> first_name;
  std::optional<std::string> last_name;
};

struct VisitView {
  std::int64_t id = 0;
  std::string visit_account_number;
  std::string visit_date;
  std::string reason;
};

struct PatientView {
  std::int64_t id = 0;
  std::string mrn;
  domain::Person person;
  std::vector<VisitView> visits;  // ordered by visit_date, then id
};

struct PatientPage {
  std::int64_t total = 0;
  std::vector<PatientView> patients;  // ordered by id
};

class RecordStore {
 public:
  virtual ~RecordStore() = default;
  // In one transaction: loads the stored state for the batch, runs domain::PlanBatch, writes the
  // plan, adds the plan's and the pre-rejected rows' counters to the task, stores its row errors
  // (up to kMaxStoredRowErrors per task), sets rows_done (and total_records when given).
  // Returns the task's counters after the batch. kConflict: rows_done_before mismatch.
  // kUnavailable: transient, nothing was written.
  virtual Result<domain::TaskCounters> ApplyBatch(const BatchInput& batch) = 0;
  // Whether a task's next batch may begin (ApplyBatchInTurn, on another thread) while this one
  // applies: the store then reads the next batch's stored rows while this one writes. False (the
  // default): a task's batches gain nothing from it, and are applied one after the other.
  virtual bool OverlapsBatches() const { return false; }
  // ApplyBatch, calling `in_turn` once, as soon as the batch's place in the apply order is fixed:
  // every ApplyBatch or ApplyBatchInTurn begun after that call applies after this batch (it sees
  // this batch's commit, or its failure). At the latest it is called just before the return. The
  // default applies the batch, then calls it.
  virtual Result<domain::TaskCounters> ApplyBatchInTurn(const BatchInput& batch,
                                                        const std::function<void()>& in_turn) {
    auto applied = ApplyBatch(batch);
    in_turn();
    return applied;
  }
  // How many batches ApplyBatches applies in one transaction; 1 (the default): the store gains
  // nothing from grouping, and callers apply each batch with ApplyBatch.
  virtual std::size_t MaxGroupedBatches() const { return 1; }
  // Applies the batches of different tasks, in order, as ApplyBatch would one after the other:
  // the counters of each task after its batch. Where MaxGroupedBatches() > 1, in one transaction:
  // all or none, one commit (what a store that rewrites the pages it touched at every commit
  // gains from it). The default applies them one by one and stops at the first error, so after an
  // error some may have committed: a caller re-reads its tasks then.
  // REQUIRES: batches of distinct tasks; where MaxGroupedBatches() > 1, at most that many.
  virtual Result<std::vector<domain::TaskCounters>> ApplyBatches(
      std::span<const BatchInput> batches) {
    std::vector<domain::TaskCounters> out;
    out.reserve(batches.size());
    for (const BatchInput& batch : batches) {
      auto counters = ApplyBatch(batch);
      if (!counters) return counters.error();
      out.push_back(*counters);
    }
    return out;
  }
  // REQUIRES: page >= 1, 1 <= page_size <= 100.
  virtual Result<PatientPage> ListPatients(const PatientFilter& filter, std::int64_t page,
                                           std::int64_t page_size) = 0;
  // kNotFound for an unknown id.
  virtual Result<PatientView> GetPatient(std::int64_t id) = 0;
  virtual Status Check() = 0;
  // Frees what memory the store keeps for speed while loading (page caches); called when the
  // workers have been idle for a while. The default keeps nothing to free.
  virtual void ReleaseIdleMemory() {}
};

}  // namespace intake::ports
