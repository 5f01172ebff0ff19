// FileObjectStore: ports::ObjectStore in a folder. Object `key` of the bucket lives at
// <root>/<bucket>/<key>. Keys must be plain file names: non-empty, at most 255 bytes, no '/', no
// NUL, not starting with '.' (that also rules out "." and ".." and our temporary files) → else
// kInvalidArgument.
//
// Writes go to a temporary file ".tmp-<key>-<random>" in the bucket folder; Commit() fsyncs it,
// links it to its key (never replacing an existing object: kConflict) and fsyncs the folder, so the
// object is durable before Commit() returns. A writer destroyed before Commit() removes its file.
// I/O failures → kUnavailable with the operation and the errno text (never object contents).
// Thread-safe (every call works on its own file descriptors).
#pragma once

#include <filesystem>
#include <memory>
#include <string>

#include "ports/object_store.hpp"

namespace intake::adapters::file {

class FileObjectStore : public ports::ObjectStore {
 public:
  FileObjectStore(std::filesystem::path root, std::string bucket);

  Status EnsureBucket() override;
  Status Put(std::string_view key, std::string_view bytes) override;
  Result<std::unique_ptr<ports::ObjectWriter>> BeginPut(std::string_view key) override;
  Result<std::unique_ptr<ports::ObjectReader>> Get(std::string_view key) override;
  // ok when the bucket folder exists and is writable, else kUnavailable.
  Status Check() override;

  const std::filesystem::path& bucket_dir() const { return dir_; }

 private:
  std::filesystem::path dir_;
};

}  // namespace intake::adapters::file
