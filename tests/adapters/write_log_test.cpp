// WriteLog: which records_version ranges a record store's own batches account for. Pure.
#include "adapters/write_log.hpp"

#include <gtest/gtest.h>

#include <algorithm>
#include <chrono>
#include <thread>

namespace intake::adapters::testing {
namespace {

using adapters::KeyHash;
using adapters::RecordsVersion;
using adapters::WriteLog;
using adapters::WrittenKeys;

// Adds a committed entry.
RecordsVersion V(std::int64_t value, std::int64_t writer = 0) { return {value, writer}; }

void Commit(WriteLog& log, RecordsVersion before, RecordsVersion after, WrittenKeys keys) {
  log.Settle(log.Add(before, after, std::move(keys)), true);
}

void Commit(WriteLog& log, std::int64_t before, std::int64_t after, WrittenKeys keys) {
  Commit(log, V(before), V(after), std::move(keys));
}

WrittenKeys Keys(std::initializer_list<const char*> mrns,
                 std::initializer_list<const char*> numbers = {}) {
  WrittenKeys keys;
  for (const char* m : mrns) keys.mrns.push_back(KeyHash(m));
  for (const char* n : numbers) keys.visit_numbers.push_back(KeyHash(n));
  for (auto* v : {&keys.mrns, &keys.visit_numbers}) {
    std::sort(v->begin(), v->end());
    v->erase(std::unique(v->begin(), v->end()), v->end());
  }
  return keys;
}
TEST(WriteLog, NoMovementNeedsNoEntry) {
  WriteLog log;
  auto keys = log.Between(V(7), V(7));
  ASSERT_TRUE(keys.has_value());
  EXPECT_TRUE(keys->mrns.empty());
  EXPECT_TRUE(keys->visit_numbers.empty());
}

TEST(WriteLog, AChainOfEntriesGivesTheUnionOfTheirKeys) {
  WriteLog log;
  Commit(log, 10, 13, Keys({"M-1"}, {"V-1"}));
  Commit(log, 13, 15, Keys({"M-2"}, {"V-2"}));
  auto keys = log.Between(V(10), V(15));
  ASSERT_TRUE(keys.has_value());
  EXPECT_EQ(keys->mrns, Keys({"M-1", "M-2"}).mrns);
  EXPECT_EQ(keys->visit_numbers, Keys({}, {"V-1", "V-2"}).visit_numbers);
  // From the middle of the chain: only the later entry.
  keys = log.Between(V(13), V(15));
  ASSERT_TRUE(keys.has_value());
  EXPECT_EQ(keys->mrns, Keys({"M-2"}).mrns);
}

TEST(WriteLog, AVersionNobodyHereWroteBreaksTheChain) {
  WriteLog log;
  Commit(log, 10, 13, Keys({"M-1"}));
  Commit(log, 14, 16, Keys({"M-2"}));  // 13 -> 14: another writer
  EXPECT_FALSE(log.Between(V(10), V(16)).has_value());
  EXPECT_FALSE(log.Between(V(10), V(14)).has_value());
  EXPECT_FALSE(log.Between(V(9), V(13)).has_value());   // 9 -> 10: another writer
  EXPECT_FALSE(log.Between(V(10), V(12)).has_value());  // ends inside an entry
  EXPECT_FALSE(log.Between(V(16), V(17)).has_value());  // after the last entry
  EXPECT_FALSE(log.Between(V(13), V(10)).has_value());  // backwards
  EXPECT_TRUE(log.Between(V(14), V(16)).has_value());
}

TEST(WriteLog, KeepsTheLastEntriesOnly) {
  WriteLog log;
  for (std::int64_t v = 0; v < static_cast<std::int64_t>(WriteLog::kCapacity) + 4; ++v) {
    Commit(log, v, v + 1, Keys({"M"}));
  }
  EXPECT_FALSE(log.Between(V(0), V(5)).has_value());  // the first entries are gone
  EXPECT_TRUE(log.Between(V(4), V(static_cast<std::int64_t>(WriteLog::kCapacity) + 4)).has_value());
}

// The same value set by another writer is another version: after a restore or a failover that
// lost this store's batch, another process may move the counter over the same values.
TEST(WriteLog, TheSameValuesFromAnotherWriterAreNotOurs) {
  WriteLog log;
  Commit(log, V(3, 100), V(6, 101), Keys({"M-1"}));
  EXPECT_TRUE(log.Between(V(3, 100), V(6, 101)).has_value());
  EXPECT_FALSE(log.Between(V(3, 100), V(6, 555)).has_value());  // 6 set by someone else
  EXPECT_FALSE(log.Between(V(3, 555), V(6, 101)).has_value());  // from another 3
}

TEST(WriteLog, ACounterThatWentBackDropsWhatItOverlaps) {
  WriteLog log;
  Commit(log, 10, 20, Keys({"M-1"}));
  Commit(log, 5, 12, Keys({"M-2"}));  // a restored database: 10..20 no longer describes it
  EXPECT_FALSE(log.Between(V(10), V(20)).has_value());
  auto keys = log.Between(V(5), V(12));
  ASSERT_TRUE(keys.has_value());
  EXPECT_EQ(keys->mrns, Keys({"M-2"}).mrns);
}

TEST(WriteLog, AnEntryThatMovesNothingIsNotKept) {
  WriteLog log;
  EXPECT_EQ(log.Add(V(10), V(10), Keys({"M-1"})), 0u);
  EXPECT_FALSE(log.Between(V(9), V(10)).has_value());
}

// The next applier may hold the apply lock before the committing thread has heard back: Between
// waits for the entry to be settled.
TEST(WriteLog, APendingEntryIsWaitedFor) {
  WriteLog log;
  auto ticket = log.Add(V(10), V(12), Keys({"M-1"}));
  std::thread committer([&] {
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
    log.Settle(ticket, true);
  });
  const auto start = std::chrono::steady_clock::now();
  auto keys = log.Between(V(10), V(12));
  const auto waited = std::chrono::steady_clock::now() - start;
  committer.join();
  EXPECT_GE(waited, std::chrono::milliseconds(40));  // it waited for the settle
  ASSERT_TRUE(keys.has_value());
  EXPECT_EQ(keys->mrns, Keys({"M-1"}).mrns);
}

TEST(WriteLog, AnEntryWhoseCommitFailedIsDropped) {
  WriteLog log;
  auto ticket = log.Add(V(10), V(12), Keys({"M-1"}));
  std::thread committer([&] {
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
    log.Settle(ticket, false);
  });
  const auto start = std::chrono::steady_clock::now();
  EXPECT_FALSE(log.Between(V(10), V(12)).has_value());
  const auto waited = std::chrono::steady_clock::now() - start;
  committer.join();
  EXPECT_GE(waited, std::chrono::milliseconds(40));  // it waited for the outcome
  EXPECT_FALSE(log.Between(V(10), V(12)).has_value());
}

TEST(WriteLog, AnEntryNeverSettledCountsAsAnotherWriter) {
  WriteLog log(std::chrono::milliseconds(20));
  log.Add(V(10), V(12), Keys({"M-1"}));
  EXPECT_FALSE(log.Between(V(10), V(12)).has_value());
}

// A batch that returns early (an error, an exception) settles its entry as not committed.
TEST(WriteLog, APendingEntryNeverCommittedIsDroppedWhenItGoes) {
  WriteLog log(std::chrono::milliseconds(20));
  {
    adapters::PendingEntry entry(log);
    entry.Add(V(10), V(12), Keys({"M-1"}));
  }
  EXPECT_FALSE(log.Between(V(10), V(12)).has_value());
  {
    adapters::PendingEntry entry(log);
    entry.Add(V(10), V(11), Keys({"M-1"}));  // an attempt that did not commit
    entry.Add(V(10), V(12), Keys({"M-2"}));  // the one that did
    entry.Settle(true);
  }
  EXPECT_FALSE(log.Between(V(10), V(11)).has_value());
  auto keys = log.Between(V(10), V(12));
  ASSERT_TRUE(keys.has_value());
  EXPECT_EQ(keys->mrns, Keys({"M-2"}).mrns);
}

// Refresh loads again every row naming a written key, by its MRN or by its visit number, and
// takes both of the row's keys from the fresh load (absent there: absent now).
TEST(WriteLog, RefreshLoadsAgainTheRowsNamingAWrittenKey) {
  auto row = [](std::string mrn, std::string visit) {
    return domain::RowInput{
        1, {std::move(mrn), "Ann", "Lee", "1990-02-14", std::move(visit), "2024-01-01", "Checkup"}};
  };
  std::vector<domain::RowInput> rows{row("M-1", "V-1"), row("M-2", "V-2"), row("M-3", "V-3")};
  domain::ExistingState state;
  for (const char* m : {"M-1", "M-2", "M-3"}) state.patients_by_mrn[m].id = 1;
  for (const char* v : {"V-1", "V-2", "V-3"}) state.visits_by_number[v].id = 1;
  std::vector<std::string> asked;
  auto refreshed = adapters::Refresh(
      rows, Keys({"M-1"}, {"V-2"}), state,
      [&](const std::vector<domain::RowInput>& named) -> Result<domain::ExistingState> {
        domain::ExistingState fresh;
        for (const auto& r : named) asked.push_back(r.record.mrn);
        fresh.patients_by_mrn["M-1"].id = 7;  // M-2 is gone from the fresh load, V-1 too
        fresh.visits_by_number["V-2"].id = 9;
        return fresh;
      });
  ASSERT_TRUE(refreshed.has_value());
  EXPECT_EQ(*refreshed, 2u);
  EXPECT_EQ(asked, (std::vector<std::string>{"M-1", "M-2"}));
  EXPECT_EQ(state.patients_by_mrn.at("M-1").id, 7);
  EXPECT_FALSE(state.patients_by_mrn.contains("M-2"));  // matched by V-2: its MRN taken too
  EXPECT_EQ(state.patients_by_mrn.at("M-3").id, 1);     // not named: kept
  EXPECT_FALSE(state.visits_by_number.contains("V-1"));
  EXPECT_EQ(state.visits_by_number.at("V-2").id, 9);
  EXPECT_EQ(state.visits_by_number.at("V-3").id, 1);
}

}  // namespace
}  // namespace intake::adapters::testing
