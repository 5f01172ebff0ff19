#include "adapters/s3/s3_object_store.hpp"

#include <algorithm>
#include <cstdint>
#include <utility>
#include <vector>

#include "adapters/s3/s3_http.hpp"
#include "adapters/s3/s3_protocol.hpp"

namespace intake::adapters::s3 {
namespace {

constexpr std::size_t kMinPartSize = std::size_t{5} * 1024 * 1024;
constexpr std::size_t kMaxParts = 10000;
constexpr std::size_t kMaxXmlAnswer = 1 << 20;

bool IsSuccess(long status) { return status >= 200 && status < 300; }

HttpRequest Request(std::string_view method, std::string url) {
  HttpRequest request;
  request.method = method;
  request.url = std::move(url);
  request.max_response_bytes = kMaxXmlAnswer;
  return request;
}

std::string ContentTypeFor(std::string_view key) {
  return key.ends_with(".csv") ? "text/csv" : "application/octet-stream";
}

// Performs `request`; any non-2xx answer becomes its mapped Error.
Result<HttpResponse> Call(S3Http& http, const HttpRequest& request, std::string_view operation) {
  auto response = http.Perform(request);
  if (!response) return response;
  if (!IsSuccess(response->status)) {
    return ErrorFromResponse(response->status, response->body, operation);
  }
  return response;
}

// What writers and readers need from their store; the HTTP client is shared so they may outlive it.
struct Bucket {
  std::shared_ptr<S3Http> http;
  std::string name;
  std::size_t part_size;

  std::string Url(std::string_view key, std::string_view query = {}) const {
    return ObjectUrl(http->endpoint(), name, key, query);
  }
};

Status PutObject(const Bucket& bucket, std::string_view key, std::string_view bytes) {
  HttpRequest request = Request("PUT", bucket.Url(key));
  request.body = bytes;
  request.content_type = ContentTypeFor(key);
  auto response = Call(*bucket.http, request, "PutObject");
  if (!response) return response.error();
  return {};
}

class S3Writer : public ports::ObjectWriter {
 public:
  S3Writer(Bucket bucket, std::string key) : bucket_(std::move(bucket)), key_(std::move(key)) {}
  ~S3Writer() override {
    if (!upload_id_.empty() && !committed_) Abort();
  }
  S3Writer(const S3Writer&) = delete;
  S3Writer& operator=(const S3Writer&) = delete;

  Status Write(std::string_view bytes) override {
    if (closed_) return InvalidArgument("object writer is closed");
    while (!bytes.empty()) {
      std::size_t n = std::min(bucket_.part_size - buffer_.size(), bytes.size());
      buffer_.append(bytes.data(), n);
      bytes.remove_prefix(n);
      written_ += n;
      if (buffer_.size() == bucket_.part_size) {
        if (auto flushed = UploadPart(); !flushed) return Fail(flushed.error());
      }
    }
    return {};
  }

  Status Commit() override {
    if (closed_) return InvalidArgument("object writer is closed");
    Status done = upload_id_.empty() ? PutObject(bucket_, key_, buffer_) : CompleteUpload();
    if (!done) return Fail(done.error());
    committed_ = closed_ = true;
    std::string().swap(buffer_);
    return {};
  }

  std::size_t bytes_written() const override { return written_; }

 private:
  // A failed writer stays closed; its destructor aborts the multipart upload.
  Error Fail(Error error) {
    closed_ = true;
    std::string().swap(buffer_);
    return error;
  }

  Status StartUpload() {
    HttpRequest request = Request("POST", bucket_.Url(key_, CanonicalQuery({{"uploads", ""}})));
    request.content_type = ContentTypeFor(key_);
    request.idempotent = false;  // a retry would leave an orphan upload
    auto response = Call(*bucket_.http, request, "CreateMultipartUpload");
    if (!response) return response.error();
    upload_id_ = XmlValue(response->body, "UploadId").value_or("");
    if (upload_id_.empty()) return Internal("S3 CreateMultipartUpload answer has no UploadId");
    return {};
  }

