// The only translation unit that includes Boost.Beast/Asio. One coroutine per connection reads a
// request head, routes it, reads (or streams) the body, runs the handler on the blocking pool and
// writes the response; one request at a time per connection.
#include "http/server.hpp"

#include <spdlog/spdlog.h>

#include <atomic>
#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/strand.hpp>
#include <boost/asio/thread_pool.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/core/tcp_stream.hpp>
#include <boost/beast/http/buffer_body.hpp>
#include <boost/beast/http/empty_body.hpp>
#include <boost/beast/http/parser.hpp>
#include <boost/beast/http/read.hpp>
#include <boost/beast/http/string_body.hpp>
#include <boost/beast/http/write.hpp>
#include <condition_variable>
#include <mutex>
#include <optional>
#include <thread>
#include <vector>

#include "http/api.hpp"
#include "http/errors.hpp"
#include "http/handlers/ingest_handler.hpp"

namespace intake::http {
namespace {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace bhttp = beast::http;
using tcp = asio::ip::tcp;
using Clock = std::chrono::steady_clock;
constexpr auto kUseTuple = asio::as_tuple(asio::use_awaitable);

constexpr std::size_t kHeaderLimit = 16 * 1024;
constexpr std::size_t kChunkBytes = 256 * 1024;
// After an early answer to an unread body: read and discard for a while so the client sees the
// answer instead of a connection reset.
constexpr std::size_t kMaxLingerBytes = 64 * 1024 * 1024;
constexpr std::chrono::seconds kLingerTime{2};
constexpr std::chrono::milliseconds kAcceptBackoff{100};

using Parser = bhttp::request_parser<bhttp::buffer_body>;

// Runs `f` on `pool` and resumes the caller on its own executor. Exceptions become a logged 500.
template <class F>
asio::awaitable<std::invoke_result_t<F&>> OnPool(asio::thread_pool& pool, F f,
                                                 std::string_view label) {
  using R = std::invoke_result_t<F&>;
  auto guarded = [f = std::move(f), label]() mutable -> asio::awaitable<R> {
    try {
      co_return f();
    } catch (const std::exception& e) {
      spdlog::error("handler for {} threw: {}", label, e.what());
    } catch (...) {
      spdlog::error("handler for {} threw a non-standard exception", label);
    }
    co_return R(InternalErrorResponse());
  };
  co_return co_await asio::co_spawn(pool.get_executor(), std::move(guarded), asio::use_awaitable);
}

// Builds the Beast-free head of the request; nullopt when the target is not origin-form.
std::optional<Request> MakeHead(const bhttp::request<bhttp::buffer_body>& msg) {
  Request req;
  if (!SetTarget(req, msg.target())) return std::nullopt;
  req.method = std::string(msg.method_string());
  for (const auto& field : msg) req.headers.emplace(field.name_string(), field.value());
  return req;
}

// `head_only`: the answer to a HEAD request keeps its Content-Length but sends no body.
bhttp::response<bhttp::string_body> ToBeast(Response&& r, unsigned version, bool keep_alive,
                                            bool head_only = false) {
  bhttp::response<bhttp::string_body> res{static_cast<bhttp::status>(r.status), version};
  res.set(bhttp::field::content_type, r.content_type);
  for (auto& [name, value] : r.headers) res.set(name, value);
  res.keep_alive(keep_alive);
  if (head_only) {
    res.content_length(r.body.size());
  } else {
    res.body() = std::move(r.body);
    res.prepare_payload();
  }
  return res;
}

// Reads the next piece of the body into `chunk`; returns the byte count (0 at the end).
asio::awaitable<std::pair<beast::error_code, std::size_t>> ReadChunk(beast::tcp_stream& stream,
                                                                     beast::flat_buffer& buffer,
                                                                     Parser& parser,
                                                                     std::vector<char>& chunk,
                                                                     std::chrono::seconds timeout) {
  parser.get().body().data = chunk.data();
  parser.get().body().size = chunk.size();
  stream.expires_after(timeout);
  auto [ec, n] = co_await bhttp::async_read(stream, buffer, parser, kUseTuple);
  if (ec == bhttp::error::need_buffer) ec = {};
  co_return std::pair{ec, chunk.size() - parser.get().body().size};
}

}  // namespace

struct HttpServer::Impl {
  Impl(ServerOptions o, ApiServices services)
      : options(std::move(o)),
        api(services, IngestLimits{options.max_body_bytes, options.max_upload_bytes,
                                   options.max_records_per_request}),
        pool(static_cast<std::size_t>(std::max(1, options.blocking_threads))) {}

