// In-memory RecordStore: patients and visits in maps, ApplyBatch through domain::PlanBatch with the
// task's progress updated atomically in the shared FakeTaskStore (see record_store.hpp for the
// semantics). Failure injection method names: "ApplyBatch", "ListPatients", "GetPatient", "Check";
// an injected ApplyBatch failure writes nothing. Thread-safe.
#pragma once

#include <atomic>
#include <cstdint>
#include <functional>
#include <map>
#include <mutex>
#include <span>
#include <string>
#include <vector>

#include "domain/merge_rules.hpp"
#include "fakes/failure_injector.hpp"
#include "fakes/fake_task_store.hpp"
#include "ports/record_store.hpp"

namespace intake::fakes {

class FakeRecordStore : public ports::RecordStore, public FailureInjector {
 public:
  explicit FakeRecordStore(FakeTaskStore& tasks) : tasks_(tasks) {}

  Result<domain::TaskCounters> ApplyBatch(const ports::BatchInput& batch) override;
  // Overlaps as SetOverlapsBatches says (false by default: ApplyBatchInTurn is the port's default).
  // Overlapping, ApplyBatch and ApplyBatchInTurn take their turn on a mutex (a batch begun later
  // waits for it there; at most one batch of a task waits at once, so the mutex need not be fair);
  // ApplyBatchInTurn then calls `in_turn` and runs the SetAfterTurn hook before it applies.
  bool OverlapsBatches() const override;
  Result<domain::TaskCounters> ApplyBatchInTurn(const ports::BatchInput& batch,
                                                const std::function<void()>& in_turn) override;
  // Groups as SetMaxGroupedBatches says (1 by default: no grouping, and ApplyBatches is the port's
  // default, batch by batch). Grouping, it applies all or none: a failure injected on
  // "ApplyBatches", or a batch whose task moved on, applies none.
  std::size_t MaxGroupedBatches() const override;
  Result<std::vector<domain::TaskCounters>> ApplyBatches(
      std::span<const ports::BatchInput> batches) override;
  Result<ports::PatientPage> ListPatients(const ports::PatientFilter& filter, std::int64_t page,
                                          std::int64_t page_size) override;
  Result<ports::PatientView> GetPatient(std::int64_t id) override;
  Status Check() override;

  // ---- Test helpers ----
  struct PatientRow {
    std::string mrn;
    domain::Person person;
    domain::Position pos;
    bool operator==(const PatientRow&) const = default;
  };
  struct VisitRow {
    std::string visit_account_number;
    std::int64_t patient_id = 0;
    std::string visit_date;
    std::string reason;
    domain::Position pos;
    bool operator==(const VisitRow&) const = default;
  };
  // The whole database, comparable: two runs that should end alike compare equal.
  struct Tables {
    std::map<std::int64_t, PatientRow> patients;
    std::map<std::int64_t, VisitRow> visits;
    bool operator==(const Tables&) const = default;
  };
  Tables Snapshot() const;
  std::size_t PatientCount() const;
  std::size_t VisitCount() const;
  // Every batch ApplyBatch accepted (not the failed or refused ones), in order.
  std::vector<ports::BatchInput> AppliedBatches() const;
  void SetMaxGroupedBatches(std::size_t n);
  void SetOverlapsBatches(bool overlaps);
  // Runs in ApplyBatchInTurn while the batch holds its turn, before it applies. Set before use.
  void SetAfterTurn(std::function<void(const ports::BatchInput&)> hook);
  // How many ApplyBatch and ApplyBatchInTurn calls have begun.
  int BatchesBegun() const { return begun_.load(); }
  // How many batches each ApplyBatches call was given, in call order.
  std::vector<std::size_t> GroupSizes() const;

 private:
  Result<domain::TaskCounters> Applied(const ports::BatchInput& batch);  // injected failures too
  Result<domain::TaskCounters> ApplyOne(const ports::BatchInput& batch);
  domain::ExistingState LoadState(const ports::BatchInput& batch) const;
  void WritePlan(const domain::BatchPlan& plan);
  ports::PatientView View(std::int64_t id, const PatientRow& row) const;

  FakeTaskStore& tasks_;
  mutable std::mutex mu_;
  Tables tables_;
  std::map<std::string, std::int64_t> patient_by_mrn_;
  std::map<std::string, std::int64_t> visit_by_number_;
  std::int64_t next_patient_id_ = 1;
  std::int64_t next_visit_id_ = 1;
  std::vector<ports::BatchInput> applied_;
  std::size_t max_grouped_ = 1;
  std::atomic<bool> overlaps_{false};
  std::mutex turn_mu_;  // held by the overlapping batch whose turn it is
  std::function<void(const ports::BatchInput&)> after_turn_;
  std::atomic<int> begun_{0};
  std::vector<std::size_t> group_sizes_;
};

}  // namespace intake::fakes
