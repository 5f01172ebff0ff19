// One table of routes: (method, path pattern with {params}, handler). The pattern doubles as the
// route label for metrics and logs ("/tasks/{task_id}"), so a label never holds ids or PHI.
// Unknown path → 404 {"detail": "Not Found"}; known path, other method → 405 with an Allow header.
// Add routes before serving; afterwards the router is read-only and thread-safe.
#pragma once

#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "http/message.hpp"

namespace intake::http {

// Consumes a streamed request body (CSV / NDJSON uploads) chunk by chunk. The server calls Begin,
// then Feed for each chunk in order, then Finish — each on the blocking pool, one at a time. When
// Begin or Feed returns a response, the request is answered with it and the rest of the body is
// discarded (no further calls). Destroying a sink before Finish abandons the upload.
class BodySink {
 public:
  virtual ~BodySink() = default;
  virtual std::optional<Response> Begin() = 0;
  virtual std::optional<Response> Feed(std::string_view bytes) = 0;
  virtual Response Finish() = 0;
  // Called instead of Finish when the body could not be read completely (client went away,
  // timeout). Cleans up; no response is sent.
  virtual void Abort() = 0;
};

// Answers a request whose body has been read completely.
using Handler = std::function<Response(Request&)>;
// Looks at the request head and returns a sink when its body is to be streamed, or nullptr when the
// body should be buffered and passed to the route's Handler. Cheap: runs on an I/O thread.
using SinkFactory = std::function<std::unique_ptr<BodySink>(const Request& head)>;

struct Route {
  std::string method;   // "GET"
  std::string pattern;  // "/tasks/{task_id}/replay": literal segments and {name} segments
  Handler handler;
  SinkFactory sink;  // optional
};

inline constexpr std::string_view kUnmatchedLabel = "unmatched";

class Router {
 public:
  void Add(Route route);

  struct Match {
    const Route* route = nullptr;  // null → `error` holds the 404/405 answer
    std::map<std::string, std::string> params;
    std::string label;  // route pattern, or kUnmatchedLabel
    std::optional<Response> error;
  };
  Match Find(std::string_view method, std::string_view path) const;

  // Finds the route, fills request.params and runs the handler; 404/405 otherwise. An exception
  // from a handler is logged and answered with 500. `label` (optional) receives Match::label.
  Response Handle(Request& request, std::string* label = nullptr) const;

  // Every route in the order added (the OpenAPI coverage test lists them).
  const std::vector<Route>& routes() const { return routes_; }

 private:
  std::vector<Route> routes_;
};

// Runs `handler`, turning an escaped exception into a logged 500.
Response GuardedCall(const std::function<Response()>& handler, std::string_view label);

}  // namespace intake::http
