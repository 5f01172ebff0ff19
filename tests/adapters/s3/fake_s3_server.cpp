#include "adapters/s3/fake_s3_server.hpp"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cctype>
#include <stdexcept>

namespace intake::adapters::testing {
namespace {

std::string Lower(std::string text) {
  std::transform(text.begin(), text.end(), text.begin(),
                 [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  return text;
}

std::string Trim(std::string_view text) {
  while (!text.empty() && (text.front() == ' ' || text.front() == '\t')) text.remove_prefix(1);
  while (!text.empty() && (text.back() == ' ' || text.back() == '\r')) text.remove_suffix(1);
  return std::string(text);
}

bool SendAll(int fd, std::string_view data) {
  while (!data.empty()) {
    ssize_t n = ::send(fd, data.data(), data.size(), MSG_NOSIGNAL);
    if (n <= 0) return false;
    data.remove_prefix(static_cast<std::size_t>(n));
  }
  return true;
}

// Reads until `buffer` holds at least `size` bytes; false on EOF or error.
bool FillTo(int fd, std::string& buffer, std::size_t size) {
  char chunk[65536];
  while (buffer.size() < size) {
    ssize_t n = ::recv(fd, chunk, sizeof(chunk), 0);
    if (n <= 0) return false;
    buffer.append(chunk, static_cast<std::size_t>(n));
  }
  return true;
}

bool ReadHead(int fd, std::string& buffer, FakeRequest& request) {
  std::size_t end;
  while ((end = buffer.find("\r\n\r\n")) == std::string::npos) {
    if (!FillTo(fd, buffer, buffer.size() + 1)) return false;
  }
  std::string head = buffer.substr(0, end);
  buffer.erase(0, end + 4);
  std::size_t line_end = head.find("\r\n");
  std::string line = head.substr(0, line_end);
  std::size_t sp1 = line.find(' '), sp2 = line.rfind(' ');
  request.method = line.substr(0, sp1);
  request.target = line.substr(sp1 + 1, sp2 - sp1 - 1);
  std::size_t q = request.target.find('?');
  request.path = request.target.substr(0, q);
  request.query = q == std::string::npos ? "" : request.target.substr(q + 1);
  for (std::size_t pos = line_end; pos != std::string::npos && pos < head.size();) {
    std::size_t next = head.find("\r\n", pos + 2);
    std::string header = head.substr(pos + 2, next == std::string::npos ? next : next - pos - 2);
    std::size_t colon = header.find(':');
    if (colon != std::string::npos) {
      request.headers[Lower(header.substr(0, colon))] = Trim(header.substr(colon + 1));
    }
    pos = next;
  }
  return true;
}

std::string Render(const FakeRequest& request, const FakeResponse& response) {
  std::string out = "HTTP/1.1 " + std::to_string(response.status) + " Fake\r\n";
  for (const auto& [name, value] : response.headers) out += name + ": " + value + "\r\n";
  bool has_length = std::any_of(response.headers.begin(), response.headers.end(),
                                [](const auto& h) { return Lower(h.first) == "content-length"; });
  if (!has_length) out += "Content-Length: " + std::to_string(response.body.size()) + "\r\n";
  out += "\r\n";
  if (request.method != "HEAD") out += response.body;
  return out;
}

}  // namespace

FakeS3Server::FakeS3Server(Handler handler) : handler_(std::move(handler)) {
  listen_fd_ = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  socklen_t len = sizeof(addr);
  if (listen_fd_ < 0 || ::bind(listen_fd_, reinterpret_cast<sockaddr*>(&addr), len) != 0 ||
      ::listen(listen_fd_, 16) != 0 ||
      ::getsockname(listen_fd_, reinterpret_cast<sockaddr*>(&addr), &len) != 0) {
    throw std::runtime_error("FakeS3Server: cannot listen");
  }
  port_ = ntohs(addr.sin_port);
  acceptor_ = std::thread([this] { AcceptLoop(); });
}

FakeS3Server::~FakeS3Server() {
  stopping_ = true;
  ::shutdown(listen_fd_, SHUT_RDWR);
  acceptor_.join();
  ::close(listen_fd_);
  std::vector<std::thread> threads;
  {
    std::lock_guard lock(mu_);
    for (int fd : client_fds_) ::shutdown(fd, SHUT_RDWR);
    threads.swap(threads_);
  }
  for (auto& thread : threads) thread.join();
  for (int fd : client_fds_) ::close(fd);  // closed only here, so no descriptor is reused early
}

std::vector<FakeRequest> FakeS3Server::requests() const {
  std::lock_guard lock(mu_);
  return requests_;
}

std::vector<std::string> FakeS3Server::request_lines() const {
  std::vector<std::string> lines;
  for (const auto& request : requests()) lines.push_back(request.method + " " + request.target);
  return lines;
}

void FakeS3Server::AcceptLoop() {
  while (!stopping_) {
    int fd = ::accept4(listen_fd_, nullptr, nullptr, SOCK_CLOEXEC);
    if (fd < 0) return;
    std::lock_guard lock(mu_);
    if (stopping_) {
      ::close(fd);
      return;
    }
    client_fds_.push_back(fd);
    threads_.emplace_back([this, fd] { Serve(fd); });
  }
}

void FakeS3Server::Serve(int fd) {
  std::string buffer;
  for (;;) {
    FakeRequest request;
    if (!ReadHead(fd, buffer, request)) break;
    std::size_t length = 0;
    if (auto it = request.headers.find("content-length"); it != request.headers.end()) {
      length = std::stoul(it->second);
    }
    if (request.headers.count("expect") != 0 && !SendAll(fd, "HTTP/1.1 100 Continue\r\n\r\n")) {
      break;
    }
    if (!FillTo(fd, buffer, length)) break;
    request.body = buffer.substr(0, length);
    buffer.erase(0, length);
    {
      std::lock_guard lock(mu_);
      requests_.push_back(request);
    }
    if (!SendAll(fd, Render(request, handler_(request)))) break;
  }
  ::shutdown(fd, SHUT_RDWR);
}

}  // namespace intake::adapters::testing
