#include "http/router.hpp"

#include <spdlog/spdlog.h>

#include <exception>

#include "http/errors.hpp"

namespace intake::http {
namespace {

std::vector<std::string_view> Segments(std::string_view path) {
  std::vector<std::string_view> out;
  if (!path.empty() && path.front() == '/') path.remove_prefix(1);
  while (true) {
    std::size_t slash = path.find('/');
    out.push_back(path.substr(0, slash));
    if (slash == std::string_view::npos) break;
    path.remove_prefix(slash + 1);
  }
  return out;
}

bool IsParam(std::string_view segment) {
  return segment.size() > 2 && segment.front() == '{' && segment.back() == '}';
}

// Matches `path` against `pattern`, collecting {params}; a parameter never matches "".
bool PathMatches(std::string_view pattern, std::string_view path,
                 std::map<std::string, std::string>& params) {
  std::vector<std::string_view> want = Segments(pattern);
  std::vector<std::string_view> got = Segments(path);
  if (want.size() != got.size()) return false;
  std::map<std::string, std::string> found;
  for (std::size_t i = 0; i < want.size(); ++i) {
    if (IsParam(want[i])) {
      if (got[i].empty()) return false;
      found.emplace(std::string(want[i].substr(1, want[i].size() - 2)), std::string(got[i]));
    } else if (want[i] != got[i]) {
      return false;
    }
  }
  params = std::move(found);
  return true;
}

}  // namespace

void Router::Add(Route route) { routes_.push_back(std::move(route)); }

Router::Match Router::Find(std::string_view method, std::string_view path) const {
  Match match;
  std::string allow;
  for (const Route& route : routes_) {
    std::map<std::string, std::string> params;
    if (!PathMatches(route.pattern, path, params)) continue;
    if (route.method == method) {
      match.route = &route;
      match.params = std::move(params);
      match.label = route.pattern;
      return match;
    }
    if (match.label.empty()) match.label = route.pattern;
    if (allow.find(route.method) == std::string::npos) {
      allow += allow.empty() ? route.method : ", " + route.method;
    }
  }
  if (allow.empty()) {
    match.label = std::string(kUnmatchedLabel);
    match.error = NotFoundResponse();
  } else {
    match.error = DetailResponse(405, "Method Not Allowed");
    match.error->headers.emplace_back("Allow", allow);
  }
  return match;
}

Response Router::Handle(Request& request, std::string* label) const {
  Match match = Find(request.method, request.path);
  if (label != nullptr) *label = match.label;
  if (match.route == nullptr) return std::move(*match.error);
  request.params = std::move(match.params);
  const Handler& handler = match.route->handler;
  return GuardedCall([&] { return handler(request); }, match.label);
}

Response GuardedCall(const std::function<Response()>& handler, std::string_view label) {
  try {
    return handler();
  } catch (const std::exception& e) {
    spdlog::error("handler for {} threw: {}", label, e.what());
  } catch (...) {
    spdlog::error("handler for {} threw a non-standard exception", label);
  }
  return InternalErrorResponse();
}

}  // namespace intake::http
