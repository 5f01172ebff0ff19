// Unicode simple case folding (no normalization), for case-insensitive substring search:
// FoldCase("ZOË") == FoldCase("zoë"). Invalid UTF-8 sequences are copied through unchanged.
#pragma once

#include <string>
#include <string_view>

namespace intake::domain {

std::string FoldCase(std::string_view utf8);

}  // namespace intake::domain
