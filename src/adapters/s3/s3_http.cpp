#include "adapters/s3/s3_http.hpp"

#include <curl/curl.h>

#include <algorithm>
#include <cctype>
#include <cstring>
#include <thread>

#include "adapters/s3/s3_protocol.hpp"

namespace intake::adapters::s3 {
namespace {

constexpr int kMaxAttempts = 3;
constexpr std::size_t kMaxIdleHandles = 8;
constexpr std::chrono::milliseconds kFirstBackoff{100};

CURLcode GlobalInit() {
  static std::once_flag once;
  static CURLcode result = CURLE_OK;
  std::call_once(once, [] { result = curl_global_init(CURL_GLOBAL_DEFAULT); });
  return result;
}

struct UploadState {
  std::string_view body;
  std::size_t offset = 0;
};

std::size_t ReadBody(char* buffer, std::size_t size, std::size_t count, void* user) {
  auto* state = static_cast<UploadState*>(user);
  std::size_t n = std::min(size * count, state->body.size() - state->offset);
  std::memcpy(buffer, state->body.data() + state->offset, n);
  state->offset += n;
  return n;
}

// curl rewinds the body when it must resend it (e.g. after a 100-continue refusal).
int SeekBody(void* user, curl_off_t offset, int origin) {
  auto* state = static_cast<UploadState*>(user);
  if (origin != SEEK_SET || offset < 0 || static_cast<std::size_t>(offset) > state->body.size()) {
    return CURL_SEEKFUNC_CANTSEEK;
  }
  state->offset = static_cast<std::size_t>(offset);
  return CURL_SEEKFUNC_OK;
}

struct DownloadState {
  HttpResponse* response;
  std::size_t limit;
  bool overflow = false;
};

std::size_t WriteBody(char* data, std::size_t size, std::size_t count, void* user) {
  auto* state = static_cast<DownloadState*>(user);
  std::size_t n = size * count;
  if (state->response->body.size() + n > state->limit) {
    state->overflow = true;
    return 0;  // makes curl fail the transfer with CURLE_WRITE_ERROR
  }
  state->response->body.append(data, n);
  return n;
}

std::size_t ReadHeader(char* data, std::size_t size, std::size_t count, void* user) {
  auto* response = static_cast<HttpResponse*>(user);
  std::string_view line(data, size * count);
  constexpr std::string_view kEtag = "etag:";
  if (line.size() > kEtag.size() &&
      std::equal(kEtag.begin(), kEtag.end(), line.begin(),
                 [](char a, char b) { return a == std::tolower(static_cast<unsigned char>(b)); })) {
    std::string_view value = line.substr(kEtag.size());
    while (!value.empty() && (value.front() == ' ' || value.front() == '\t'))
      value.remove_prefix(1);
    while (!value.empty() &&
           (value.back() == '\r' || value.back() == '\n' || value.back() == ' ')) {
      value.remove_suffix(1);
    }
    response->etag = std::string(value);
  }
  return size * count;
}

bool IsRetryableTransport(CURLcode code) {
  return code == CURLE_SEND_ERROR || code == CURLE_RECV_ERROR || code == CURLE_GOT_NOTHING ||
         code == CURLE_PARTIAL_FILE;
}

struct HeaderList {
  curl_slist* list = nullptr;
  ~HeaderList() { curl_slist_free_all(list); }
  // Only non-empty values: curl 7.88 would sign an "X:" removal header it never sends.
  bool Add(const std::string& line) {
    curl_slist* next = curl_slist_append(list, line.c_str());
    if (next == nullptr) return false;
    list = next;
    return true;
  }
};

}  // namespace

S3Http::S3Http(std::string endpoint, const std::string& region, std::string access_key_id,
               std::string secret_access_key, std::chrono::milliseconds connect_timeout,
               std::chrono::milliseconds request_timeout)
    : endpoint_(std::move(endpoint)),
      sigv4_("aws:amz:" + region + ":s3"),
      access_key_id_(std::move(access_key_id)),
      secret_access_key_(std::move(secret_access_key)),
      connect_timeout_(connect_timeout),
      request_timeout_(request_timeout) {
  GlobalInit();
}

S3Http::~S3Http() {
  for (void* handle : idle_) curl_easy_cleanup(handle);
}

void* S3Http::Acquire() {
  {
    std::lock_guard lock(mu_);
    if (!idle_.empty()) {
      void* handle = idle_.back();
      idle_.pop_back();
      return handle;
    }
  }
  if (GlobalInit() != CURLE_OK) return nullptr;
  return curl_easy_init();
}

void S3Http::Release(void* handle) {
  curl_easy_reset(handle);  // keeps the handle's connection cache
  std::lock_guard lock(mu_);
  if (idle_.size() < kMaxIdleHandles) {
    idle_.push_back(handle);
    return;
  }
  curl_easy_cleanup(handle);
}

Result<HttpResponse> S3Http::Perform(const HttpRequest& request) {
  void* handle = Acquire();
  if (handle == nullptr) return Internal("S3: cannot initialize libcurl");
  Result<HttpResponse> result = Internal("S3: no attempt made");
  auto backoff = kFirstBackoff;
  for (int attempt = 1; attempt <= kMaxAttempts; ++attempt) {
    bool retryable = false;
    result = PerformOnce(handle, request, retryable);
    if (result) retryable = IsRetryableStatus(result->status);
    if (!retryable || !request.idempotent || attempt == kMaxAttempts) break;
    std::this_thread::sleep_for(backoff);
    backoff *= 3;
  }
  Release(handle);
  return result;
}

Result<HttpResponse> S3Http::PerformOnce(void* handle, const HttpRequest& request,
                                         bool& retryable) {
  curl_easy_reset(handle);
  HttpResponse response;
  UploadState upload{request.body};
  DownloadState download{&response, request.max_response_bytes};
  HeaderList headers;
  bool headers_ok = headers.Add("x-amz-content-sha256: " + Sha256Hex(request.body));
  if (!request.content_type.empty()) {
    headers_ok = headers_ok && headers.Add("Content-Type: " + request.content_type);
  }
  if (!request.range.empty()) headers_ok = headers_ok && headers.Add("Range: " + request.range);
  if (!headers_ok) return Internal("S3: out of memory building a request");

  char error_text[CURL_ERROR_SIZE] = {};
  curl_easy_setopt(handle, CURLOPT_URL, request.url.c_str());
  curl_easy_setopt(handle, CURLOPT_PROTOCOLS_STR, "http,https");
  curl_easy_setopt(handle, CURLOPT_NOSIGNAL, 1L);
  curl_easy_setopt(handle, CURLOPT_CONNECTTIMEOUT_MS, static_cast<long>(connect_timeout_.count()));
  curl_easy_setopt(handle, CURLOPT_TIMEOUT_MS, static_cast<long>(request_timeout_.count()));
  curl_easy_setopt(handle, CURLOPT_ERRORBUFFER, error_text);
  curl_easy_setopt(handle, CURLOPT_HTTPHEADER, headers.list);
  curl_easy_setopt(handle, CURLOPT_WRITEFUNCTION, WriteBody);
  curl_easy_setopt(handle, CURLOPT_WRITEDATA, &download);
  curl_easy_setopt(handle, CURLOPT_HEADERFUNCTION, ReadHeader);
  curl_easy_setopt(handle, CURLOPT_HEADERDATA, &response);
  if (!access_key_id_.empty()) {
    curl_easy_setopt(handle, CURLOPT_AWS_SIGV4, sigv4_.c_str());
    curl_easy_setopt(handle, CURLOPT_USERNAME, access_key_id_.c_str());
    curl_easy_setopt(handle, CURLOPT_PASSWORD, secret_access_key_.c_str());
  }
  if (request.method == "HEAD") {
    curl_easy_setopt(handle, CURLOPT_NOBODY, 1L);
  } else if (request.method == "PUT" || request.method == "POST") {
    curl_easy_setopt(handle, CURLOPT_UPLOAD, 1L);
    curl_easy_setopt(handle, CURLOPT_READFUNCTION, ReadBody);
    curl_easy_setopt(handle, CURLOPT_READDATA, &upload);
    curl_easy_setopt(handle, CURLOPT_SEEKFUNCTION, SeekBody);
    curl_easy_setopt(handle, CURLOPT_SEEKDATA, &upload);
    curl_easy_setopt(handle, CURLOPT_INFILESIZE_LARGE,
                     static_cast<curl_off_t>(request.body.size()));
    if (request.method == "POST") curl_easy_setopt(handle, CURLOPT_CUSTOMREQUEST, "POST");
  } else if (request.method != "GET") {
    curl_easy_setopt(handle, CURLOPT_CUSTOMREQUEST, std::string(request.method).c_str());
  }

  CURLcode code = curl_easy_perform(handle);
  curl_easy_setopt(handle, CURLOPT_ERRORBUFFER, nullptr);
  if (code != CURLE_OK) {
    retryable = IsRetryableTransport(code);
    if (download.overflow) return Unavailable("S3 answer larger than expected");
    std::string reason = error_text[0] != '\0' ? error_text : curl_easy_strerror(code);
    return Unavailable("cannot reach S3 endpoint " + RedactEndpoint(endpoint_) + " (" + reason +
                       ")");
  }
  curl_easy_getinfo(handle, CURLINFO_RESPONSE_CODE, &response.status);
  curl_off_t length = -1;
  curl_easy_getinfo(handle, CURLINFO_CONTENT_LENGTH_DOWNLOAD_T, &length);
  response.content_length = length;
  return response;
}

}  // namespace intake::adapters::s3
