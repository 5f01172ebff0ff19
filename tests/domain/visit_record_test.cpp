#include "domain/visit_record.hpp"

#include <gtest/gtest.h>

#include <string>

namespace intake::domain {
namespace {

TEST(VisitRecord, FieldFromNameKnowsEveryColumn) {
  for (std::size_t i = 0; i < kFieldCount; ++i) {
    const auto field = static_cast<Field>(i);
    ASSERT_EQ(FieldFromName(FieldName(field)), field) << FieldName(field);
  }
}

TEST(VisitRecord, FieldFromNameRejectsUnknownOrDifferentCase) {
  for (std::string_view name : {"", "MRN", "mrn ", "firstname", "visit", "reasons"}) {
    EXPECT_FALSE(FieldFromName(name).has_value()) << name;
  }
}

TEST(VisitRecord, AtAddressesEachMember) {
  VisitRecord r{"m", "f", "l", "b", "v", "d", "r"};
  EXPECT_EQ(&r.at(Field::kMrn), &r.mrn);
  EXPECT_EQ(&r.at(Field::kFirstName), &r.first_name);
  EXPECT_EQ(&r.at(Field::kLastName), &r.last_name);
  EXPECT_EQ(&r.at(Field::kBirthDate), &r.birth_date);
  EXPECT_EQ(&r.at(Field::kVisitAccountNumber), &r.visit_account_number);
  EXPECT_EQ(&r.at(Field::kVisitDate), &r.visit_date);
  EXPECT_EQ(&r.at(Field::kReason), &r.reason);
  const VisitRecord& c = r;
  EXPECT_EQ(c.at(Field::kReason), "r");
  r.at(Field::kMrn) = "changed";
  EXPECT_EQ(r.mrn, "changed");
}

TEST(Date, ParsesAValidDate) {
  const auto d = Date::Parse("1990-02-14");
  ASSERT_TRUE(d.has_value());
  EXPECT_EQ(*d, (Date{1990, 2, 14}));
}

TEST(Date, AcceptsRealCalendarDays) {
  for (std::string_view text : {"0001-01-01", "9999-12-31", "2024-02-29", "2000-02-29",
                                "2023-02-28", "2024-04-30", "2024-01-31", "2024-12-31"}) {
    EXPECT_TRUE(Date::Parse(text).has_value()) << text;
  }
}

TEST(Date, RejectsImpossibleDays) {
  for (std::string_view text :
       {"2023-02-29", "1900-02-29", "2100-02-29", "2024-02-30", "2024-04-31", "2024-06-31",
        "2024-09-31", "2024-11-31", "2024-01-32", "2024-13-01", "2024-00-10", "2024-01-00",
        "0000-01-01"}) {
    EXPECT_FALSE(Date::Parse(text).has_value()) << text;
  }
}

TEST(Date, RejectsOtherShapes) {
  for (std::string_view text :
       {"", "2024-1-01", "2024-01-1", "24-01-01", "2024/01/01", "20240101", "2024-01-01T00:00:00",
        " 2024-01-01", "2024-01-01 ", "+024-01-01", "2024-0a-01", "2024-01-01Z", "10000-01-01",
        "２０２４-01-01", "-001-01-01", "2024--1-01"}) {
    EXPECT_FALSE(Date::Parse(text).has_value()) << text;
  }
}

TEST(Date, ToStringPadsWithZeros) {
  EXPECT_EQ((Date{1, 2, 3}).ToString(), "0001-02-03");
  EXPECT_EQ((Date{2024, 11, 30}).ToString(), "2024-11-30");
}

TEST(Date, ToStringRoundTripsParse) {
  for (std::string_view text : {"0001-01-01", "1999-12-31", "2024-02-29", "9999-12-31"}) {
    EXPECT_EQ(Date::Parse(text)->ToString(), text);
  }
}

TEST(Date, OrdersChronologically) {
  EXPECT_LT((Date{2023, 12, 31}), (Date{2024, 1, 1}));
  EXPECT_LT((Date{2024, 1, 31}), (Date{2024, 2, 1}));
  EXPECT_LT((Date{2024, 2, 1}), (Date{2024, 2, 2}));
  EXPECT_EQ((Date{2024, 2, 2}), (Date{2024, 2, 2}));
}

}  // namespace
}  // namespace intake::domain
