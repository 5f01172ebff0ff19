#include "domain/validation.hpp"

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <unicode/utf8.h>

#include <string>
#include <vector>

namespace intake::domain {
namespace {

const Date kToday{2024, 6, 15};

VisitRecord ValidRecord() {
  return VisitRecord{"MRN-1001", "John",       "Doe",           "1990-02-14",
                     "VST-9001", "2024-11-01", "Annual Checkup"};
}

std::vector<Problem> Validate(const VisitRecord& record) {
  std::vector<Problem> problems;
  ValidateRecord(record, kToday, problems);
  return problems;
}

VisitRecord With(Field field, std::string value) {
  VisitRecord r = ValidRecord();
  r.at(field) = std::move(value);
  return r;
}

std::string Repeat(std::string_view unit, std::size_t n) {
  std::string s;
  for (std::size_t i = 0; i < n; ++i) s.append(unit);
  return s;
}

// The single problem a record with one bad field gives, as "type|message".
std::string OnlyProblem(Field field, std::string value) {
  const std::vector<Problem> problems = Validate(With(field, std::move(value)));
  if (problems.size() != 1) return "problems: " + std::to_string(problems.size());
  if (problems[0].field != field) return "wrong field";
  return problems[0].type + "|" + problems[0].message;
}

constexpr Field kTextFields[] = {Field::kMrn, Field::kFirstName, Field::kLastName,
                                 Field::kVisitAccountNumber};
constexpr Field kAllStringFields[] = {Field::kMrn, Field::kFirstName, Field::kLastName,
                                      Field::kVisitAccountNumber, Field::kReason};

const std::string kControl = "value_error|must not contain control characters";
const std::string kTooShort = "string_too_short|String should have at least 1 character";
const std::string kBlank = "string_too_short|must not be empty or only whitespace";
const std::string kBadUtf8 = "string_unicode|must be valid UTF-8";
const std::string kNotDate = "date_parsing|must be a calendar date YYYY-MM-DD";

TEST(Validation, AcceptsAValidRecord) { EXPECT_TRUE(Validate(ValidRecord()).empty()); }

TEST(Validation, AppendsWithoutClearing) {
  std::vector<Problem> problems(2);
  ValidateRecord(With(Field::kMrn, ""), kToday, problems);
  EXPECT_EQ(problems.size(), 3u);
}

TEST(Validation, AcceptsNaAndNullAsNames) {
  for (std::string_view name : {"NA", "Null", "null", "None", "N/A", "nan", "NaN", "-", "."}) {
    EXPECT_TRUE(Validate(With(Field::kFirstName, std::string(name))).empty()) << name;
    EXPECT_TRUE(Validate(With(Field::kLastName, std::string(name))).empty()) << name;
  }
}

TEST(Validation, AcceptsNamesOfAnyScriptAndPunctuation) {
  for (std::string_view name :
       {"O'Brien", "Jean-Luc", "St. John", "Smith, Jr.", "Zoë", "ZOË", "Łukasz", "Δημήτρης", "Иван",
        "山田", "محمد", "Mary Ann", " padded ", "😀"}) {
    EXPECT_TRUE(Validate(With(Field::kFirstName, std::string(name))).empty()) << name;
  }
}

TEST(Validation, KeepsLeadingZerosValid) {
  EXPECT_TRUE(Validate(With(Field::kMrn, "00123")).empty());
  EXPECT_TRUE(Validate(With(Field::kVisitAccountNumber, "000")).empty());
}

TEST(Validation, RejectsEmptyRequiredStrings) {
  for (Field f : kTextFields) EXPECT_EQ(OnlyProblem(f, ""), kTooShort) << FieldName(f);
}

TEST(Validation, RejectsWhitespaceOnlyRequiredStrings) {
  for (Field f : kTextFields) {
    for (std::string_view blank : {" ", "   ", "\t", " \n ", "\xC2\xA0", "\xE3\x80\x80",
                                   "\xE2\x80\x83 ", "\xE2\x80\xA8", "\xC2\x85"}) {
      EXPECT_EQ(OnlyProblem(f, std::string(blank)), kBlank) << FieldName(f);
    }
  }
}

TEST(Validation, ReasonMayBeEmptyOrWhitespace) {
  for (std::string_view reason : {"", " ", "\n", "\t", "\r\n", "\xC2\xA0"}) {
    EXPECT_TRUE(Validate(With(Field::kReason, std::string(reason))).empty());
  }
}

TEST(Validation, ZeroWidthSpaceIsNotWhitespace) {
  // U+200B is Cf, not White_Space: a value of it alone is one character.
  EXPECT_TRUE(Validate(With(Field::kMrn, "\xE2\x80\x8B")).empty());
}

struct LengthCase {
  Field field;
  std::size_t max;
};

TEST(Validation, AcceptsMaximumLengthInAsciiCodePoints) {
  for (auto [field, max] :
       {LengthCase{Field::kMrn, 64}, LengthCase{Field::kFirstName, 100},
        LengthCase{Field::kLastName, 100}, LengthCase{Field::kVisitAccountNumber, 64},
        LengthCase{Field::kReason, 1000}}) {
    EXPECT_TRUE(Validate(With(field, Repeat("a", max))).empty()) << FieldName(field);
  }
}

TEST(Validation, RejectsOneOverMaximumLength) {
  for (auto [field, max] :
       {LengthCase{Field::kMrn, 64}, LengthCase{Field::kFirstName, 100},
        LengthCase{Field::kLastName, 100}, LengthCase{Field::kVisitAccountNumber, 64},
        LengthCase{Field::kReason, 1000}}) {
    EXPECT_EQ(OnlyProblem(field, Repeat("a", max + 1)),
              "string_too_long|String should have at most " + std::to_string(max) + " characters")
        << FieldName(field);
  }
}

TEST(Validation, CountsLengthInCodePointsNotBytes) {
  for (std::string_view unit : {"é", "€", "山", "😀"}) {
    EXPECT_TRUE(Validate(With(Field::kMrn, Repeat(unit, 64))).empty()) << unit;
    EXPECT_EQ(OnlyProblem(Field::kMrn, Repeat(unit, 65)),
              "string_too_long|String should have at most 64 characters")
        << unit;
    EXPECT_TRUE(Validate(With(Field::kLastName, Repeat(unit, 100))).empty()) << unit;
    EXPECT_EQ(OnlyProblem(Field::kLastName, Repeat(unit, 101)),
              "string_too_long|String should have at most 100 characters")
        << unit;
  }
}

TEST(Validation, ReasonOf1000MultibyteCharactersIsValid) {
  EXPECT_TRUE(Validate(With(Field::kReason, Repeat("ü", 1000))).empty());
  EXPECT_EQ(OnlyProblem(Field::kReason, Repeat("ü", 1001)),
            "string_too_long|String should have at most 1000 characters");
}

TEST(Validation, RejectsControlCharactersInIdsAndNames) {
  const std::string cases[] = {std::string("a\0b", 3),
                               "a\x01",
                               "\x1F"
                               "b",
                               "a\x7F",
                               "a\xC2\x80",
                               "a\xC2\x85",
                               "a\xC2\x9F",
                               "a\nb",
                               "a\rb",
                               "a\tb",
                               "a\x0B"
                               "b",
                               "a\x1B[0m"};
  for (Field f : kTextFields) {
    for (const std::string& value : cases) {
      EXPECT_EQ(OnlyProblem(f, value), kControl) << FieldName(f) << " case " << value.size();
    }
  }
}

TEST(Validation, ReasonAllowsLineBreaksAndTab) {
  for (std::string_view reason : {"line1\nline2", "line1\r\nline2", "a\rb", "col1\tcol2"}) {
    EXPECT_TRUE(Validate(With(Field::kReason, std::string(reason))).empty());
  }
}

TEST(Validation, ReasonRejectsOtherControlCharacters) {
  const std::string cases[] = {
      std::string("a\0b", 3), "a\x0B", "a\x0C", "a\x7F", "a\xC2\x85", "a\xC2\x80", "a\x1B"};
  for (const std::string& value : cases) EXPECT_EQ(OnlyProblem(Field::kReason, value), kControl);
}

TEST(Validation, CharactersNextToControlRangesAreFine) {
  // U+00A0 (NBSP) and U+00A1 follow the C1 range; U+007E precedes DEL; U+0020 follows US.
  for (std::string_view value : {"a\xC2\xA0"
                                 "b",
                                 "\xC2\xA1", "~", "a b", "\xE2\x80\x8E"}) {
    EXPECT_TRUE(Validate(With(Field::kFirstName, std::string(value))).empty());
  }
}

TEST(Validation, RejectsInvalidUtf8InEveryField) {
  for (std::size_t i = 0; i < kFieldCount; ++i) {
    const auto f = static_cast<Field>(i);
    EXPECT_EQ(OnlyProblem(f, "ab\xFF"), kBadUtf8) << FieldName(f);
  }
}

TEST(Validation, InvalidUtf8SkipsOtherChecksOnThatField) {
  // Too long, with a control character and invalid UTF-8: only the UTF-8 problem.
  EXPECT_EQ(OnlyProblem(Field::kMrn, Repeat("a", 70) + "\x01\xC3"), kBadUtf8);
  EXPECT_EQ(OnlyProblem(Field::kFirstName, "\xC0\x80"), kBadUtf8);
}

TEST(Validation, BirthDateFebruary29OnlyInLeapYears) {
  EXPECT_TRUE(Validate(With(Field::kBirthDate, "2000-02-29")).empty());
  EXPECT_TRUE(Validate(With(Field::kBirthDate, "2020-02-29")).empty());
  EXPECT_EQ(OnlyProblem(Field::kBirthDate, "2023-02-29"), kNotDate);
  EXPECT_EQ(OnlyProblem(Field::kBirthDate, "1900-02-29"), kNotDate);
}

TEST(Validation, RejectsFebruary30) {
  EXPECT_EQ(OnlyProblem(Field::kBirthDate, "2024-02-30"), kNotDate);
  EXPECT_EQ(OnlyProblem(Field::kVisitDate, "2024-02-30"), kNotDate);
}

TEST(Validation, RejectsMalformedDates) {
  for (std::string_view text : {"", "1990-2-14", "14/02/1990", "1990-02-14T00:00:00", "19900214",
                                " 1990-02-14", "1990-02-14 ", "NA", "0000-01-01"}) {
    EXPECT_EQ(OnlyProblem(Field::kBirthDate, std::string(text)), kNotDate) << text;
    EXPECT_EQ(OnlyProblem(Field::kVisitDate, std::string(text)), kNotDate) << text;
  }
}

TEST(Validation, BirthDateTodayIsAllowed) {
  VisitRecord r = With(Field::kBirthDate, "2024-06-15");
  r.visit_date = "2024-06-15";
  EXPECT_TRUE(Validate(r).empty());
}

TEST(Validation, BirthDateTomorrowIsRejected) {
  VisitRecord r = With(Field::kBirthDate, "2024-06-16");
  r.visit_date = "2024-06-16";
  const auto problems = Validate(r);
  ASSERT_EQ(problems.size(), 1u);
  EXPECT_EQ(problems[0].field, Field::kBirthDate);
  EXPECT_EQ(problems[0].type, "value_error");
  EXPECT_EQ(problems[0].message, "must not be after today");
}

TEST(Validation, VisitDateInTheFutureIsAllowed) {
  EXPECT_TRUE(Validate(With(Field::kVisitDate, "2099-12-31")).empty());
}

TEST(Validation, VisitDateOnBirthDateIsAllowed) {
  EXPECT_TRUE(Validate(With(Field::kVisitDate, "1990-02-14")).empty());
}

TEST(Validation, VisitDateBeforeBirthDateIsRejected) {
  EXPECT_EQ(OnlyProblem(Field::kVisitDate, "1990-02-13"),
            "value_error|must not be before birth_date");
}

TEST(Validation, NoBirthComparisonWhenADateDoesNotParse) {
  VisitRecord r = With(Field::kBirthDate, "not a date");
  r.visit_date = "1000-01-01";
  const auto problems = Validate(r);
  ASSERT_EQ(problems.size(), 1u);
  EXPECT_EQ(problems[0].field, Field::kBirthDate);
}

TEST(Validation, ReportsEveryBadFieldInFieldOrder) {
  VisitRecord r{"", "John", std::string(101, 'x'), "2024-02-30", "V\x01", "bad", "ok"};
  const auto problems = Validate(r);
  ASSERT_EQ(problems.size(), 5u);
  EXPECT_EQ(problems[0].field, Field::kMrn);
  EXPECT_EQ(problems[1].field, Field::kLastName);
  EXPECT_EQ(problems[2].field, Field::kBirthDate);
  EXPECT_EQ(problems[3].field, Field::kVisitAccountNumber);
  EXPECT_EQ(problems[4].field, Field::kVisitDate);
}

TEST(Validation, FutureBirthAndEarlierVisitGiveTwoProblems) {
  VisitRecord r = With(Field::kBirthDate, "2030-01-01");
  r.visit_date = "2029-01-01";
  const auto problems = Validate(r);
  ASSERT_EQ(problems.size(), 2u);
  EXPECT_EQ(problems[0].message, "must not be after today");
  EXPECT_EQ(problems[1].message, "must not be before birth_date");
}

TEST(Validation, MessagesNeverContainTheValue) {
  const std::string secret = "SECRET";
  const VisitRecord bad_records[] = {
      {secret + std::string(70, 'x'), secret + "\x01", secret + "\xFF", secret, secret,
       secret + "-01-01", secret + "\x7F"},
      {secret, secret, secret, "2099-01-01", secret, "1900-01-01", std::string(1001, 'S')},
  };
  for (const VisitRecord& r : bad_records) {
    const auto problems = Validate(r);
    EXPECT_FALSE(problems.empty());
    for (const Problem& p : problems) {
      EXPECT_THAT(p.message, ::testing::Not(::testing::HasSubstr(secret)));
      EXPECT_THAT(p.type, ::testing::Not(::testing::HasSubstr(secret)));
    }
  }
}

TEST(Validation, EveryStringFieldHasFieldSet) {
  for (Field f : kAllStringFields) {
    const auto problems = Validate(With(f, "\x01\x02"));
    ASSERT_EQ(problems.size(), 1u);
    EXPECT_EQ(problems[0].field, f);
  }
}

TEST(Utf8, AcceptsWellFormedText) {
  for (std::string_view text :
       {"", "abc", "é", "€", "😀", "\xF4\x8F\xBF\xBF" /* U+10FFFF */, "\xED\x9F\xBF" /* U+D7FF */,
        "\xEE\x80\x80" /* U+E000 */, "\xEF\xBB\xBF" /* BOM */, "\xC2\x80", "\xF0\x90\x80\x80",
        "Zoë Ünal 山田 😀"}) {
    EXPECT_TRUE(IsValidUtf8(text)) << text;
  }
  EXPECT_TRUE(IsValidUtf8(std::string_view("a\0b", 3)));
}

TEST(Utf8, RejectsMalformedText) {
  for (std::string_view text : {
           "\x80",                  // lone continuation byte
           "\xBF",                  // lone continuation byte
           "\xC0\x80",              // overlong NUL
           "\xC1\xBF",              // overlong
           "\xE0\x80\x80",          // overlong 3-byte
           "\xE0\x9F\xBF",          // overlong 3-byte (U+07FF)
           "\xF0\x80\x80\x80",      // overlong 4-byte
           "\xF0\x8F\xBF\xBF",      // overlong 4-byte (U+FFFF)
           "\xED\xA0\x80",          // surrogate U+D800
           "\xED\xBF\xBF",          // surrogate U+DFFF
           "\xF4\x90\x80\x80",      // U+110000
           "\xF5\x80\x80\x80",      // lead byte beyond range
           "\xF8\x88\x80\x80\x80",  // 5-byte form
           "\xFE",
           "\xFF",          // never valid
           "\xC3",          // truncated 2-byte
           "\xE2\x82",      // truncated 3-byte
           "\xF0\x9F\x98",  // truncated 4-byte
           "ok\xC3",        // truncated at end
           "\xC3"
           "a",                 // continuation missing
           "\xE2\x28\xA1",      // bad second byte
           "\xE2\x82\x28",      // bad third byte
           "\xF0\x9F\x98\x28",  // bad fourth byte
       }) {
    EXPECT_FALSE(IsValidUtf8(text)) << ::testing::PrintToString(std::string(text));
  }
}

TEST(Utf8, CountsCodePoints) {
  EXPECT_EQ(CodePointCount(""), 0u);
  EXPECT_EQ(CodePointCount("abc"), 3u);
  EXPECT_EQ(CodePointCount("zoë"), 3u);
  EXPECT_EQ(CodePointCount("€"), 1u);
  EXPECT_EQ(CodePointCount("😀"), 1u);
  EXPECT_EQ(CodePointCount("a€😀é"), 4u);
  EXPECT_EQ(CodePointCount(Repeat("山", 65)), 65u);
}

// Reference: ICU's decoder, which follows the same Unicode definition of well-formed UTF-8.
bool IcuValidUtf8(std::string_view text) {
  const auto* s = reinterpret_cast<const std::uint8_t*>(text.data());
  const auto length = static_cast<std::int32_t>(text.size());
  std::int32_t i = 0;
  while (i < length) {
    UChar32 c = 0;
    U8_NEXT(s, i, length, c);
    if (c < 0) return false;
  }
  return true;
}

TEST(Utf8, AgreesWithIcuOnEveryTwoByteString) {
  for (int a = 0; a < 256; ++a) {
    for (int b = 0; b < 256; ++b) {
      const char bytes[] = {static_cast<char>(a), static_cast<char>(b)};
      const std::string_view text(bytes, 2);
      ASSERT_EQ(IsValidUtf8(text), IcuValidUtf8(text)) << a << " " << b;
    }
  }
}

TEST(Utf8, AgreesWithIcuOnLongerBoundarySequences) {
  const unsigned char interesting[] = {0x00, 0x41, 0x7F, 0x80, 0x8F, 0x90, 0x9F, 0xA0, 0xBF,
                                       0xC0, 0xC1, 0xC2, 0xDF, 0xE0, 0xE1, 0xEC, 0xED, 0xEE,
                                       0xEF, 0xF0, 0xF1, 0xF3, 0xF4, 0xF5, 0xFF};
  std::string text(4, '\0');
  for (unsigned char a : interesting) {
    for (unsigned char b : interesting) {
      for (unsigned char c : interesting) {
        for (unsigned char d : interesting) {
          text[0] = static_cast<char>(a);
          text[1] = static_cast<char>(b);
          text[2] = static_cast<char>(c);
          text[3] = static_cast<char>(d);
          ASSERT_EQ(IsValidUtf8(text), IcuValidUtf8(text)) << ::testing::PrintToString(text);
          const std::string_view three(text.data(), 3);
          ASSERT_EQ(IsValidUtf8(three), IcuValidUtf8(three)) << ::testing::PrintToString(text);
        }
      }
    }
  }
}

}  // namespace
}  // namespace intake::domain
