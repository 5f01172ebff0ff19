// The patient-visit record as it arrives: seven text fields, nothing parsed or guessed.
#pragma once

#include <array>
#include <compare>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace intake::domain {

enum class Field : std::uint8_t {
  kMrn,
  kFirstName,
  kLastName,
  kBirthDate,
  kVisitAccountNumber,
  kVisitDate,
  kReason,
};
inline constexpr std::size_t kFieldCount = 7;

// Column / JSON names, indexed by Field; also the canonical CSV column order.
inline constexpr std::array<std::string_view, kFieldCount> kFieldNames = {
    "mrn", "first_name", "last_name", "birth_date", "visit_account_number", "visit_date", "reason"};

inline std::string_view FieldName(Field f) { return kFieldNames[static_cast<std::size_t>(f)]; }
// The Field named `name`, or nullopt for an unknown name.
std::optional<Field> FieldFromName(std::string_view name);

// Every value is kept byte for byte as sent (never trimmed, never re-typed).
struct VisitRecord {
  std::string mrn;
  std::string first_name;
  std::string last_name;
  std::string birth_date;
  std::string visit_account_number;
  std::string visit_date;
  std::string reason;

  std::string& at(Field f);
  const std::string& at(Field f) const;
  bool operator==(const VisitRecord&) const = default;
};

// A calendar date (proleptic Gregorian).
struct Date {
  int year = 0;
  int month = 0;
  int day = 0;
  auto operator<=>(const Date&) const = default;

  // Exactly "YYYY-MM-DD" naming a real calendar day (leap years honoured), else nullopt.
  static std::optional<Date> Parse(std::string_view text);
  std::string ToString() const;  // "YYYY-MM-DD"
};

}  // namespace intake::domain
