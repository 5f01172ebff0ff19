#include "domain/validation.hpp"

#include <unicode/uchar.h>

#include <cstddef>

#include "domain/utf8.hpp"

namespace intake::domain {

namespace {

// What one pass over a text field learns.
struct TextScan {
  bool valid_utf8 = true;
  std::size_t code_points = 0;
  bool has_forbidden_control = false;
  bool all_whitespace = true;  // vacuously true for ""
};

bool IsAsciiWhitespace(unsigned char b) { return b == ' ' || (b >= '\t' && b <= '\r'); }

// Cc is U+0000-U+001F and U+007F-U+009F; in `reason` LF, CR and TAB are allowed.
bool IsForbiddenControl(char32_t cp, bool allow_line_breaks) {
  if (cp < 0x20) return !(allow_line_breaks && (cp == '\n' || cp == '\r' || cp == '\t'));
  return cp >= 0x7F && cp <= 0x9F;
}

TextScan ScanText(std::string_view text, bool allow_line_breaks) {
  TextScan scan;
  const auto* p = reinterpret_cast<const unsigned char*>(text.data());
  const auto* end = p + text.size();
  while (p < end) {
    const unsigned char b = *p;
    if (b < 0x80) {  // ASCII fast path
      ++p;
      ++scan.code_points;
      if (scan.all_whitespace && !IsAsciiWhitespace(b)) scan.all_whitespace = false;
      if (b < 0x20 || b == 0x7F) {
        scan.has_forbidden_control |= IsForbiddenControl(b, allow_line_breaks);
      }
      continue;
    }
    char32_t cp = 0;
    const std::size_t len = utf8::Decode(p, end, cp);
    if (len == 0) {
      scan.valid_utf8 = false;
      return scan;
    }
    p += len;
    ++scan.code_points;
    if (scan.all_whitespace && !u_isUWhiteSpace(static_cast<UChar32>(cp))) {
      scan.all_whitespace = false;
    }
    if (cp <= 0x9F) scan.has_forbidden_control = true;  // U+0080-U+009F (C1 controls)
  }
  return scan;
}

struct TextRule {
  Field field;
  std::size_t max_chars;
  bool may_be_empty;
  bool allow_line_breaks;
  const char* too_long_message;
};

constexpr TextRule kMrnRule{Field::kMrn, 64, false, false,
                            "String should have at most 64 characters"};
constexpr TextRule kFirstNameRule{Field::kFirstName, 100, false, false,
                                  "String should have at most 100 characters"};
constexpr TextRule kLastNameRule{Field::kLastName, 100, false, false,
                                 "String should have at most 100 characters"};
constexpr TextRule kVisitNumberRule{Field::kVisitAccountNumber, 64, false, false,
                                    "String should have at most 64 characters"};
constexpr TextRule kReasonRule{Field::kReason, 1000, true, true,
                               "String should have at most 1000 characters"};

void Add(std::vector<Problem>& out, Field field, const char* type, const char* message) {
  out.push_back(Problem{field, type, message});
}

constexpr const char* kInvalidUtf8 = "must be valid UTF-8";

// At most one problem per field: the first rule it breaks.
void ValidateText(const TextRule& rule, std::string_view value, std::vector<Problem>& out) {
  const TextScan scan = ScanText(value, rule.allow_line_breaks);
  if (!scan.valid_utf8) {
    Add(out, rule.field, "string_unicode", kInvalidUtf8);
  } else if (!rule.may_be_empty && scan.code_points == 0) {
    Add(out, rule.field, "string_too_short", "String should have at least 1 character");
  } else if (!rule.may_be_empty && scan.all_whitespace) {
    Add(out, rule.field, "string_too_short", "must not be empty or only whitespace");
  } else if (scan.code_points > rule.max_chars) {
    Add(out, rule.field, "string_too_long", rule.too_long_message);
  } else if (scan.has_forbidden_control) {
    Add(out, rule.field, "value_error", "must not contain control characters");
  }
}

// Parses a date field, reporting a problem when it is not a date.
std::optional<Date> ValidateDate(Field field, std::string_view value, std::vector<Problem>& out) {
  std::optional<Date> date = Date::Parse(value);
  if (!date) {
    if (!IsValidUtf8(value)) {
      Add(out, field, "string_unicode", kInvalidUtf8);
    } else {
      Add(out, field, "date_parsing", "must be a calendar date YYYY-MM-DD");
    }
  }
  return date;
}

}  // namespace

void ValidateRecord(const VisitRecord& record, const Date& today, std::vector<Problem>& out) {
  ValidateText(kMrnRule, record.mrn, out);
  ValidateText(kFirstNameRule, record.first_name, out);
  ValidateText(kLastNameRule, record.last_name, out);
  const std::optional<Date> birth = ValidateDate(Field::kBirthDate, record.birth_date, out);
  if (birth && *birth > today) {
    Add(out, Field::kBirthDate, "value_error", "must not be after today");
  }
  ValidateText(kVisitNumberRule, record.visit_account_number, out);
  const std::optional<Date> visit = ValidateDate(Field::kVisitDate, record.visit_date, out);
  if (visit && birth && *visit < *birth) {
    Add(out, Field::kVisitDate, "value_error", "must not be before birth_date");
  }
  ValidateText(kReasonRule, record.reason, out);
}

bool IsValidUtf8(std::string_view text) {
  const auto* p = reinterpret_cast<const unsigned char*>(text.data());
  const auto* end = p + text.size();
  while (p < end) {
    if (*p < 0x80) {
      ++p;
      continue;
    }
    char32_t cp = 0;
    const std::size_t len = utf8::Decode(p, end, cp);
    if (len == 0) return false;
    p += len;
  }
  return true;
}

std::size_t CodePointCount(std::string_view text) {
  std::size_t count = 0;
  for (char c : text) {
    if ((static_cast<unsigned char>(c) & 0xC0) != 0x80) ++count;
  }
  return count;
}

}  // namespace intake::domain
