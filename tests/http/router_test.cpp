#include "http/router.hpp"

#include <gtest/gtest.h>

#include <boost/json/parse.hpp>
#include <stdexcept>

#include "http/errors.hpp"
#include "http/message.hpp"
#include "http/metrics.hpp"
#include "http/query.hpp"

namespace intake::http {
namespace {

Router MakeRouter() {
  Router router;
  router.Add(Route{"GET", "/items/{item_id}",
                   [](Request& r) { return DetailResponse(200, r.Param("item_id")); }, nullptr});
  router.Add(Route{"POST", "/items/{item_id}/run", [](Request&) { return DetailResponse(202, ""); },
                   nullptr});
  router.Add(Route{"DELETE", "/items/{item_id}", [](Request&) { return DetailResponse(204, ""); },
                   nullptr});
  router.Add(Route{"GET", "/boom",
                   [](Request&) -> Response { throw std::runtime_error("secret driver text"); },
                   nullptr});
  return router;
}

Request Make(std::string method, std::string_view target) {
  Request r;
  r.method = std::move(method);
  EXPECT_TRUE(SetTarget(r, target));
  return r;
}

std::string Header(const Response& r, std::string_view name) {
  for (const auto& [n, v] : r.headers) {
    if (n == name) return v;
  }
  return "";
}

TEST(Router, MatchesParamsAndReportsTheTemplateAsLabel) {
  Router router = MakeRouter();
  Request r = Make("GET", "/items/abc%20d");
  std::string label;
  Response res = router.Handle(r, &label);
  EXPECT_EQ(res.status, 200);
  EXPECT_EQ(res.body, R"({"detail":"abc d"})");
  EXPECT_EQ(label, "/items/{item_id}");
}

TEST(Router, UnknownPathIs404NotFound) {
  Router router = MakeRouter();
  for (std::string_view target : {"/nope", "/items", "/items/a/b", "/items//run", "/items/"}) {
    Request r = Make("GET", target);
    std::string label;
    Response res = router.Handle(r, &label);
    EXPECT_EQ(res.status, 404) << target;
    EXPECT_EQ(res.body, R"({"detail":"Not Found"})");
    EXPECT_EQ(label, kUnmatchedLabel);
  }
}

TEST(Router, KnownPathWrongMethodIs405WithAllow) {
  Router router = MakeRouter();
  Request r = Make("PUT", "/items/1");
  Response res = router.Handle(r);
  EXPECT_EQ(res.status, 405);
  EXPECT_EQ(res.body, R"({"detail":"Method Not Allowed"})");
  EXPECT_EQ(Header(res, "Allow"), "GET, DELETE");
}

TEST(Router, HandlerExceptionIs500WithoutItsText) {
  Router router = MakeRouter();
  Request r = Make("GET", "/boom");
  Response res = router.Handle(r);
  EXPECT_EQ(res.status, 500);
  EXPECT_EQ(res.body, R"({"detail":"Internal Server Error"})");
}

TEST(Request, HeadersAreCaseInsensitiveAndQueryIsDecoded) {
  Request r = Make("GET", "/p?a=1&name=Zo%C3%AB+X&a=2");
  r.headers.emplace("Content-TYPE", "text/csv");
  EXPECT_EQ(r.Header("content-type").value_or(""), "text/csv");
  EXPECT_EQ(r.Query("a").value_or(""), "2");
  EXPECT_EQ(r.Query("name").value_or(""), "Zo\xC3\xAB X");
  EXPECT_FALSE(r.Query("missing"));
}

TEST(MediaType, StripsParametersAndCase) {
  EXPECT_EQ(MediaType("Application/JSON; charset=utf-8"), "application/json");
  EXPECT_EQ(MediaType(" text/csv "), "text/csv");
  EXPECT_EQ(MediaType(""), "");
}

TEST(ErrorResponse, MapsEveryCode) {
  EXPECT_EQ(ErrorResponse(InvalidArgument("bad")).status, 422);
  EXPECT_EQ(ErrorResponse(NotFound("gone")).body, R"({"detail":"gone"})");
  EXPECT_EQ(ErrorResponse(Conflict("busy")).status, 409);
  Response unavailable = ErrorResponse(Unavailable("pq: connection refused at 10.0.0.1"));
  EXPECT_EQ(unavailable.status, 503);
  EXPECT_EQ(Header(unavailable, "Retry-After"), "5");
  EXPECT_EQ(unavailable.body.find("10.0.0.1"), std::string::npos);
  Response internal = ErrorResponse(Internal("sqlite: disk image is malformed"));
  EXPECT_EQ(internal.status, 500);
  EXPECT_EQ(internal.body, R"({"detail":"Internal Server Error"})");
}

TEST(ParseInt64, StrictDecimal) {
  std::int64_t v = 0;
  EXPECT_EQ(ParseInt64("42", v), IntParse::kOk);
  EXPECT_EQ(v, 42);
  EXPECT_EQ(ParseInt64("-7", v), IntParse::kOk);
  EXPECT_EQ(v, -7);
  EXPECT_EQ(ParseInt64("+7", v), IntParse::kOk);
  EXPECT_EQ(v, 7);
  for (std::string_view bad : {"", "-", "+", "1.5", "1e3", " 1", "abc", "0x10", "1 "}) {
    EXPECT_EQ(ParseInt64(bad, v), IntParse::kNotInteger) << bad;
  }
  EXPECT_EQ(ParseInt64("99999999999999999999", v), IntParse::kOutOfRange);
  EXPECT_EQ(ParseInt64("-99999999999999999999", v), IntParse::kOutOfRange);
}

TEST(HttpMetrics, RendersCounterAndCumulativeHistogram) {
  HttpMetrics m;
  m.Record("/tasks/{task_id}", "GET", 200, 0.003);
  m.Record("/tasks/{task_id}", "GET", 200, 0.2);
  m.Record("/tasks/{task_id}", "BREW", 404, 20);
  std::string text = m.Render();
  EXPECT_NE(
      text.find(
          R"(intake_http_requests_total{route="/tasks/{task_id}",method="GET",status="200"} 2)"),
      std::string::npos)
      << text;
  EXPECT_NE(text.find(R"(method="OTHER",status="404"} 1)"), std::string::npos);
  EXPECT_NE(
      text.find(
          R"(intake_http_request_duration_seconds_bucket{route="/tasks/{task_id}",le="0.005"} 1)"),
      std::string::npos)
      << text;
  EXPECT_NE(text.find(R"(le="0.25"} 2)"), std::string::npos);
  EXPECT_NE(text.find(R"(le="+Inf"} 3)"), std::string::npos);
  EXPECT_NE(text.find(R"(intake_http_request_duration_seconds_count{route="/tasks/{task_id}"} 3)"),
            std::string::npos);
}

TEST(HttpMetrics, EscapesLabelValues) { EXPECT_EQ(EscapeLabel("a\"b\\c\nd"), "a\\\"b\\\\c\\nd"); }

}  // namespace
}  // namespace intake::http
