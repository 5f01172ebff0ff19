// The `.env` file format (SPEC §2): `KEY=VALUE` lines, `#` comments, blank lines, an optional
// `export ` prefix, values optionally in single quotes (taken literally) or double quotes (where
// \n, \t, \", \\ are escapes). An unquoted value is trimmed and ends at ` #` (an inline comment).
// A later line for the same key wins.
#pragma once

#include <string_view>

#include "domain/result.hpp"
#include "main/config.hpp"

namespace intake::main_ {

// kInvalidArgument ".env line N: …" for a malformed line; the message never includes the line's
// text (it may hold a secret).
Result<EnvMap> ParseDotenv(std::string_view text);

}  // namespace intake::main_
