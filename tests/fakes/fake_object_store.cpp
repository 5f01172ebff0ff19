#include "fakes/fake_object_store.hpp"

#include <algorithm>
#include <cstring>

namespace intake::fakes {

class FakeObjectWriter : public ports::ObjectWriter {
 public:
  FakeObjectWriter(FakeObjectStore& store, std::string key) : store_(store), key_(std::move(key)) {}
  ~FakeObjectWriter() override {
    if (!committed_) store_.WriterClosed();
  }

  Status Write(std::string_view bytes) override {
    if (auto error = store_.Inject("Write")) return *error;
    if (committed_) return Internal("write after commit");
    store_.NoteWrite(bytes.size());
    buffer_.append(bytes);
    return {};
  }

  Status Commit() override {
    if (auto error = store_.Inject("Commit")) return *error;
    if (committed_) return Internal("double commit");
    committed_ = true;
    store_.WriterClosed();
    store_.Store(key_, std::move(buffer_));
    return {};
  }

  std::size_t bytes_written() const override { return buffer_.size(); }

 private:
  FakeObjectStore& store_;
  std::string key_;
  std::string buffer_;
  bool committed_ = false;
};

class FakeObjectReader : public ports::ObjectReader {
 public:
  FakeObjectReader(FakeObjectStore& store, std::shared_ptr<const std::string> data,
                   std::size_t max_read)
      : store_(store), data_(std::move(data)), max_read_(max_read) {}

  Result<std::size_t> Read(char* buffer, std::size_t size) override {
    if (auto error = store_.Inject("Read")) return *error;
    std::size_t n = std::min(size, data_->size() - offset_);
    if (max_read_ != 0) n = std::min(n, max_read_);
    if (n > 0) std::memcpy(buffer, data_->data() + offset_, n);
    offset_ += n;
    return n;
  }

 private:
  FakeObjectStore& store_;
  std::shared_ptr<const std::string> data_;
  std::size_t max_read_;
  std::size_t offset_ = 0;
};

Status FakeObjectStore::EnsureBucket() { return InjectStatus("EnsureBucket"); }

Status FakeObjectStore::Put(std::string_view key, std::string_view bytes) {
  if (auto error = Inject("Put")) return *error;
  Store(std::string(key), std::string(bytes));
  return {};
}

Result<std::unique_ptr<ports::ObjectWriter>> FakeObjectStore::BeginPut(std::string_view key) {
  if (auto error = Inject("BeginPut")) return *error;
  {
    std::lock_guard lock(mu_);
    ++open_writers_;
  }
  return std::unique_ptr<ports::ObjectWriter>(
      std::make_unique<FakeObjectWriter>(*this, std::string(key)));
}

int FakeObjectStore::Gets() const {
  std::lock_guard lock(mu_);
  return gets_;
}

Result<std::unique_ptr<ports::ObjectReader>> FakeObjectStore::Get(std::string_view key) {
  std::lock_guard lock(mu_);
  ++gets_;
  if (auto error = Inject("Get")) return *error;
  auto it = objects_.find(key);
  if (it == objects_.end()) return NotFound("object not found");
  std::shared_ptr<const std::string> data = it->second;
  if (truncated_gets_ > 0) {
    --truncated_gets_;
    data = std::make_shared<const std::string>(data->substr(0, truncate_to_));
  }
  return std::unique_ptr<ports::ObjectReader>(
      std::make_unique<FakeObjectReader>(*this, std::move(data), max_read_));
}

Status FakeObjectStore::Check() { return InjectStatus("Check"); }

std::optional<std::string> FakeObjectStore::Object(std::string_view key) const {
  std::lock_guard lock(mu_);
  auto it = objects_.find(key);
  if (it == objects_.end()) return std::nullopt;
  return *it->second;
}

std::vector<std::string> FakeObjectStore::Keys() const {
  std::lock_guard lock(mu_);
  std::vector<std::string> keys;
  for (const auto& [key, value] : objects_) keys.push_back(key);
  return keys;
}

std::size_t FakeObjectStore::ObjectCount() const {
  std::lock_guard lock(mu_);
  return objects_.size();
}

void FakeObjectStore::Remove(std::string_view key) {
  std::lock_guard lock(mu_);
  auto it = objects_.find(key);
  if (it != objects_.end()) objects_.erase(it);
}

void FakeObjectStore::ServeTruncated(std::size_t bytes, int gets) {
  std::lock_guard lock(mu_);
  truncate_to_ = bytes;
  truncated_gets_ = gets;
}

void FakeObjectStore::SetMaxReadSize(std::size_t n) {
  std::lock_guard lock(mu_);
  max_read_ = n;
}

std::size_t FakeObjectStore::LargestWrite() const {
  std::lock_guard lock(mu_);
  return largest_write_;
}

int FakeObjectStore::OpenWriters() const {
  std::lock_guard lock(mu_);
  return open_writers_;
}

void FakeObjectStore::NoteWrite(std::size_t n) {
  std::lock_guard lock(mu_);
  largest_write_ = std::max(largest_write_, n);
}

void FakeObjectStore::WriterClosed() {
  std::lock_guard lock(mu_);
  --open_writers_;
}

void FakeObjectStore::Store(std::string key, std::string bytes) {
  auto data = std::make_shared<const std::string>(std::move(bytes));
  std::lock_guard lock(mu_);
  objects_[std::move(key)] = std::move(data);
}

}  // namespace intake::fakes