  // What a request produced: the answer (nullopt when the connection broke) and its route label.
  struct Exchange {
    std::optional<Response> response;
    std::string label{kUnmatchedLabel};
    bool body_unread = false;  // the answer came before the whole body was read
  };

  asio::awaitable<void> Listen();
  asio::awaitable<void> Serve(tcp::socket socket);
  asio::awaitable<void> AnswerMalformed(beast::tcp_stream& stream, beast::error_code ec);
  asio::awaitable<bool> ServeOne(beast::tcp_stream& stream, beast::flat_buffer& buffer);
  asio::awaitable<Exchange> Handle(beast::tcp_stream& stream, beast::flat_buffer& buffer,
                                   Parser& parser, Request& req);
  asio::awaitable<std::optional<Response>> ReadBuffered(beast::tcp_stream& stream,
                                                        beast::flat_buffer& buffer, Parser& parser,
                                                        std::string& body);
  asio::awaitable<Exchange> Stream(beast::tcp_stream& stream, beast::flat_buffer& buffer,
                                   Parser& parser, BodySink& sink, std::string label);
  asio::awaitable<void> SendContinue(beast::tcp_stream& stream, const Parser& parser);
  static asio::awaitable<void> Close(beast::tcp_stream& stream, bool linger);

  void EnterRequest() {
    std::lock_guard lock(active_mu);
    ++active;
  }
  void LeaveRequest() {
    std::lock_guard lock(active_mu);
    if (--active == 0) active_cv.notify_all();
  }

