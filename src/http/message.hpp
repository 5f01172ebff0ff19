// Beast-independent HTTP messages: what the router and the handlers see. The server (server.cpp)
// converts to and from Boost.Beast; tests build these directly.
#pragma once

#include <boost/json/value.hpp>
#include <cstddef>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace intake::http {

// ASCII case-insensitive ordering, for header names.
struct CaseInsensitiveLess {
  using is_transparent = void;
  bool operator()(std::string_view a, std::string_view b) const;
};

// Header fields by name, case-insensitive. A repeated field keeps its first value.
using Headers = std::map<std::string, std::string, CaseInsensitiveLess>;

struct Request {
  std::string method;                        // "GET", "POST", ...
  std::string path;                          // percent-decoded path, no query
  std::map<std::string, std::string> query;  // decoded; a repeated name keeps its last value
  Headers headers;
  std::string body;                           // empty for streamed uploads
  std::map<std::string, std::string> params;  // path parameters, filled by the router

  // The header's value, or nullopt.
  std::optional<std::string_view> Header(std::string_view name) const;
  // The query parameter's value, or nullopt.
  std::optional<std::string_view> Query(std::string_view name) const;
  // The path parameter's value; REQUIRES: the route pattern names it.
  const std::string& Param(const std::string& name) const;
};

inline constexpr std::string_view kJsonType = "application/json";

struct Response {
  int status = 200;
  std::string content_type{kJsonType};
  std::vector<std::pair<std::string, std::string>> headers;  // besides Content-Type/Length
  std::string body;
  bool close = false;  // the server closes the connection after sending it
};

// A JSON response; `value` is serialized with Boost.JSON (valid UTF-8 escaping).
Response JsonResponse(int status, const boost::json::value& value);
// {"detail": "<detail>"}.
Response DetailResponse(int status, std::string_view detail);

// Fills request.path and request.query from an origin-form target ("/patients?page=2&mrn=a%20b";
// "+" in the query is a space). False when the target is not origin-form.
bool SetTarget(Request& request, std::string_view target);

// The media type of a Content-Type value, lower-cased, without parameters ("" when absent).
std::string MediaType(std::string_view content_type);

}  // namespace intake::http
