#include "http/handlers/asset_handlers.hpp"

#include <array>
#include <utility>

#include "http/assets.hpp"

namespace intake::http {

std::string_view AssetContentType(std::string_view name) {
  static constexpr std::array<std::pair<std::string_view, std::string_view>, 7> kTypes = {{
      {".html", "text/html; charset=utf-8"},
      {".js", "application/javascript; charset=utf-8"},
      {".css", "text/css; charset=utf-8"},
      {".json", "application/json"},
      {".png", "image/png"},
      {".svg", "image/svg+xml"},
      {".map", "application/json"},
  }};
  for (const auto& [extension, type] : kTypes) {
    if (name.size() >= extension.size() && name.substr(name.size() - extension.size()) == extension)
      return type;
  }
  return "application/octet-stream";
}

Response AssetResponse(std::string_view name) {
  auto bytes = FindAssetBytes(name);
  if (!bytes) return DetailResponse(404, "Not Found");
  Response r;
  r.content_type = std::string(AssetContentType(name));
  r.headers.emplace_back("Cache-Control", "public, max-age=3600");
  r.body = std::string(*bytes);
  return r;
}

}  // namespace intake::http
