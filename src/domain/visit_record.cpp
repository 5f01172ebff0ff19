#include "domain/visit_record.hpp"

#include <array>
#include <cstddef>

namespace intake::domain {

std::optional<Field> FieldFromName(std::string_view name) {
  for (std::size_t i = 0; i < kFieldCount; ++i) {
    if (kFieldNames[i] == name) return static_cast<Field>(i);
  }
  return std::nullopt;
}

std::string& VisitRecord::at(Field f) {
  return const_cast<std::string&>(static_cast<const VisitRecord&>(*this).at(f));
}

const std::string& VisitRecord::at(Field f) const {
  switch (f) {
    case Field::kMrn:
      return mrn;
    case Field::kFirstName:
      return first_name;
    case Field::kLastName:
      return last_name;
    case Field::kBirthDate:
      return birth_date;
    case Field::kVisitAccountNumber:
      return visit_account_number;
    case Field::kVisitDate:
      return visit_date;
    case Field::kReason:
      return reason;
  }
  return reason;  // unreachable for a valid Field
}

namespace {

bool IsLeapYear(int year) { return (year % 4 == 0 && year % 100 != 0) || year % 400 == 0; }

int DaysInMonth(int year, int month) {
  static constexpr std::array<int, 12> kDays = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
  if (month == 2 && IsLeapYear(year)) return 29;
  return kDays[static_cast<std::size_t>(month - 1)];
}

// Parses exactly `text.size()` ASCII digits; -1 if any byte is not a digit.
int ParseDigits(std::string_view text) {
  int value = 0;
  for (char c : text) {
    if (c < '0' || c > '9') return -1;
    value = value * 10 + (c - '0');
  }
  return value;
}

void AppendPadded(std::string& out, int value, int width) {
  char buf[8];
  for (int i = width - 1; i >= 0; --i) {
    buf[i] = static_cast<char>('0' + value % 10);
    value /= 10;
  }
  out.append(buf, static_cast<std::size_t>(width));
}

}  // namespace

std::optional<Date> Date::Parse(std::string_view text) {
  if (text.size() != 10 || text[4] != '-' || text[7] != '-') return std::nullopt;
  const int year = ParseDigits(text.substr(0, 4));
  const int month = ParseDigits(text.substr(5, 2));
  const int day = ParseDigits(text.substr(8, 2));
  if (year < 1 || month < 1 || month > 12 || day < 1) return std::nullopt;
  if (day > DaysInMonth(year, month)) return std::nullopt;
  return Date{year, month, day};
}

std::string Date::ToString() const {
  std::string out;
  out.reserve(10);
  AppendPadded(out, year, 4);
  out.push_back('-');
  AppendPadded(out, month, 2);
  out.push_back('-');
  AppendPadded(out, day, 2);
  return out;
}

}  // namespace intake::domain
