// Static files served by Intake (the API documentation pages and their npm bundles, the
// dashboard), embedded into the binary at build time by cmake/EmbedAssets.cmake: the pages work
// offline and no file is read at run time.
#pragma once

#include <optional>
#include <string_view>

namespace intake::http {

// The bytes of the asset served under `name` ("swagger-ui/swagger-ui-bundle.js"), or nullopt.
// Thread-safe (read-only data).
std::optional<std::string_view> FindAssetBytes(std::string_view name);

}  // namespace intake::http