  Status UploadPart() {
    if (upload_id_.empty()) {
      if (auto started = StartUpload(); !started) return started;
    }
    if (etags_.size() == kMaxParts) return InvalidArgument("object exceeds 10000 S3 parts");
    std::string query = CanonicalQuery(
        {{"partNumber", std::to_string(etags_.size() + 1)}, {"uploadId", upload_id_}});
    HttpRequest request = Request("PUT", bucket_.Url(key_, query));
    request.body = buffer_;
    auto response = Call(*bucket_.http, request, "UploadPart");
    if (!response) return response.error();
    if (response->etag.empty()) return Internal("S3 UploadPart answer has no ETag");
    etags_.push_back(std::move(response->etag));
    buffer_.clear();  // keeps the capacity for the next part
    return {};
  }

  Status CompleteUpload() {
    if (!buffer_.empty() || etags_.empty()) {
      if (auto flushed = UploadPart(); !flushed) return flushed;
    }
    std::string body = CompleteMultipartXml(etags_);
    HttpRequest request =
        Request("POST", bucket_.Url(key_, CanonicalQuery({{"uploadId", upload_id_}})));
    request.body = body;
    request.content_type = "application/xml";
    request.idempotent = false;  // a retry after a lost answer would see NoSuchUpload
    auto response = Call(*bucket_.http, request, "CompleteMultipartUpload");
    if (!response) return response.error();
    // S3 may report a failure inside a 200 answer once it has started sending it.
    if (IsErrorDocument(response->body)) {
      return ErrorFromResponse(response->status, response->body, "CompleteMultipartUpload");
    }
    return {};
  }

  void Abort() {
    HttpRequest request =
        Request("DELETE", bucket_.Url(key_, CanonicalQuery({{"uploadId", upload_id_}})));
    (void)bucket_.http->Perform(request);  // best effort; see the header
  }

  Bucket bucket_;
  std::string key_;
  std::string buffer_;
  std::string upload_id_;
  std::vector<std::string> etags_;
  std::size_t written_ = 0;
  bool closed_ = false;
  bool committed_ = false;
};

class S3Reader : public ports::ObjectReader {
 public:
  S3Reader(Bucket bucket, std::string url, std::uint64_t size)
      : bucket_(std::move(bucket)), url_(std::move(url)), size_(size) {}

  Result<std::size_t> Read(char* buffer, std::size_t size) override {
    if (size == 0) return std::size_t{0};
    if (position_ == buffer_.size()) {
      if (fetched_ >= size_) return std::size_t{0};
      if (auto fetched = FetchNextRange(); !fetched) return fetched.error();
    }
    std::size_t n = std::min(size, buffer_.size() - position_);
    std::copy_n(buffer_.data() + position_, n, buffer);
    position_ += n;
    return n;
  }

 private:
  Status FetchNextRange() {
    const std::uint64_t length = std::min<std::uint64_t>(bucket_.part_size, size_ - fetched_);
    HttpRequest request = Request("GET", url_);
    request.range =
        "bytes=" + std::to_string(fetched_) + "-" + std::to_string(fetched_ + length - 1);
    request.max_response_bytes = std::max<std::size_t>(length, kMaxXmlAnswer);
    auto response = Call(*bucket_.http, request, "GetObject");
    if (!response) return response.error();
    bool whole = response->status == 200 && fetched_ == 0 && length == size_;
    if ((response->status != 206 && !whole) || response->body.size() != length) {
      return Unavailable("S3 GetObject returned an unexpected range (object changed?)");
    }
    buffer_ = std::move(response->body);
    position_ = 0;
    fetched_ += length;
    return {};
  }

