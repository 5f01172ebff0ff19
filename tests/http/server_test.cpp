// End to end: HttpServer on an ephemeral port over the fakes, real HTTP over a socket.
#include "http/server.hpp"

#include <gtest/gtest.h>

#include <atomic>
#include <boost/asio/connect.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/write.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/http/parser.hpp>
#include <boost/beast/http/read.hpp>
#include <boost/beast/http/string_body.hpp>
#include <boost/beast/http/write.hpp>
#include <boost/json/parse.hpp>
#include <chrono>
#include <cstdio>
#include <string>
#include <thread>
#include <vector>

#include "http/api_fixture.hpp"
#include "http/errors.hpp"

namespace intake::http::testing {
namespace {

namespace asio = boost::asio;
namespace bhttp = boost::beast::http;
using tcp = asio::ip::tcp;
using HttpResponse = bhttp::response<bhttp::string_body>;

constexpr std::string_view kCsvHeader =
    "mrn,first_name,last_name,birth_date,visit_account_number,visit_date,reason\r\n";
constexpr std::string_view kCsvRow = "M1,John,Doe,1990-01-01,V1,2024-01-01,\"a, b\"\r\n";

// A blocking HTTP/1.1 client on one keep-alive connection.
class Client {
 public:
  explicit Client(std::uint16_t port) : socket_(ioc_) {
    socket_.connect(tcp::endpoint(asio::ip::make_address("127.0.0.1"), port));
  }

  HttpResponse Send(bhttp::verb verb, std::string target, std::string body = "",
                    std::string content_type = "") {
    bhttp::request<bhttp::string_body> req{verb, target, 11};
    req.set(bhttp::field::host, "localhost");
    if (!content_type.empty()) req.set(bhttp::field::content_type, content_type);
    req.body() = std::move(body);
    req.prepare_payload();
    bhttp::write(socket_, req);
    return Read();
  }

  // Writes raw bytes (e.g. a hand-made chunked request).
  void Write(std::string_view bytes) { asio::write(socket_, asio::buffer(bytes)); }

  HttpResponse Read() {
    HttpResponse res;
    bhttp::read(socket_, buffer_, res);
    return res;
  }

  void ReadInto(bhttp::response_parser<bhttp::string_body>& parser) {
    bhttp::read(socket_, buffer_, parser);
  }

  // True when the server closed the connection.
  bool Closed() {
    boost::system::error_code ec;
    char byte;
    socket_.read_some(asio::buffer(&byte, 1), ec);
    return ec == asio::error::eof || ec == asio::error::connection_reset;
  }

 private:
  asio::io_context ioc_;
  tcp::socket socket_;
  boost::beast::flat_buffer buffer_;
};

std::string Chunked(std::string_view head, std::initializer_list<std::string_view> chunks) {
  std::string out(head);
  for (std::string_view c : chunks) {
    char size[32];
    std::snprintf(size, sizeof(size), "%zx\r\n", c.size());
    out += size;
    out += c;
    out += "\r\n";
  }
  return out + "0\r\n\r\n";
}

class ServerTest : public ApiTest {
 protected:
  void SetUp() override {
    ServerOptions options;
    options.port = 0;
    options.io_threads = 2;
    options.blocking_threads = 2;
    options.max_body_bytes = 4096;
    options.max_upload_bytes = 8192;
    options.max_records_per_request = 5;
    options.request_timeout = std::chrono::seconds(10);
    server_ = std::make_unique<HttpServer>(
        options, ApiServices{ingest_, patients_, task_query_, readiness_, gate_, metrics_, clock_});
    auto port = server_->Start();
    ASSERT_TRUE(port);
    port_ = *port;
    ASSERT_NE(port_, 0);
  }

