// FakeS3Server: a tiny HTTP/1.1 server on 127.0.0.1:<free port> for tests that must see or shape
// the exact requests S3ObjectStore sends (multipart sequence, aborts, retries, error documents,
// signatures), which a real S3 server does not let a test observe. Every request is recorded and
// answered by a handler the test sets. One thread per connection; keep-alive and
// "Expect: 100-continue" supported. Thread-safe.
#pragma once

#include <atomic>
#include <functional>
#include <map>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

namespace intake::adapters::testing {

struct FakeRequest {
  std::string method;
  std::string target;  // path and query as sent, e.g. "/b/k.csv?uploads="
  std::string path;
  std::string query;
  std::map<std::string, std::string> headers;  // lower-case names, trimmed values
  std::string body;
};

struct FakeResponse {
  int status = 200;
  std::vector<std::pair<std::string, std::string>> headers;
  std::string body;
};

class FakeS3Server {
 public:
  using Handler = std::function<FakeResponse(const FakeRequest&)>;

  explicit FakeS3Server(Handler handler);
  ~FakeS3Server();
  FakeS3Server(const FakeS3Server&) = delete;
  FakeS3Server& operator=(const FakeS3Server&) = delete;

  std::string url() const { return "http://127.0.0.1:" + std::to_string(port_); }
  // Requests received so far, in arrival order.
  std::vector<FakeRequest> requests() const;
  // "METHOD target" of each request, e.g. "PUT /b/k.csv?partNumber=1&uploadId=u".
  std::vector<std::string> request_lines() const;

 private:
  void AcceptLoop();
  void Serve(int fd);

  Handler handler_;
  int listen_fd_ = -1;
  int port_ = 0;
  std::atomic<bool> stopping_{false};
  mutable std::mutex mu_;
  std::vector<FakeRequest> requests_;  // guarded by mu_
  std::vector<int> client_fds_;        // guarded by mu_
  std::vector<std::thread> threads_;   // guarded by mu_
  std::thread acceptor_;
};

}  // namespace intake::adapters::testing
