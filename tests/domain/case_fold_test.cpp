#include "domain/case_fold.hpp"

#include <gtest/gtest.h>

#include <string>

namespace intake::domain {
namespace {

TEST(CaseFold, LowercasesAscii) {
  EXPECT_EQ(FoldCase("MRN-1001 John DOE"), "mrn-1001 john doe");
  EXPECT_EQ(FoldCase(""), "");
  EXPECT_EQ(FoldCase("already lower 123 %_\\"), "already lower 123 %_\\");
}

TEST(CaseFold, FoldsLatinWithDiacritics) {
  EXPECT_EQ(FoldCase("ZOË"), FoldCase("zoë"));
  EXPECT_EQ(FoldCase("ZOË"), "zoë");
  EXPECT_EQ(FoldCase("ÀÉÎÕÜ Ł Ø"), "àéîõü ł ø");
}

TEST(CaseFold, SharpSStaysUnderSimpleFolding) {
  // Simple folding maps ß to itself (full folding would give "ss"); capital ẞ folds to ß.
  EXPECT_EQ(FoldCase("ß"), "ß");
  EXPECT_EQ(FoldCase("STRASSE"), "strasse");
  EXPECT_EQ(FoldCase("ẞ"), "ß");
  EXPECT_NE(FoldCase("Straße"), FoldCase("STRASSE"));
}

TEST(CaseFold, FoldsGreekSigmaForms) {
  // Σ, σ and final ς all fold to σ.
  EXPECT_EQ(FoldCase("Σ"), "σ");
  EXPECT_EQ(FoldCase("ς"), "σ");
  EXPECT_EQ(FoldCase("ΟΔΥΣΣΕΥΣ"), FoldCase("οδυσσευς"));
  EXPECT_EQ(FoldCase("ΔΗΜΉΤΡΗΣ"), "δημήτρησ");
}

TEST(CaseFold, FoldsCyrillic) {
  EXPECT_EQ(FoldCase("ИВАН ПЕТРОВ"), "иван петров");
  EXPECT_EQ(FoldCase("Ёлка"), "ёлка");
}

TEST(CaseFold, FoldsSpecialCasesToAscii) {
  EXPECT_EQ(FoldCase("\xE2\x84\xAA"), "k");  // U+212A KELVIN SIGN
  EXPECT_EQ(FoldCase("ſ"), "s");             // U+017F LONG S
}

TEST(CaseFold, TurkishDottedCapitalIUsesDefaultFolding) {
  // Simple default folding leaves U+0130 unchanged (only full folding or Turkic rules change it).
  EXPECT_EQ(FoldCase("İ"), "İ");
  EXPECT_EQ(FoldCase("I"), "i");
}

TEST(CaseFold, LeavesUncasedScriptsAlone) { EXPECT_EQ(FoldCase("山田 محمد 😀"), "山田 محمد 😀"); }

TEST(CaseFold, FoldsSupplementaryPlaneLetters) {
  EXPECT_EQ(FoldCase("\xF0\x90\x90\x80"), "\xF0\x90\x90\xA8");  // DESERET CAPITAL LONG I
}

TEST(CaseFold, CopiesInvalidBytesThrough) {
  EXPECT_EQ(FoldCase("A\xFF"
                     "B"),
            "a\xFF"
            "b");
  EXPECT_EQ(FoldCase("\xC3"), "\xC3");
  EXPECT_EQ(FoldCase("\xED\xA0\x80Z"), "\xED\xA0\x80z");
  EXPECT_EQ(FoldCase("\xC3"
                     "\xC3\x8B"),
            "\xC3"
            "\xC3\xAB");  // truncated, then Ë
}

TEST(CaseFold, IsIdempotent) {
  for (std::string_view s : {"ZOË", "Straße", "ΟΔΥΣΣΕΥΣ", "Иван", "\xE2\x84\xAA", "a\xFF"}) {
    EXPECT_EQ(FoldCase(FoldCase(s)), FoldCase(s)) << s;
  }
}

}  // namespace
}  // namespace intake::domain
