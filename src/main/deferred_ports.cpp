#include "main/deferred_ports.hpp"

namespace intake::main_ {

// ---- RecordStore
// ---------------------------------------------------------------------------------

Result<domain::TaskCounters> DeferredRecordStore::ApplyBatch(const ports::BatchInput& batch) {
  if (auto* db = gate_.Get()) return db->records->ApplyBatch(batch);
  return gate_.NotReady();
}

bool DeferredRecordStore::OverlapsBatches() const {
  if (auto* db = gate_.Get()) return db->records->OverlapsBatches();
  return false;
}

Result<domain::TaskCounters> DeferredRecordStore::ApplyBatchInTurn(
    const ports::BatchInput& batch, const std::function<void()>& in_turn) {
  if (auto* db = gate_.Get()) return db->records->ApplyBatchInTurn(batch, in_turn);
  in_turn();
  return gate_.NotReady();
}

std::size_t DeferredRecordStore::MaxGroupedBatches() const {
  if (auto* db = gate_.Get()) return db->records->MaxGroupedBatches();
  return 1;
}

Result<std::vector<domain::TaskCounters>> DeferredRecordStore::ApplyBatches(
    std::span<const ports::BatchInput> batches) {
  if (auto* db = gate_.Get()) return db->records->ApplyBatches(batches);
  return gate_.NotReady();
}

Result<ports::PatientPage> DeferredRecordStore::ListPatients(const ports::PatientFilter& filter,
                                                             std::int64_t page,
                                                             std::int64_t page_size) {
  if (auto* db = gate_.Get()) return db->records->ListPatients(filter, page, page_size);
  return gate_.NotReady();
}

Result<ports::PatientView> DeferredRecordStore::GetPatient(std::int64_t id) {
  if (auto* db = gate_.Get()) return db->records->GetPatient(id);
  return gate_.NotReady();
}

Status DeferredRecordStore::Check() {
  if (auto* db = gate_.Get()) return db->records->Check();
  return gate_.NotReady();
}

void DeferredRecordStore::ReleaseIdleMemory() {
  if (auto* db = gate_.Get()) db->records->ReleaseIdleMemory();
}

// ---- TaskStore
// -----------------------------------------------------------------------------------

Result<ports::TaskRecord> DeferredTaskStore::CreateTask(const ports::NewTask& task) {
  if (auto* db = gate_.Get()) return db->tasks->CreateTask(task);
  return gate_.NotReady();
}

Result<ports::TaskRecord> DeferredTaskStore::GetTask(std::string_view task_id, bool with_errors) {
  if (auto* db = gate_.Get()) return db->tasks->GetTask(task_id, with_errors);
  return gate_.NotReady();
}

Result<ports::TaskPage> DeferredTaskStore::ListTasks(std::int64_t page, std::int64_t page_size) {
  if (auto* db = gate_.Get()) return db->tasks->ListTasks(page, page_size);
  return gate_.NotReady();
}

Status DeferredTaskStore::MarkStarted(std::string_view task_id, ports::TimePoint now) {
  if (auto* db = gate_.Get()) return db->tasks->MarkStarted(task_id, now);
  return gate_.NotReady();
}

Status DeferredTaskStore::FinishTask(std::string_view task_id, domain::TaskState final_state,
                                     std::optional<std::string> failure_reason,
                                     ports::TimePoint now) {
  if (auto* db = gate_.Get()) {
    return db->tasks->FinishTask(task_id, final_state, std::move(failure_reason), now);
  }
  return gate_.NotReady();
}

Result<ports::TaskRecord> DeferredTaskStore::ResetForReplay(std::string_view task_id) {
  if (auto* db = gate_.Get()) return db->tasks->ResetForReplay(task_id);
  return gate_.NotReady();
}

Result<std::map<domain::TaskState, std::int64_t>> DeferredTaskStore::CountByState() {
  if (auto* db = gate_.Get()) return db->tasks->CountByState();
  return gate_.NotReady();
}

Status DeferredTaskStore::Check() {
  if (auto* db = gate_.Get()) return db->tasks->Check();
  return gate_.NotReady();
}

// ---- IdempotencyStore
// ----------------------------------------------------------------------------

Result<ports::IdempotencyBegin> DeferredIdempotencyStore::Begin(
    std::string_view key, std::chrono::system_clock::time_point now, std::chrono::seconds ttl,
    std::chrono::seconds stale_after) {
  if (auto* db = gate_.Get()) return db->idempotency->Begin(key, now, ttl, stale_after);
  return gate_.NotReady();
}

Status DeferredIdempotencyStore::Complete(std::string_view key, std::string_view body_sha256,
                                          std::string_view response_body) {
  if (auto* db = gate_.Get()) return db->idempotency->Complete(key, body_sha256, response_body);
  return gate_.NotReady();
}

Status DeferredIdempotencyStore::Abandon(std::string_view key) {
  if (auto* db = gate_.Get()) return db->idempotency->Abandon(key);
  return gate_.NotReady();
}

// ---- ObjectStore
// ---------------------------------------------------------------------------------

Status DeferredObjectStore::EnsureBucket() {
  if (auto* store = gate_.Get()) return store->EnsureBucket();
  return gate_.NotReady();
}

Status DeferredObjectStore::Put(std::string_view key, std::string_view bytes) {
  if (auto* store = gate_.Get()) return store->Put(key, bytes);
  return gate_.NotReady();
}

Result<std::unique_ptr<ports::ObjectWriter>> DeferredObjectStore::BeginPut(std::string_view key) {
  if (auto* store = gate_.Get()) return store->BeginPut(key);
  return gate_.NotReady();
}

Result<std::unique_ptr<ports::ObjectReader>> DeferredObjectStore::Get(std::string_view key) {
  if (auto* store = gate_.Get()) return store->Get(key);
  return gate_.NotReady();
}

Status DeferredObjectStore::Check() {
  if (auto* store = gate_.Get()) return store->Check();
  return gate_.NotReady();
}

// ---- TaskQueue
// -----------------------------------------------------------------------------------

Status DeferredTaskQueue::Enqueue(std::string_view task_id) {
  if (auto* queue = gate_.Get()) return queue->Enqueue(task_id);
  return gate_.NotReady();
}

Result<std::optional<ports::ClaimedTask>> DeferredTaskQueue::Claim(std::string_view worker_id,
                                                                   std::chrono::milliseconds wait) {
  auto* queue = gate_.Get();
  if (queue == nullptr) {
    const auto start = std::chrono::steady_clock::now();
    if (!gate_.WaitReady(wait)) return std::optional<ports::ClaimedTask>{};
    queue = gate_.Get();
    wait -= std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now() -
                                                                  start);
    if (wait.count() < 0) wait = std::chrono::milliseconds{0};
  }
  return queue->Claim(worker_id, wait);
}

Status DeferredTaskQueue::Extend(const ports::ClaimedTask& task) {
  if (auto* queue = gate_.Get()) return queue->Extend(task);
  return gate_.NotReady();
}

Status DeferredTaskQueue::Ack(const ports::ClaimedTask& task) {
  if (auto* queue = gate_.Get()) return queue->Ack(task);
  return gate_.NotReady();
}

Status DeferredTaskQueue::Release(const ports::ClaimedTask& task) {
  if (auto* queue = gate_.Get()) return queue->Release(task);
  return gate_.NotReady();
}

Result<std::int64_t> DeferredTaskQueue::Depth() {
  if (auto* queue = gate_.Get()) return queue->Depth();
  return gate_.NotReady();
}

Status DeferredTaskQueue::Check() {
  if (auto* queue = gate_.Get()) return queue->Check();
  return gate_.NotReady();
}

void DeferredTaskQueue::WakeAll() {
  if (auto* queue = gate_.Get()) {
    queue->WakeAll();
  } else {
    gate_.Interrupt();
  }
}

}  // namespace intake::main_
