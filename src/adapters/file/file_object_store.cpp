#include "adapters/file/file_object_store.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <cstring>
#include <random>
#include <system_error>
#include <type_traits>

namespace intake::adapters::file {
namespace {

constexpr std::size_t kMaxKeyBytes = 255;

Error IoError(std::string_view what, int err) {
  return Unavailable("object store: " + std::string(what) + " failed (" + std::strerror(err) + ")");
}

Status ValidateKey(std::string_view key) {
  if (key.empty() || key.size() > kMaxKeyBytes || key.front() == '.' ||
      key.find('/') != std::string_view::npos || key.find('\0') != std::string_view::npos) {
    return InvalidArgument("object key must be a plain file name");
  }
  return {};
}

std::string RandomSuffix() {
  static std::atomic<std::uint64_t> counter{0};
  thread_local std::mt19937_64 rng{std::random_device{}()};
  return std::to_string(::getpid()) + "-" + std::to_string(counter.fetch_add(1)) + "-" +
         std::to_string(rng() & 0xffffffff);
}

Status SyncDir(const std::filesystem::path& dir) {
  int fd = ::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (fd < 0) return IoError("open folder", errno);
  int rc = ::fsync(fd);
  int err = errno;
  ::close(fd);
  if (rc != 0) return IoError("fsync folder", err);
  return {};
}

class FileWriter : public ports::ObjectWriter {
 public:
  FileWriter(int fd, std::filesystem::path dir, std::filesystem::path temp, std::string key)
      : fd_(fd), dir_(std::move(dir)), temp_(std::move(temp)), key_(std::move(key)) {}
  ~FileWriter() override {
    if (fd_ >= 0) ::close(fd_);
    if (!committed_) ::unlink(temp_.c_str());
  }
  FileWriter(const FileWriter&) = delete;
  FileWriter& operator=(const FileWriter&) = delete;

  Status Write(std::string_view bytes) override {
    if (fd_ < 0) return InvalidArgument("object writer is closed");
    while (!bytes.empty()) {
      ssize_t n = ::write(fd_, bytes.data(), bytes.size());
      if (n < 0) {
        if (errno == EINTR) continue;
        return IoError("write", errno);
      }
      bytes.remove_prefix(static_cast<std::size_t>(n));
      written_ += static_cast<std::size_t>(n);
    }
    return {};
  }

  Status Commit() override {
    if (fd_ < 0) return InvalidArgument("object writer is closed");
    if (::fsync(fd_) != 0) return IoError("fsync", errno);
    int rc = ::close(std::exchange(fd_, -1));
    if (rc != 0) return IoError("close", errno);
    if (auto linked = Publish(); !linked) return linked;
    committed_ = true;
    ::unlink(temp_.c_str());
    return SyncDir(dir_);
  }

  std::size_t bytes_written() const override { return written_; }

 private:
  // Makes the temporary file visible under its key without replacing an existing object.
  Status Publish() {
    std::filesystem::path target = dir_ / key_;
    if (::link(temp_.c_str(), target.c_str()) == 0) return {};
    int err = errno;
    if (err == EEXIST) return Conflict("object key already exists");
    if (err != EPERM && err != EOPNOTSUPP && err != ENOSYS) return IoError("link", err);
    // A file system without hard links: rename (keys are never reused).
    if (::rename(temp_.c_str(), target.c_str()) != 0) return IoError("rename", errno);
    return {};
  }

  int fd_;
  std::filesystem::path dir_;
  std::filesystem::path temp_;
  std::string key_;
  std::size_t written_ = 0;
  bool committed_ = false;
};

class FileReader : public ports::ObjectReader {
 public:
  explicit FileReader(int fd) : fd_(fd) {}
  ~FileReader() override { ::close(fd_); }
  FileReader(const FileReader&) = delete;
  FileReader& operator=(const FileReader&) = delete;

  Result<std::size_t> Read(char* buffer, std::size_t size) override {
    for (;;) {
      ssize_t n = ::read(fd_, buffer, size);
      if (n >= 0) return static_cast<std::size_t>(n);
      if (errno != EINTR) return IoError("read", errno);
    }
  }

 private:
  int fd_;
};

}  // namespace

FileObjectStore::FileObjectStore(std::filesystem::path root, std::string bucket)
    : dir_(std::move(root) / bucket) {}

Status FileObjectStore::EnsureBucket() {
  std::error_code ec;
  std::filesystem::create_directories(dir_, ec);
  if (ec)
    return Unavailable("object store: cannot create the bucket folder (" + ec.message() + ")");
  return {};
}

Status FileObjectStore::Put(std::string_view key, std::string_view bytes) {
  auto writer = BeginPut(key);
  if (!writer) return writer.error();
  if (auto written = (*writer)->Write(bytes); !written) return written;
  return (*writer)->Commit();
}

Result<std::unique_ptr<ports::ObjectWriter>> FileObjectStore::BeginPut(std::string_view key) {
  if (auto valid = ValidateKey(key); !valid) return valid.error();
  std::filesystem::path temp =
      dir_ / (".tmp-" + std::string(key.substr(0, 64)) + "-" + RandomSuffix());
  int fd = ::open(temp.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0640);
  if (fd < 0) return IoError("create", errno);
  return std::unique_ptr<ports::ObjectWriter>(
      std::make_unique<FileWriter>(fd, dir_, std::move(temp), std::string(key)));
}

Result<std::unique_ptr<ports::ObjectReader>> FileObjectStore::Get(std::string_view key) {
  if (auto valid = ValidateKey(key); !valid) return valid.error();
  std::filesystem::path path = dir_ / std::string(key);
  int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) {
    if (errno == ENOENT) return NotFound("object not found");
    return IoError("open", errno);
  }
  return std::unique_ptr<ports::ObjectReader>(std::make_unique<FileReader>(fd));
}

Status FileObjectStore::Check() {
  struct stat st {};
  if (::stat(dir_.c_str(), &st) != 0) return IoError("stat bucket folder", errno);
  if (!S_ISDIR(st.st_mode)) return Unavailable("object store: bucket path is not a folder");
  if (::access(dir_.c_str(), W_OK) != 0) return IoError("access bucket folder", errno);
  return {};
}

}  // namespace intake::adapters::file
