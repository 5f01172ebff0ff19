// GET /openapi.json, /docs, /redoc, /dashboard and their /assets/...: files embedded at build time
// (http/assets.hpp). Thread-safe.
#pragma once

#include <string_view>

#include "http/message.hpp"

namespace intake::http {

// The Content-Type for a file name by its extension (html, js, css, json, png, svg, map; else
// application/octet-stream).
std::string_view AssetContentType(std::string_view name);

// 200 with the embedded asset `name` (cacheable for an hour), or 404 {"detail": "Not Found"}.
Response AssetResponse(std::string_view name);

}  // namespace intake::http
