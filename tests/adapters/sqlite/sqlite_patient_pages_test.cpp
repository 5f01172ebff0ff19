// Unfiltered pages: an id range when the ids are exactly 1..count, the walk in id order when they
// are not (ids written by hand here: the load itself never leaves gaps in SQLite).
#include <gtest/gtest.h>

#include "adapters/contract/test_util.hpp"
#include "adapters/sqlite/sqlite_database.hpp"
#include "adapters/sqlite/sqlite_record_store.hpp"

namespace intake::adapters::testing {
namespace {

using sqlite::Connection;
using sqlite::SqliteDatabase;

constexpr std::string_view kInsertPatients =
    "INSERT INTO patients (id, mrn) VALUES (1, 'A'), (2, 'B'), (3, 'C'), (5, 'E');"
    "INSERT INTO persons (id, first_name, last_name, birth_date)"
    " VALUES (1, 'a', 'a', '2000-01-01'), (2, 'b', 'b', '2000-01-01'),"
    " (3, 'c', 'c', '2000-01-01'), (5, 'e', 'e', '2000-01-01');"
    "UPDATE counters SET value = 4 WHERE name = 'patients';";

std::vector<std::int64_t> PageIds(sqlite::SqliteRecordStore& store, std::int64_t page) {
  auto result = store.ListPatients({}, page, 2);
  EXPECT_TRUE(result.has_value()) << Describe(result);
  std::vector<std::int64_t> ids;
  if (result) {
    EXPECT_EQ(result->total, 4);
    for (const auto& p : result->patients) ids.push_back(p.id);
  }
  return ids;
}

TEST(SqlitePatientPages, IdsWithAGapArePagedInIdOrder) {
  TempDir dir;
  auto db = SqliteDatabase::Open((dir.path() / "intake.db").string());
  ASSERT_OK(db);
  ASSERT_OK((*db)->Write(
      [&](Connection& conn) -> Status { return conn.Exec(kInsertPatients, "test rows"); }));
  auto inbox = sqlite::SqliteInbox::Open(*db);
  ASSERT_OK(inbox);
  sqlite::SqliteRecordStore store(*db, *inbox);
  EXPECT_EQ(PageIds(store, 1), (std::vector<std::int64_t>{1, 2}));
  EXPECT_EQ(PageIds(store, 2), (std::vector<std::int64_t>{3, 5}));
  EXPECT_TRUE(PageIds(store, 3).empty());
}

}  // namespace
}  // namespace intake::adapters::testing