  std::unique_ptr<HttpServer> server_;
  std::uint16_t port_ = 0;
};

TEST_F(ServerTest, ServesSeveralRequestsOnOneConnection) {
  Client client(port_);
  HttpResponse health = client.Send(bhttp::verb::get, "/health");
  EXPECT_EQ(health.result_int(), 200);
  EXPECT_EQ(health.body(), R"({"status":"healthy"})");
  EXPECT_EQ(health[bhttp::field::content_type], "application/json");
  HttpResponse missing = client.Send(bhttp::verb::get, "/nope?mrn=secret");
  EXPECT_EQ(missing.result_int(), 404);
  HttpResponse wrong = client.Send(bhttp::verb::put, "/health");
  EXPECT_EQ(wrong.result_int(), 405);
  EXPECT_EQ(wrong[bhttp::field::allow], "GET");
  HttpResponse ingest =
      client.Send(bhttp::verb::post, "/ingest", "[" + RecordJson() + "]", "application/json");
  EXPECT_EQ(ingest.result_int(), 200) << ingest.body();
  EXPECT_EQ(queue_.Pending().size(), 1u);
}

TEST_F(ServerTest, ChunkedCsvUploadIsStreamed) {
  Client client(port_);
  client.Write(
      Chunked("POST /ingest HTTP/1.1\r\nHost: x\r\nContent-Type: text/csv\r\n"
              "Transfer-Encoding: chunked\r\n\r\n",
              {kCsvHeader.substr(0, 7), kCsvHeader.substr(7), kCsvRow, kCsvRow.substr(0, 3),
               std::string_view("\r\n")}));
  HttpResponse res = client.Read();
  ASSERT_EQ(res.result_int(), 200) << res.body();
  boost::json::value body = boost::json::parse(res.body());
  EXPECT_EQ(body.at("records_received"), 2);
  EXPECT_TRUE(objects_.Contains(std::string(body.at("csv_filename").as_string())));
  // The connection stays usable.
  EXPECT_EQ(client.Send(bhttp::verb::get, "/").result_int(), 200);
}

TEST_F(ServerTest, StructuralUploadErrorIs422AndConnectionSurvives) {
  Client client(port_);
  HttpResponse res = client.Send(bhttp::verb::post, "/ingest", "a,b\n1,2\n", "text/csv");
  EXPECT_EQ(res.result_int(), 422) << res.body();
  EXPECT_EQ(client.Send(bhttp::verb::get, "/health").result_int(), 200);
}

TEST_F(ServerTest, ChunkedUploadOverLimitIs413) {
  Client client(port_);
  std::string big(3000, 'x');
  client.Write(
      Chunked("POST /ingest HTTP/1.1\r\nHost: x\r\nContent-Type: text/csv\r\n"
              "Transfer-Encoding: chunked\r\n\r\n",
              {kCsvHeader, big, big, big, big}));
  HttpResponse res = client.Read();
  EXPECT_EQ(res.result_int(), 413) << res.body();
  EXPECT_TRUE(objects_.Keys().empty());
}

TEST_F(ServerTest, AnnouncedJsonBodyOverLimitIs413AndCloses) {
  Client client(port_);
  client.Write(
      "POST /ingest HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
      "Content-Length: 100000\r\n\r\n[");
  HttpResponse res = client.Read();
  EXPECT_EQ(res.result_int(), 413);
  EXPECT_FALSE(res.keep_alive());
}

TEST_F(ServerTest, ChunkedJsonBodyOverLimitIs413) {
  Client client(port_);
  std::string padding(3000, ' ');
  client.Write(
      Chunked("POST /ingest HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
              "Transfer-Encoding: chunked\r\n\r\n",
              {"[", padding, padding, RecordJson(), "]"}));
  HttpResponse res = client.Read();
  EXPECT_EQ(res.result_int(), 413) << res.body();
  EXPECT_TRUE(queue_.Pending().empty());
}

TEST_F(ServerTest, CsvWithAnnouncedLengthOverLimitIs413) {
  Client client(port_);
  client.Write(
      "POST /ingest HTTP/1.1\r\nHost: x\r\nContent-Type: text/csv\r\n"
      "Content-Length: 1000000\r\n\r\nmrn,");
  HttpResponse res = client.Read();
  EXPECT_EQ(res.result_int(), 413);
  EXPECT_FALSE(res.keep_alive());
}

TEST_F(ServerTest, HeadGetsHeadersOnly) {
  Client client(port_);
  client.Write("HEAD /health HTTP/1.1\r\nHost: x\r\n\r\n");
  bhttp::response_parser<bhttp::string_body> parser;
  parser.skip(true);
  client.ReadInto(parser);
  EXPECT_EQ(parser.get().result_int(), 405);
  EXPECT_TRUE(parser.get().body().empty());
  EXPECT_EQ(client.Send(bhttp::verb::get, "/health").result_int(), 200);
}

TEST_F(ServerTest, UnsupportedTypeIs415) {
  Client client(port_);
  HttpResponse res = client.Send(bhttp::verb::post, "/ingest", "<a/>", "application/xml");
  EXPECT_EQ(res.result_int(), 415);
}

TEST_F(ServerTest, MalformedRequestIs400) {
  Client client(port_);
  client.Write("NOT A REQUEST\r\n\r\n");
  HttpResponse res = client.Read();
  EXPECT_EQ(res.result_int(), 400);
}

TEST_F(ServerTest, MetricsCountRequestsByRouteTemplate) {
  Client client(port_);
  client.Send(bhttp::verb::get, "/tasks/abc");
  client.Send(bhttp::verb::get, "/patients/12");
  HttpResponse res = client.Send(bhttp::verb::get, "/metrics");
  ASSERT_EQ(res.result_int(), 200);
  EXPECT_NE(
      res.body().find(
          R"(intake_http_requests_total{route="/tasks/{task_id}",method="GET",status="404"} 1)"),
      std::string::npos)
      << res.body();
  EXPECT_NE(res.body().find(R"(route="/patients/{id}",method="GET",status="404"} 1)"),
            std::string::npos);
  EXPECT_EQ(res.body().find("abc"), std::string::npos);
}

TEST_F(ServerTest, ConcurrentClientsAreAllServed) {
  std::vector<std::thread> threads;
  std::atomic<int> ok{0};
  for (int t = 0; t < 6; ++t) {
    threads.emplace_back([&] {
      Client client(port_);
      for (int i = 0; i < 20; ++i) {
        if (client.Send(bhttp::verb::get, "/patients?page_size=5").result_int() == 200) ++ok;
      }
    });
  }
  for (std::thread& t : threads) t.join();
  EXPECT_EQ(ok.load(), 120);
}

TEST_F(ServerTest, IncompleteRequestTimesOut) {
  ServerOptions options;
  options.port = 0;
  options.request_timeout = std::chrono::seconds(1);
  HttpServer quick(
      options, ApiServices{ingest_, patients_, task_query_, readiness_, gate_, metrics_, clock_});
  auto port = quick.Start();
  ASSERT_TRUE(port);
  Client client(*port);
  client.Write("GET /health HTTP/1.1\r\nHost:");
  auto start = std::chrono::steady_clock::now();
  EXPECT_TRUE(client.Closed());
  EXPECT_LT(std::chrono::steady_clock::now() - start, std::chrono::seconds(5));
}

TEST_F(ServerTest, StopIsIdempotentAndRefusesNewConnections) {
  server_->Stop();
  server_->Stop();
  asio::io_context ioc;
  tcp::socket socket(ioc);
  boost::system::error_code ec;
  socket.connect(tcp::endpoint(asio::ip::make_address("127.0.0.1"), port_), ec);
  EXPECT_TRUE(ec);
}

TEST_F(ServerTest, StopClosesIdleKeepAliveConnections) {
  Client client(port_);
  EXPECT_EQ(client.Send(bhttp::verb::get, "/health").result_int(), 200);
  server_->Stop();
  EXPECT_TRUE(client.Closed());
}

TEST_F(ServerTest, BusyPortIsUnavailable) {
  ServerOptions options;
  options.port = port_;
  HttpServer second(
      options, ApiServices{ingest_, patients_, task_query_, readiness_, gate_, metrics_, clock_});
  auto port = second.Start();
  ASSERT_FALSE(port);
  EXPECT_EQ(port.error().code, ErrorCode::kUnavailable);
}

}  // namespace
}  // namespace intake::http::testing
