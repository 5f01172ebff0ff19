// The early-load scenario both record stores must pass (their tests give it the store and its
// after-early-load hook): a batch loads its stored rows before it takes the writer, and a batch of
// the same store commits in between (two workers of one process). The early load is kept, and
// only the rows naming one of that batch's MRNs or visit numbers are loaded again. Without that
// the outer batch plans on Smith at newer:1 and overwrites Brown (newest:1) with Green
// (newer:3), names M-3 as a new patient, whom the inner batch created, and inserts V-3 again.
// Loading everything again would pass too, but then the next batch would not load early (the
// last count).
#pragma once

#include <gtest/gtest.h>

#include <functional>
#include <string>
#include <vector>

#include "adapters/contract/test_util.hpp"
#include "ports/record_store.hpp"
#include "ports/task_store.hpp"

namespace intake::adapters::testing {

inline domain::RowInput EarlyLoadRow(std::int64_t n, std::string mrn, std::string last,
                                     std::string visit) {
  return domain::RowInput{n,
                          {std::move(mrn), "Ann", std::move(last), "1990-02-14", std::move(visit),
                           "2024-01-01", "Checkup"}};
}

// The task's batch of `rows` (REQUIRES: not empty), starting after row `from`.
inline ports::BatchInput BatchOf(const ports::TaskRecord& task, std::int64_t from,
                                 std::vector<domain::RowInput> rows) {
  ports::BatchInput batch;
  batch.task_id = task.task_id;
  batch.task_seq = task.seq;
  batch.rows_done_before = from;
  batch.rows_done_after = rows.back().row;
  batch.rows = std::move(rows);
  return batch;
}

inline Result<domain::TaskCounters> ApplyRows(ports::RecordStore& store,
                                              const ports::TaskRecord& task, std::int64_t from,
                                              std::vector<domain::RowInput> rows) {
  return store.ApplyBatch(BatchOf(task, from, std::move(rows)));
}

inline std::vector<std::string> LastNamesOf(ports::RecordStore& store) {
  std::vector<std::string> out;
  auto page = store.ListPatients({}, 1, 10);
  EXPECT_TRUE(page.has_value()) << Describe(page);
  if (page) {
    for (const auto& p : page->patients) out.push_back(p.person.last_name);
  }
  return out;
}

// The last names of the patients whose last name contains `needle` (first page of 100), checking
// that the page's total agrees.
inline std::vector<std::string> LastNamesMatching(ports::RecordStore& store, std::string needle) {
  ports::PatientFilter filter;
  filter.last_name = std::move(needle);
  std::vector<std::string> out;
  auto page = store.ListPatients(filter, 1, 100);
  EXPECT_TRUE(page.has_value()) << Describe(page);
  if (!page) return out;
  for (const auto& p : page->patients) out.push_back(p.person.last_name);
  EXPECT_EQ(page->total, static_cast<std::int64_t>(out.size()));
  return out;
}

// `newer` was created before `newest`; `set_hook` installs the store's after-early-load hook.
inline void ExpectOwnBatchesInBetweenAreLoadedAgainByKey(
    ports::RecordStore& store, const std::function<void(std::function<void()>)>& set_hook,
    const ports::TaskRecord& newer, const ports::TaskRecord& newest) {
  using R = domain::RowInput;
  auto row = EarlyLoadRow;
  ASSERT_OK(
      ApplyRows(store, newer, 0, {row(1, "M-1", "Smith", "V-1"), row(2, "M-2", "Jones", "V-2")}));
  int early_loads = 0;
  bool inner_done = false;
  set_hook([&] {
    ++early_loads;
    if (inner_done) return;
    inner_done = true;  // the inner batch's own early load comes through here too
    auto inner =
        ApplyRows(store, newest, 0,
                  std::vector<R>{row(1, "M-1", "Brown", "V-1"), row(2, "M-3", "Lee", "V-3")});
    EXPECT_TRUE(inner.has_value()) << Describe(inner);
  });
  auto outer = ApplyRows(store, newer, 2,
                         {row(3, "M-1", "Green", "V-1"), row(4, "M-2", "Jonas", "V-2"),
                          row(5, "M-3", "Park", "V-4"), row(6, "M-4", "Kim", "V-3")});
  ASSERT_OK(outer);
  EXPECT_EQ(early_loads, 2);
  // The task's totals: Smith and Jones created; Green older than Brown (newest:1), unchanged;
  // Jonas updated (M-2 was not in the inner batch: its early load holds); Park older than Lee,
  // unchanged, though its visit V-4 is new, for the patient the inner batch created; Kim's V-3 is
  // Lee's (the inner batch's): rejected, nothing of it written (loaded again by its visit number,
  // or it would be inserted twice).
  EXPECT_EQ(outer->patients_created, 2);
  EXPECT_EQ(outer->patients_updated, 1);
  EXPECT_EQ(outer->patients_unchanged, 2);
  EXPECT_EQ(outer->visits_created, 3);
  EXPECT_EQ(outer->visits_unchanged, 2);  // V-1 (newest:1 wrote it last) and V-2 (same values)
  EXPECT_EQ(outer->error_count, 1);
  EXPECT_EQ(LastNamesOf(store), (std::vector<std::string>{"Brown", "Jonas", "Lee"}));

  ASSERT_OK(ApplyRows(store, newer, 6, {row(7, "M-2", "Jonas", "V-2")}));
  EXPECT_EQ(early_loads, 3);  // the refreshed early load was not wasted
  set_hook({});
}

}  // namespace intake::adapters::testing
