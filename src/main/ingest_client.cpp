#include "main/ingest_client.hpp"

#include <boost/asio/connect.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/write.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <boost/url/parse.hpp>
#include <fstream>
#include <optional>
#include <vector>

#include "main/config.hpp"

namespace intake::main_ {
namespace {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace bhttp = boost::beast::http;
using tcp = asio::ip::tcp;

constexpr std::size_t kChunkBytes = 256 * 1024;
constexpr std::string_view kUserAgent = "intake-cli";

class Connection {
 public:
  Connection(std::string_view base_url, std::chrono::seconds timeout)
      : base_url_(base_url), stream_(io_), timeout_(timeout) {}

  Status Open(const std::string& host, const std::string& port) {
    beast::error_code ec;
    tcp::resolver resolver(io_);
    const auto endpoints = resolver.resolve(host, port, ec);
    if (ec) return Unavailable("cannot resolve " + host + ": " + ec.message());
    stream_.expires_after(timeout_);
    stream_.connect(endpoints, ec);
    if (ec) return Unavailable("cannot connect to " + base_url_ + ": " + ec.message());
    return {};
  }

  template <class Body>
  Status WriteHeader(bhttp::request<Body>& req) {
    bhttp::request_serializer<Body> sr(req);
    beast::error_code ec;
    stream_.expires_after(timeout_);
    bhttp::write_header(stream_, sr, ec);
    return Check(ec, "sending to");
  }

  Status WriteRaw(const char* data, std::size_t size) {
    beast::error_code ec;
    stream_.expires_after(timeout_);
    asio::write(stream_, asio::buffer(data, size), ec);
    return Check(ec, "sending to");
  }

  Status Write(bhttp::request<bhttp::empty_body>& req) {
    beast::error_code ec;
    stream_.expires_after(timeout_);
    bhttp::write(stream_, req, ec);
    return Check(ec, "sending to");
  }

  Result<HttpReply> Read() {
    beast::flat_buffer buffer;
    bhttp::response_parser<bhttp::string_body> parser;
    parser.body_limit(64 * 1024 * 1024);
    beast::error_code ec;
    stream_.expires_after(timeout_);
    bhttp::read(stream_, buffer, parser, ec);
    if (auto s = Check(ec, "reading from"); !s) return s.error();
    stream_.socket().shutdown(tcp::socket::shutdown_both, ec);
    return HttpReply{static_cast<int>(parser.get().result_int()), parser.get().body()};
  }

 private:
  Status Check(const beast::error_code& ec, std::string_view what) const {
    if (!ec) return {};
    return Unavailable("error " + std::string(what) + " " + base_url_ + ": " + ec.message());
  }

  std::string base_url_;
  asio::io_context io_;
  beast::tcp_stream stream_;
  std::chrono::seconds timeout_;
};

std::string ClientHost(std::string host) {
  // A server listening on every address is reached through loopback.
  if (host == "0.0.0.0") return "127.0.0.1";
  if (host == "::" || host == "[::]") return "::1";
  return host;
}

}  // namespace

Result<IngestClient> IngestClient::Create(std::string_view base_url) {
  const auto url = boost::urls::parse_absolute_uri(base_url);
  if (!url || url->scheme() != "http" || !url->has_authority() || url->host().empty()) {
    return InvalidArgument("--url: expected http://host:port");
  }
  std::string host = url->host_address();
  if (url->host_type() == boost::urls::host_type::ipv6) host = url->encoded_host_address();
  std::string port = url->has_port() ? std::string(url->port()) : "80";
  std::string prefix = std::string(url->encoded_path());
  while (!prefix.empty() && prefix.back() == '/') prefix.pop_back();
  return IngestClient(MaskUrl(base_url), ClientHost(std::move(host)), std::move(port),
                      std::move(prefix));
}

Result<HttpReply> IngestClient::PostFile(std::string_view path, const std::filesystem::path& file,
                                         std::string_view content_type) {
  std::error_code fs_ec;
  const auto size = std::filesystem::file_size(file, fs_ec);
  if (fs_ec) return InvalidArgument(file.string() + ": " + fs_ec.message());
  std::ifstream in(file, std::ios::binary);
  if (!in) return InvalidArgument(file.string() + ": cannot open");

  Connection conn(base_url_, timeout_);
  if (auto s = conn.Open(host_, port_); !s) return s.error();
  bhttp::request<bhttp::empty_body> req(bhttp::verb::post, prefix_ + std::string(path), 11);
  req.set(bhttp::field::host, host_);
  req.set(bhttp::field::user_agent, kUserAgent);
  req.set(bhttp::field::content_type, content_type);
  req.set(bhttp::field::accept, "application/json");
  req.content_length(size);
  if (auto s = conn.WriteHeader(req); !s) return s.error();

  std::vector<char> chunk(kChunkBytes);
  std::optional<Error> write_error;
  while (in) {
    in.read(chunk.data(), static_cast<std::streamsize>(chunk.size()));
    const auto got = static_cast<std::size_t>(in.gcount());
    if (got == 0) break;
    if (auto s = conn.WriteRaw(chunk.data(), got); !s) {
      // The server may answer early (413, 422) and close: its answer explains more than EPIPE.
      write_error = s.error();
      break;
    }
  }
  if (!write_error && in.bad()) return InvalidArgument(file.string() + ": read error");
  auto reply = conn.Read();
  if (!reply && write_error) return *write_error;
  return reply;
}

Result<HttpReply> IngestClient::Get(std::string_view path) {
  Connection conn(base_url_, timeout_);
  if (auto s = conn.Open(host_, port_); !s) return s.error();
  bhttp::request<bhttp::empty_body> req(bhttp::verb::get, prefix_ + std::string(path), 11);
  req.set(bhttp::field::host, host_);
  req.set(bhttp::field::user_agent, kUserAgent);
  req.set(bhttp::field::accept, "application/json");
  if (auto s = conn.Write(req); !s) return s.error();
  return conn.Read();
}

}  // namespace intake::main_
