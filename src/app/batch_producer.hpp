// The parsing half of a load (SPEC §4): streams a task's CSV object, parses it (RFC 4180), maps
// and validates the rows after the task's committed rows, and hands over batches ready for
// RecordStore::ApplyBatch. It runs on a thread of its own, at most `depth` batches ahead of the
// caller, so the next batch is parsed and validated while the store applies this one.
//
// Thread-safety: Next() is called by one consumer thread. The destructor cancels the thread (it
// stops at the next batch boundary or read) and joins it.
#pragma once

#include <condition_variable>
#include <cstddef>
#include <cstdint>
#include <deque>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <variant>

#include "domain/csv_codec.hpp"
#include "domain/validation.hpp"
#include "ports/object_store.hpp"
#include "ports/record_store.hpp"

namespace intake::app {

struct ProducerSettings {
  std::string task_id;  // for log lines only
  // The data rows the task received (records_received): Intake wrote the object, header and
  // exactly these rows, each ending in a line break. An object with fewer rows, or one ending
  // inside a row, is incomplete (a store that answered before all its bytes were readable): a
  // transient end, and the incomplete tail is never handed over. One with more rows changed after
  // upload: the task fails before the first extra row.
  std::int64_t expected_rows = 0;
  std::int64_t rows_done = 0;     // data rows already committed: parsed again, not handed over
  std::int64_t known_errors = 0;  // problems the task has stored already (kMaxStoredRowErrors cap)
  domain::Date today;             // the validation date (birth_date not after it)
  std::size_t batch_rows = 5000;  // data rows (valid or not) per batch
  std::size_t depth = 1;          // batches prepared ahead of the consumer
  bool log_phi = false;
};

// How the stream ended, handed over after the last batch.
struct ProducerEnd {
  enum class Kind {
    kComplete,   // every row handed over; the last batch carries total_records
    kFail,       // the task fails for good: `reason` (no header, object gone, extra rows)
    kTransient,  // reading failed, or the object is incomplete, in a way worth a retry: `error`
  };
  Kind kind = Kind::kComplete;
  std::string reason;
  Error error;
};

class BatchProducer {
 public:
  // A batch (task_id, task_seq and rows_done_before left for the consumer to fill in), or the end.
  using Item = std::variant<ports::BatchInput, ProducerEnd>;

  BatchProducer(std::unique_ptr<ports::ObjectReader> reader, ProducerSettings settings);
  ~BatchProducer();
  BatchProducer(const BatchProducer&) = delete;
  BatchProducer& operator=(const BatchProducer&) = delete;

  // Blocks until the next item. After a ProducerEnd it must not be called again.
  Item Next();

 private:
  class Parser;

  void Produce();
  // False when cancelled meanwhile.
  bool Push(Item item);

  std::unique_ptr<ports::ObjectReader> reader_;
  ProducerSettings settings_;
  std::mutex mu_;
  std::condition_variable cv_;
  std::deque<Item> ready_;
  bool cancelled_ = false;
  std::thread thread_;
};

}  // namespace intake::app
