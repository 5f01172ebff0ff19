#include "domain/task.hpp"

#include <gtest/gtest.h>

namespace intake::domain {
namespace {

TEST(TaskState, NamesAreCeleryWords) {
  EXPECT_EQ(TaskStateName(TaskState::kPending), "PENDING");
  EXPECT_EQ(TaskStateName(TaskState::kStarted), "STARTED");
  EXPECT_EQ(TaskStateName(TaskState::kProgress), "PROGRESS");
  EXPECT_EQ(TaskStateName(TaskState::kSuccess), "SUCCESS");
  EXPECT_EQ(TaskStateName(TaskState::kFailure), "FAILURE");
}

TEST(TaskState, FromNameRoundTrips) {
  for (TaskState s : {TaskState::kPending, TaskState::kStarted, TaskState::kProgress,
                      TaskState::kSuccess, TaskState::kFailure}) {
    EXPECT_EQ(TaskStateFromName(TaskStateName(s)), s);
  }
}

TEST(TaskState, FromNameRejectsUnknownAndLowercase) {
  for (std::string_view name : {"", "pending", "Success", "DONE", "FAILED", "SUCCESS "}) {
    EXPECT_FALSE(TaskStateFromName(name).has_value()) << name;
  }
}

TEST(TaskState, OnlySuccessAndFailureAreFinished) {
  EXPECT_FALSE(IsFinished(TaskState::kPending));
  EXPECT_FALSE(IsFinished(TaskState::kStarted));
  EXPECT_FALSE(IsFinished(TaskState::kProgress));
  EXPECT_TRUE(IsFinished(TaskState::kSuccess));
  EXPECT_TRUE(IsFinished(TaskState::kFailure));
}

TEST(TaskCounters, PlusEqualsAddsEveryField) {
  TaskCounters a{1, 2, 3, 4, 5, 6, 7, 8, 9};
  const TaskCounters b{10, 20, 30, 40, 50, 60, 70, 80, 90};
  a += b;
  EXPECT_EQ(a, (TaskCounters{11, 22, 33, 44, 55, 66, 77, 88, 99}));
}

TEST(TaskCounters, PlusEqualsReturnsSelf) {
  TaskCounters a;
  TaskCounters& r = (a += TaskCounters{1, 1, 1, 1, 1, 1, 1, 1, 1});
  EXPECT_EQ(&r, &a);
}

}  // namespace
}  // namespace intake::domain