  Bucket bucket_;
  std::string url_;
  std::uint64_t size_;
  std::uint64_t fetched_ = 0;  // bytes of the object fetched so far
  std::string buffer_;
  std::size_t position_ = 0;  // next unread byte of buffer_
};

}  // namespace

S3ObjectStore::S3ObjectStore(S3Options options)
    : part_size_(std::max(options.part_size, kMinPartSize)),
      bucket_(std::move(options.bucket)),
      region_(options.region.empty() ? "us-east-1" : options.region),
      http_(std::make_shared<S3Http>(NormalizeEndpoint(options.endpoint_url, region_), region_,
                                     std::move(options.access_key_id),
                                     std::move(options.secret_access_key), options.connect_timeout,
                                     options.request_timeout)) {}

S3ObjectStore::~S3ObjectStore() = default;

const std::string& S3ObjectStore::endpoint() const { return http_->endpoint(); }

Error S3ObjectStore::HeadFailure(long status, const std::string& key, const char* operation) {
  HttpRequest request = Request(
      "GET", ObjectUrl(http_->endpoint(), bucket_, key,
                       key.empty() ? CanonicalQuery({{"list-type", "2"}, {"max-keys", "0"}}) : ""));
  if (!key.empty()) request.range = "bytes=0-0";
  auto response = http_->Perform(request);
  if (response && !IsSuccess(response->status)) {
    return ErrorFromResponse(response->status, response->body, operation);
  }
  return ErrorFromResponse(status, "", operation);
}

Status S3ObjectStore::EnsureBucket() {
  const std::string url = ObjectUrl(http_->endpoint(), bucket_, "");
  auto head = http_->Perform(Request("HEAD", url));
  if (!head) return head.error();
  if (IsSuccess(head->status)) return {};
  if (head->status != 404) return HeadFailure(head->status, "", "HeadBucket");

  std::string body = CreateBucketXml(region_);
  HttpRequest create = Request("PUT", url);
  create.body = body;
  if (!body.empty()) create.content_type = "application/xml";
  auto created = http_->Perform(create);
  if (!created) return created.error();
  if (IsSuccess(created->status)) return {};
  const std::string code = XmlValue(created->body, "Code").value_or("");
  if (code == "BucketAlreadyOwnedByYou") return {};
  if (code == "BucketAlreadyExists") {
    // Someone created it between our HEAD and PUT: fine if it is ours (HEAD now answers 200).
    auto again = http_->Perform(Request("HEAD", url));
    if (again && IsSuccess(again->status)) return {};
    return Internal("S3 bucket name is taken by another account (BucketAlreadyExists)");
  }
  return ErrorFromResponse(created->status, created->body, "CreateBucket");
}

Status S3ObjectStore::Put(std::string_view key, std::string_view bytes) {
  if (auto valid = ValidateKey(key); !valid) return valid;
  return PutObject(Bucket{http_, bucket_, part_size_}, key, bytes);
}

Result<std::unique_ptr<ports::ObjectWriter>> S3ObjectStore::BeginPut(std::string_view key) {
  if (auto valid = ValidateKey(key); !valid) return valid.error();
  return std::unique_ptr<ports::ObjectWriter>(
      std::make_unique<S3Writer>(Bucket{http_, bucket_, part_size_}, std::string(key)));
}

Result<std::unique_ptr<ports::ObjectReader>> S3ObjectStore::Get(std::string_view key) {
  if (auto valid = ValidateKey(key); !valid) return valid.error();
  Bucket bucket{http_, bucket_, part_size_};
  std::string url = bucket.Url(key);
  auto head = http_->Perform(Request("HEAD", url));
  if (!head) return head.error();
  if (head->status == 404) return NotFound("object not found");
  if (!IsSuccess(head->status)) return HeadFailure(head->status, std::string(key), "HeadObject");
  if (head->content_length < 0) return Internal("S3 HeadObject answer has no Content-Length");
  return std::unique_ptr<ports::ObjectReader>(std::make_unique<S3Reader>(
      std::move(bucket), std::move(url), static_cast<std::uint64_t>(head->content_length)));
}

Status S3ObjectStore::Check() {
  auto head = http_->Perform(Request("HEAD", ObjectUrl(http_->endpoint(), bucket_, "")));
  if (!head) return head.error();
  if (IsSuccess(head->status)) return {};
  if (head->status == 404) return Unavailable("S3 bucket does not exist (NoSuchBucket)");
  Error error = HeadFailure(head->status, "", "HeadBucket");
  return Unavailable(std::move(error.message));
}

}  // namespace intake::adapters::s3
