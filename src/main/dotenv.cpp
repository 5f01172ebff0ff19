#include "main/dotenv.hpp"

#include <cctype>
#include <string>

namespace intake::main_ {
namespace {

constexpr std::string_view kBlanks = " \t\r";

std::string_view Trim(std::string_view s) {
  const auto first = s.find_first_not_of(kBlanks);
  if (first == std::string_view::npos) return {};
  const auto last = s.find_last_not_of(kBlanks);
  return s.substr(first, last - first + 1);
}

bool IsValidKey(std::string_view key) {
  if (key.empty() || std::isdigit(static_cast<unsigned char>(key.front()))) return false;
  for (const char c : key) {
    if (!std::isalnum(static_cast<unsigned char>(c)) && c != '_') return false;
  }
  return true;
}

Error LineError(std::size_t line_no, std::string_view what) {
  return InvalidArgument(".env line " + std::to_string(line_no) + ": " + std::string(what));
}

// `rest` starts just after the opening double quote; the value may span lines.
// Returns the number of bytes consumed through the closing quote, or npos.
std::size_t ParseDoubleQuoted(std::string_view rest, std::string& out) {
  for (std::size_t i = 0; i < rest.size(); ++i) {
    const char c = rest[i];
    if (c == '"') return i + 1;
    if (c == '\\' && i + 1 < rest.size()) {
      const char e = rest[++i];
      switch (e) {
        case 'n':
          out += '\n';
          break;
        case 't':
          out += '\t';
          break;
        case 'r':
          out += '\r';
          break;
        case '"':
          out += '"';
          break;
        case '\\':
          out += '\\';
          break;
        default:
          out += '\\';
          out += e;
          break;
      }
      continue;
    }
    out += c;
  }
  return std::string_view::npos;
}

// After a closing quote only blanks or a comment may follow on that line.
bool OnlyCommentFollows(std::string_view tail) {
  const auto line_end = tail.find('\n');
  const std::string_view rest = Trim(tail.substr(0, line_end));
  return rest.empty() || rest.front() == '#';
}

std::string_view UnquotedValue(std::string_view raw) {
  raw = Trim(raw);
  for (std::size_t i = 0; i < raw.size(); ++i) {
    if (raw[i] == '#' && (i == 0 || raw[i - 1] == ' ' || raw[i - 1] == '\t')) {
      return Trim(raw.substr(0, i));
    }
  }
  return raw;
}

}  // namespace

Result<EnvMap> ParseDotenv(std::string_view text) {
  EnvMap out;
  std::size_t pos = 0;
  std::size_t line_no = 0;
  while (pos < text.size()) {
    ++line_no;
    auto end = text.find('\n', pos);
    if (end == std::string_view::npos) end = text.size();
    std::string_view line = Trim(text.substr(pos, end - pos));
    const std::size_t line_start = pos;
    pos = end + 1;
    if (line_no == 1 && line.substr(0, 3) == "\xEF\xBB\xBF") line = Trim(line.substr(3));
    if (line.empty() || line.front() == '#') continue;
    if (line.substr(0, 7) == "export " || line.substr(0, 7) == "export\t") {
      line = Trim(line.substr(7));
    }
    const auto eq = line.find('=');
    if (eq == std::string_view::npos) return LineError(line_no, "expected KEY=VALUE");
    const std::string_view key = Trim(line.substr(0, eq));
    if (!IsValidKey(key)) return LineError(line_no, "invalid variable name");

    const std::string_view raw = Trim(line.substr(eq + 1));
    std::string value;
    if (!raw.empty() && raw.front() == '\'') {
      const auto close = raw.find('\'', 1);
      if (close == std::string_view::npos || !OnlyCommentFollows(raw.substr(close + 1))) {
        return LineError(line_no, "unterminated single quote");
      }
      value = std::string(raw.substr(1, close - 1));
    } else if (!raw.empty() && raw.front() == '"') {
      // A double-quoted value may continue on the following lines.
      const std::size_t value_start = static_cast<std::size_t>(raw.data() - text.data()) + 1;
      const std::size_t used = ParseDoubleQuoted(text.substr(value_start), value);
      if (used == std::string_view::npos || !OnlyCommentFollows(text.substr(value_start + used))) {
        return LineError(line_no, "unterminated double quote");
      }
      const std::size_t close = value_start + used;
      for (std::size_t i = line_start; i < close; ++i) {
        if (text[i] == '\n') ++line_no;
      }
      end = text.find('\n', close);
      pos = end == std::string_view::npos ? text.size() : end + 1;
    } else {
      value = std::string(UnquotedValue(raw));
    }
    out.insert_or_assign(std::string(key), std::move(value));
  }
  return out;
}

}  // namespace intake::main_
