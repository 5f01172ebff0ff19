// WriteLog: which records_version ranges this store's own batches account for. Pure, no server.
#include "adapters/postgres/pg_write_log.hpp"

#include <gtest/gtest.h>

#include <thread>

namespace intake::adapters::testing {
namespace {

using postgres::KeyHash;
using postgres::WriteLog;
using postgres::WrittenKeys;

// Adds a committed entry.
void Commit(WriteLog& log, std::int64_t before, std::int64_t after, WrittenKeys keys) {
  log.Settle(log.Add(before, after, std::move(keys)), true);
}

WrittenKeys Keys(std::initializer_list<const char*> mrns,
                 std::initializer_list<const char*> numbers = {}) {
  WrittenKeys keys;
  for (const char* m : mrns) keys.mrns.insert(KeyHash(m));
  for (const char* n : numbers) keys.visit_numbers.insert(KeyHash(n));
  return keys;
}

TEST(PgWriteLog, NoMovementNeedsNoEntry) {
  WriteLog log;
  auto keys = log.Between(7, 7);
  ASSERT_TRUE(keys.has_value());
  EXPECT_TRUE(keys->mrns.empty());
  EXPECT_TRUE(keys->visit_numbers.empty());
}

TEST(PgWriteLog, AChainOfEntriesGivesTheUnionOfTheirKeys) {
  WriteLog log;
  Commit(log, 10, 13, Keys({"M-1"}, {"V-1"}));
  Commit(log, 13, 15, Keys({"M-2"}, {"V-2"}));
  auto keys = log.Between(10, 15);
  ASSERT_TRUE(keys.has_value());
  EXPECT_EQ(keys->mrns, Keys({"M-1", "M-2"}).mrns);
  EXPECT_EQ(keys->visit_numbers, Keys({}, {"V-1", "V-2"}).visit_numbers);
  // From the middle of the chain: only the later entry.
  keys = log.Between(13, 15);
  ASSERT_TRUE(keys.has_value());
  EXPECT_EQ(keys->mrns, Keys({"M-2"}).mrns);
}

TEST(PgWriteLog, EntriesAddedOutOfCommitOrderStillChain) {
  WriteLog log;
  Commit(log, 13, 15, Keys({"M-2"}));
  Commit(log, 10, 13, Keys({"M-1"}));
  auto keys = log.Between(10, 15);
  ASSERT_TRUE(keys.has_value());
  EXPECT_EQ(keys->mrns, Keys({"M-1", "M-2"}).mrns);
}

TEST(PgWriteLog, AVersionNobodyHereWroteBreaksTheChain) {
  WriteLog log;
  Commit(log, 10, 13, Keys({"M-1"}));
  Commit(log, 14, 16, Keys({"M-2"}));  // 13 -> 14: another writer
  EXPECT_FALSE(log.Between(10, 16).has_value());
  EXPECT_FALSE(log.Between(10, 14).has_value());
  EXPECT_FALSE(log.Between(9, 13).has_value());   // 9 -> 10: another writer
  EXPECT_FALSE(log.Between(10, 12).has_value());  // ends inside an entry
  EXPECT_FALSE(log.Between(16, 17).has_value());  // after the last entry
  EXPECT_FALSE(log.Between(13, 10).has_value());  // backwards
  EXPECT_TRUE(log.Between(14, 16).has_value());
}

TEST(PgWriteLog, KeepsTheLastEntriesOnly) {
  WriteLog log;
  for (std::int64_t v = 0; v < static_cast<std::int64_t>(WriteLog::kCapacity) + 4; ++v) {
    Commit(log, v, v + 1, Keys({"M"}));
  }
  EXPECT_FALSE(log.Between(0, 5).has_value());  // the first entries are gone
  EXPECT_TRUE(log.Between(4, static_cast<std::int64_t>(WriteLog::kCapacity) + 4).has_value());
}

TEST(PgWriteLog, ACounterThatWentBackDropsWhatItOverlaps) {
  WriteLog log;
  Commit(log, 10, 20, Keys({"M-1"}));
  Commit(log, 5, 12, Keys({"M-2"}));  // a restored database: 10..20 no longer describes it
  EXPECT_FALSE(log.Between(10, 20).has_value());
  auto keys = log.Between(5, 12);
  ASSERT_TRUE(keys.has_value());
  EXPECT_EQ(keys->mrns, Keys({"M-2"}).mrns);
}

TEST(PgWriteLog, AnEntryThatMovesNothingIsNotKept) {
  WriteLog log;
  EXPECT_EQ(log.Add(10, 10, Keys({"M-1"})), 0u);
  EXPECT_FALSE(log.Between(9, 10).has_value());
}

// The next applier may hold the apply lock before the committing thread has heard back: Between
// waits for the entry to be settled.
TEST(PgWriteLog, APendingEntryIsWaitedFor) {
  WriteLog log;
  auto ticket = log.Add(10, 12, Keys({"M-1"}));
  std::thread committer([&] {
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
    log.Settle(ticket, true);
  });
  auto keys = log.Between(10, 12);
  committer.join();
  ASSERT_TRUE(keys.has_value());
  EXPECT_EQ(keys->mrns, Keys({"M-1"}).mrns);
}

TEST(PgWriteLog, AnEntryWhoseCommitFailedIsDropped) {
  WriteLog log;
  auto ticket = log.Add(10, 12, Keys({"M-1"}));
  std::thread committer([&] {
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
    log.Settle(ticket, false);
  });
  EXPECT_FALSE(log.Between(10, 12).has_value());
  committer.join();
  EXPECT_FALSE(log.Between(10, 12).has_value());
}

TEST(PgWriteLog, AnEntryNeverSettledCountsAsAnotherWriter) {
  WriteLog log(std::chrono::milliseconds(20));
  log.Add(10, 12, Keys({"M-1"}));
  EXPECT_FALSE(log.Between(10, 12).has_value());
}

}  // namespace
}  // namespace intake::adapters::testing
