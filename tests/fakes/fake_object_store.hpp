// In-memory ObjectStore: objects are byte strings in a map. Writers buffer until Commit(); readers
// read a snapshot. Failure injection method names: "EnsureBucket", "Put", "BeginPut", "Get",
// "Check", and for the streams "Write", "Commit", "Read". Thread-safe.
#pragma once

#include <cstddef>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "fakes/failure_injector.hpp"
#include "ports/object_store.hpp"

namespace intake::fakes {

class FakeObjectStore : public ports::ObjectStore, public FailureInjector {
 public:
  Status EnsureBucket() override;
  Status Put(std::string_view key, std::string_view bytes) override;
  Result<std::unique_ptr<ports::ObjectWriter>> BeginPut(std::string_view key) override;
  Result<std::unique_ptr<ports::ObjectReader>> Get(std::string_view key) override;
  Status Check() override;

  // ---- Test helpers ----
  // The object's bytes, or nullopt when no such (committed) object exists.
  std::optional<std::string> Object(std::string_view key) const;
  bool Contains(std::string_view key) const { return Object(key).has_value(); }
  std::vector<std::string> Keys() const;  // sorted
  std::size_t ObjectCount() const;
  void Remove(std::string_view key);
  // Caps the bytes one ObjectReader::Read returns (to exercise chunk boundaries); 0 = no cap.
  void SetMaxReadSize(std::size_t n);
  // The next `gets` Get() calls read only the first `bytes` bytes of their object: what a store
  // that acknowledged a write before all of it was readable serves (s3rver can).
  void ServeTruncated(std::size_t bytes, int gets);
  // The largest single ObjectWriter::Write seen so far (to check bounded upload writes).
  std::size_t LargestWrite() const;
  // Writers begun and not yet committed or destroyed.
  int OpenWriters() const;
  // Get() calls so far.
  int Gets() const;

 private:
  friend class FakeObjectWriter;
  friend class FakeObjectReader;
  void NoteWrite(std::size_t n);
  void WriterClosed();
  void Store(std::string key, std::string bytes);

  mutable std::mutex mu_;
  std::map<std::string, std::shared_ptr<const std::string>, std::less<>> objects_;
  std::size_t max_read_ = 0;
  std::size_t truncate_to_ = 0;
  int truncated_gets_ = 0;
  std::size_t largest_write_ = 0;
  int open_writers_ = 0;
  int gets_ = 0;
};

}  // namespace intake::fakes
