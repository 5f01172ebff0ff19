#include "domain/case_fold.hpp"

#include <unicode/uchar.h>

#include "domain/utf8.hpp"

namespace intake::domain {

std::string FoldCase(std::string_view utf8) {
  std::string out;
  out.reserve(utf8.size());
  const auto* p = reinterpret_cast<const unsigned char*>(utf8.data());
  const auto* end = p + utf8.size();
  while (p < end) {
    const unsigned char b = *p;
    if (b < 0x80) {
      out.push_back(static_cast<char>(b >= 'A' && b <= 'Z' ? b + ('a' - 'A') : b));
      ++p;
      continue;
    }
    char32_t cp = 0;
    const std::size_t len = utf8::Decode(p, end, cp);
    if (len == 0) {  // not well-formed: copy the byte through and resynchronize
      out.push_back(static_cast<char>(b));
      ++p;
      continue;
    }
    const UChar32 folded = u_foldCase(static_cast<UChar32>(cp), U_FOLD_CASE_DEFAULT);
    utf8::Encode(static_cast<char32_t>(folded), out);
    p += len;
  }
  return out;
}

}  // namespace intake::domain