  ServerOptions options;
  Api api;
  asio::thread_pool pool;
  std::optional<asio::io_context> ioc;
  std::optional<asio::executor_work_guard<asio::io_context::executor_type>> work;
  std::optional<tcp::acceptor> acceptor;
  std::vector<std::thread> threads;
  std::atomic<bool> stopping{false};
  std::mutex lifecycle_mu;
  bool started = false;
  bool stopped = false;
  std::mutex active_mu;
  std::condition_variable active_cv;
  int active = 0;
};

asio::awaitable<void> HttpServer::Impl::Listen() {
  while (!stopping) {
    auto [ec, socket] = co_await acceptor->async_accept(asio::make_strand(*ioc), kUseTuple);
    if (ec == asio::error::operation_aborted || stopping) co_return;
    if (ec) {  // e.g. out of file descriptors: back off instead of spinning
      spdlog::warn("accept failed: {}", ec.message());
      asio::steady_timer pause(*ioc, kAcceptBackoff);
      co_await pause.async_wait(kUseTuple);
      continue;
    }
    auto executor = socket.get_executor();
    asio::co_spawn(executor, Serve(std::move(socket)), asio::detached);
  }
}

asio::awaitable<void> HttpServer::Impl::Serve(tcp::socket socket) {
  beast::tcp_stream stream(std::move(socket));
  beast::flat_buffer buffer;
  bool linger = false;
  try {
    bool keep_going = true;
    while (keep_going && !stopping) keep_going = co_await ServeOne(stream, buffer);
    linger = !keep_going;
  } catch (const std::exception& e) {
    spdlog::error("connection failed: {}", e.what());
  }
  co_await Close(stream, linger);
}

// A head that does not parse gets one 400 (431 when too large); closed, reset or timed-out
// connections get nothing.
asio::awaitable<void> HttpServer::Impl::AnswerMalformed(beast::tcp_stream& stream,
                                                        beast::error_code ec) {
  bool malformed = ec.category() == beast::error_code(bhttp::error::bad_method).category() &&
                   ec != bhttp::error::end_of_stream && ec != bhttp::error::partial_message;
  if (!malformed) co_return;
  Response bad = ec == bhttp::error::header_limit
                     ? DetailResponse(431, "Request Header Fields Too Large")
                     : DetailResponse(400, "Bad Request");
  stream.expires_after(options.request_timeout);
  co_await bhttp::async_write(stream, ToBeast(std::move(bad), 11, false), kUseTuple);
}

// One request/response exchange; false when the connection must close.
asio::awaitable<bool> HttpServer::Impl::ServeOne(beast::tcp_stream& stream,
                                                 beast::flat_buffer& buffer) {
  Parser parser;
  parser.body_limit(boost::none);  // limits are enforced per route while reading
  parser.header_limit(kHeaderLimit);
  stream.expires_after(options.request_timeout);
  auto [ec, n] = co_await bhttp::async_read_header(stream, buffer, parser, kUseTuple);
  if (ec) {
    co_await AnswerMalformed(stream, ec);
    co_return false;
  }
  EnterRequest();
  struct Leave {
    Impl* impl;
    ~Leave() { impl->LeaveRequest(); }
  } leave{this};
  auto started_at = Clock::now();
  const auto& msg = parser.get();
  std::string method(msg.method_string());
  Exchange ex;
  std::optional<Request> req = MakeHead(msg);
  if (req) {
    ex = co_await Handle(stream, buffer, parser, *req);
  } else {
    ex.response = DetailResponse(400, "Bad Request");
    ex.body_unread = !parser.is_done();
  }
  if (!ex.response) co_return false;  // the connection broke mid-body
  int status = ex.response->status;
  bool keep_alive = msg.keep_alive() && !ex.response->close && !ex.body_unread && !stopping;
  stream.expires_after(options.request_timeout);
  auto [wec, written] = co_await bhttp::async_write(
      stream, ToBeast(std::move(*ex.response), msg.version(), keep_alive, method == "HEAD"),
      kUseTuple);
  double seconds = std::chrono::duration<double>(Clock::now() - started_at).count();
  api.metrics().Record(ex.label, method, status, seconds);
  spdlog::debug("{} {} {} {:.1f}ms", method, ex.label, status, seconds * 1000);
  co_return !wec && keep_alive;
}

asio::awaitable<HttpServer::Impl::Exchange> HttpServer::Impl::Handle(beast::tcp_stream& stream,
                                                                     beast::flat_buffer& buffer,
                                                                     Parser& parser, Request& req) {
  Router::Match match = api.router().Find(req.method, req.path);
  Exchange ex;
  ex.label = match.label;
  if (match.route != nullptr && match.route->sink) {
    if (std::unique_ptr<BodySink> sink = match.route->sink(req)) {
      co_return co_await Stream(stream, buffer, parser, *sink, match.label);
    }
  }
  if (std::optional<Response> refused = co_await ReadBuffered(stream, buffer, parser, req.body)) {
    ex.response = std::move(refused);
    ex.body_unread = !parser.is_done();
    co_return ex;
  }
  if (!parser.is_done()) co_return ex;  // the read failed: no answer
  if (match.route == nullptr) {
    ex.response = std::move(match.error);
    co_return ex;
  }
  req.params = std::move(match.params);
  const Handler& handler = match.route->handler;
  ex.response = co_await OnPool(
      pool, [&] { return handler(req); }, ex.label);
  co_return ex;
}

// Reads the whole body into `body` up to max_body_bytes. A 413 when it is larger (announced or
// actual); nullopt otherwise (check parser.is_done() to tell success from a broken connection).
asio::awaitable<std::optional<Response>> HttpServer::Impl::ReadBuffered(beast::tcp_stream& stream,
                                                                        beast::flat_buffer& buffer,
                                                                        Parser& parser,
                                                                        std::string& body) {
  std::size_t limit = options.max_body_bytes;
  auto length = parser.content_length();
  if (length && *length > limit) co_return BodyTooLargeResponse(limit);
  co_await SendContinue(stream, parser);
  std::vector<char> chunk(parser.is_done() ? 0 : kChunkBytes);
  while (!parser.is_done()) {
    auto [ec, n] = co_await ReadChunk(stream, buffer, parser, chunk, options.request_timeout);
    if (ec) co_return std::nullopt;
    if (body.size() + n > limit) co_return BodyTooLargeResponse(limit);
    body.append(chunk.data(), n);
  }
  co_return std::nullopt;
}

// Feeds the body to `sink` chunk by chunk: reads on this (I/O) thread, Feed on the blocking pool.
asio::awaitable<HttpServer::Impl::Exchange> HttpServer::Impl::Stream(beast::tcp_stream& stream,
                                                                     beast::flat_buffer& buffer,
                                                                     Parser& parser, BodySink& sink,
                                                                     std::string label) {
  Exchange ex;
  ex.label = label;
  ex.response = co_await OnPool(
      pool, [&] { return sink.Begin(); }, label);
  if (!ex.response) co_await SendContinue(stream, parser);
  std::vector<char> chunk(kChunkBytes);
  while (!ex.response && !parser.is_done()) {
    auto [ec, n] = co_await ReadChunk(stream, buffer, parser, chunk, options.request_timeout);
    if (ec) {
      co_await OnPool(
          pool,
          [&] {
            sink.Abort();
            return std::optional<Response>();
          },
          label);
      co_return Exchange{std::nullopt, label, true};
    }
    if (n == 0) continue;
    std::string_view bytes(chunk.data(), n);
    ex.response = co_await OnPool(
        pool, [&] { return sink.Feed(bytes); }, label);
  }
  if (!ex.response)
    ex.response = co_await OnPool(
        pool, [&] { return sink.Finish(); }, label);
  ex.body_unread = !parser.is_done();
  co_return ex;
}

// Answers "Expect: 100-continue" so that clients start sending the body.
asio::awaitable<void> HttpServer::Impl::SendContinue(beast::tcp_stream& stream,
                                                     const Parser& parser) {
  const auto& msg = parser.get();
  auto expect = msg.find(bhttp::field::expect);
  if (expect == msg.end() || parser.is_done()) co_return;
  if (!beast::iequals(expect->value(), "100-continue")) co_return;
  bhttp::response<bhttp::empty_body> cont{bhttp::status::continue_, msg.version()};
  stream.expires_after(options.request_timeout);
  co_await bhttp::async_write(stream, cont, kUseTuple);
}

asio::awaitable<void> HttpServer::Impl::Close(beast::tcp_stream& stream, bool linger) {
  beast::error_code ec;
  stream.socket().shutdown(tcp::socket::shutdown_send, ec);
  if (linger && !ec) {
    stream.expires_after(kLingerTime);
    std::vector<char> sink(16 * 1024);
    std::size_t discarded = 0;
    while (discarded < kMaxLingerBytes) {
      auto [rec, n] = co_await stream.async_read_some(asio::buffer(sink), kUseTuple);
      if (rec) break;
      discarded += n;
    }
  }
  stream.socket().close(ec);
}

HttpServer::HttpServer(ServerOptions options, ApiServices services)
    : impl_(std::make_unique<Impl>(std::move(options), services)) {}

HttpServer::~HttpServer() { Stop(); }

Result<std::uint16_t> HttpServer::Start() {
  std::lock_guard lock(impl_->lifecycle_mu);
  Impl& s = *impl_;
  if (s.started) return Internal("HttpServer::Start called twice");
  std::string where = s.options.host + ":" + std::to_string(s.options.port);
  s.ioc.emplace(std::max(1, s.options.io_threads));
  try {
    tcp::resolver resolver(*s.ioc);
    auto endpoints =
        resolver.resolve(s.options.host, std::to_string(s.options.port), tcp::resolver::passive);
    tcp::endpoint endpoint = endpoints.begin()->endpoint();
    s.acceptor.emplace(*s.ioc);
    s.acceptor->open(endpoint.protocol());
    s.acceptor->set_option(asio::socket_base::reuse_address(true));
    s.acceptor->bind(endpoint);
    s.acceptor->listen(asio::socket_base::max_listen_connections);
  } catch (const boost::system::system_error& e) {
    s.acceptor.reset();
    return Unavailable("cannot listen on " + where + ": " + e.code().message());
  } catch (const std::exception& e) {
    s.acceptor.reset();
    return Unavailable("cannot listen on " + where + ": " + e.what());
  }
  std::uint16_t port = s.acceptor->local_endpoint().port();
  s.started = true;
  s.work.emplace(s.ioc->get_executor());
  asio::co_spawn(*s.ioc, s.Listen(), asio::detached);
  for (int i = 0; i < std::max(1, s.options.io_threads); ++i) {
    s.threads.emplace_back([&s] { s.ioc->run(); });
  }
  spdlog::info("listening on http://{}:{}", s.options.host, port);
  return port;
}

void HttpServer::Stop() {
  std::lock_guard lock(impl_->lifecycle_mu);
  Impl& s = *impl_;
  if (!s.started || s.stopped) return;
  s.stopped = true;
  s.stopping = true;
  asio::post(*s.ioc, [&s] {
    beast::error_code ec;
    s.acceptor->close(ec);
  });
  {
    std::unique_lock active_lock(s.active_mu);
    s.active_cv.wait_for(active_lock, s.options.request_timeout, [&s] { return s.active == 0; });
  }
  s.work.reset();
  s.ioc->stop();
  for (std::thread& t : s.threads) t.join();
  s.threads.clear();
  s.pool.join();  // blocking calls still running finish; their completions go nowhere
  s.acceptor.reset();
  s.ioc.reset();  // destroys the suspended connection coroutines (closing their sockets)
}

}  // namespace intake::http
