// The raw zone: one CSV object per accepted batch, addressed by key at the bucket root.
// Implementations: adapters/file (a folder), adapters/s3 (any S3 API). All methods thread-safe.
#pragma once

#include <cstddef>
#include <memory>
#include <string>
#include <string_view>

#include "domain/result.hpp"

namespace intake::ports {

// A streaming upload. Bytes written are invisible to readers until Commit() succeeds; destroying
// the writer without a successful Commit() discards them. Not thread-safe (one writer, one thread).
class ObjectWriter {
 public:
  virtual ~ObjectWriter() = default;
  virtual Status Write(std::string_view bytes) = 0;
  // Makes the object durable and visible under its key.
  virtual Status Commit() = 0;
  virtual std::size_t bytes_written() const = 0;
};

// A streaming download. Not thread-safe.
class ObjectReader {
 public:
  virtual ~ObjectReader() = default;
  // Reads up to `size` bytes into `buffer`; 0 means end of object. kUnavailable on a transient
  // failure (the caller may start over with a new reader).
  virtual Result<std::size_t> Read(char* buffer, std::size_t size) = 0;
};

class ObjectStore {
 public:
  virtual ~ObjectStore() = default;
  // Creates the bucket if missing (idempotent).
  virtual Status EnsureBucket() = 0;
  // Stores `bytes` under `key` durably. Keys are never reused, so no overwrite semantics are
  // needed.
  virtual Status Put(std::string_view key, std::string_view bytes) = 0;
  virtual Result<std::unique_ptr<ObjectWriter>> BeginPut(std::string_view key) = 0;
  // kNotFound when the key does not exist.
  virtual Result<std::unique_ptr<ObjectReader>> Get(std::string_view key) = 0;
  // Cheap reachability probe for /ready: ok, or kUnavailable with a short reason (no secrets).
  virtual Status Check() = 0;
};

}  // namespace intake::ports
